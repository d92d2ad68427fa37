// Optimizer and schedule: learning rates of each schedule, and the optimizer state saved by
// parameter name and restored into a fresh network continues exactly.
#include <gtest/gtest.h>

#include <cmath>

#include "avts/error.h"
#include "train_fixtures.h"

using namespace avts;
using namespace avts::train;

namespace {

// A few steps of a simple loss on the video net, so that every video parameter has state.
void train_steps(nets::AvtsNet& net, Optimizer& opt, int steps, uint64_t seed) {
  torch::manual_seed(seed);
  net->train();
  for (int i = 0; i < steps; ++i) {
    const torch::Tensor x = torch::randn({2, 3, 25, 32, 32});
    const torch::Tensor a = torch::randn({2, 16});
    opt.zero_grad();
    (net->video->forward(x).embedding - a).pow(2).sum().backward();
    opt.step(0.01);
  }
}

// Every network starts from the same weights.
nets::AvtsNet make_net(const ModelConfig& c) {
  torch::manual_seed(42);
  return nets::AvtsNet(c);
}

bool same_weights(nets::AvtsNet& a, nets::AvtsNet& b) {
  const auto sa = nets::state_dict(*a), sb = nets::state_dict(*b);
  for (size_t i = 0; i < sa.size(); ++i)
    if (sa[i].first != sb[i].first || !torch::equal(sa[i].second, sb[i].second)) return false;
  return true;
}

}  // namespace

TEST(TrainOptimizer, Schedules) {
  TrainOptions o;
  o.lr = 0.1;
  o.epochs = 10;
  o.schedule = ScheduleKind::Constant;
  EXPECT_DOUBLE_EQ(learning_rate(o, 7, 1000), 0.1);
  o.schedule = ScheduleKind::Cosine;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 0), 0.1);
  EXPECT_NEAR(learning_rate(o, 5, 0), 0.05, 1e-12);
  EXPECT_NEAR(learning_rate(o, 9, 0), 0.1 * 0.5 * (1 + std::cos(M_PI * 0.9)), 1e-12);
  o.schedule = ScheduleKind::Step;
  o.step_epochs = 4;
  o.step_gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate(o, 3, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(o, 4, 0), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(o, 9, 0), 0.025);
  o.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 0), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 4), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 10), 0.1);
}

TEST(TrainOptimizer, StateRestoresIntoAFreshNetwork) {
  torch::set_num_threads(1);
  for (OptimizerKind kind : {OptimizerKind::Sgd, OptimizerKind::AdamW}) {
    TrainOptions o;
    o.optimizer = kind;
    o.weight_decay = 0.01;
    const ModelConfig c = avts::test::tiny_train_config();
    // a: 3 steps then 2 more; b: a copy of a after 3 steps with the state restored, then 2.
    nets::AvtsNet a = make_net(c), b = make_net(c);
    Optimizer opt_a(a, o);
    train_steps(a, opt_a, 3, 1);
    const NamedTensors state = opt_a.state();
    ASSERT_FALSE(state.empty());
    {
      torch::NoGradGuard no_grad;
      const auto from = nets::state_dict(*a), to = nets::state_dict(*b);
      for (size_t i = 0; i < from.size(); ++i) to[i].second.copy_(from[i].second);
    }
    Optimizer opt_b(b, o);
    opt_b.load_state(state);
    train_steps(a, opt_a, 2, 2);
    train_steps(b, opt_b, 2, 2);
    EXPECT_TRUE(same_weights(a, b)) << optimizer_name(kind);

    // Without the state the run differs: the test sees the optimizer's state.
    nets::AvtsNet fresh = make_net(c), replay = make_net(c);
    Optimizer opt_r(replay, o);
    train_steps(replay, opt_r, 3, 1);
    {
      torch::NoGradGuard no_grad;
      const auto from = nets::state_dict(*replay), to = nets::state_dict(*fresh);
      for (size_t i = 0; i < from.size(); ++i) to[i].second.copy_(from[i].second);
    }
    Optimizer opt_fresh(fresh, o);
    train_steps(fresh, opt_fresh, 2, 2);
    EXPECT_FALSE(same_weights(a, fresh)) << optimizer_name(kind);
    // With it, the replay continues as `a` did.
    train_steps(replay, opt_r, 2, 2);
    EXPECT_TRUE(same_weights(a, replay)) << optimizer_name(kind);
  }
}

TEST(TrainOptimizer, MismatchedStateIsRefused) {
  const ModelConfig c = avts::test::tiny_train_config();
  nets::AvtsNet net(c);
  TrainOptions sgd;
  Optimizer opt(net, sgd);
  train_steps(net, opt, 1, 1);
  TrainOptions adamw;
  adamw.optimizer = OptimizerKind::AdamW;
  Optimizer other(net, adamw);
  EXPECT_THROW(other.load_state(opt.state()), Error);
  EXPECT_THROW(opt.load_state({{"momentum_buffer/no.such.param", torch::zeros({1})}}), Error);
  EXPECT_THROW(opt.load_state({{"momentum_buffer/video.proj.bias", torch::zeros({3})}}), Error);
}
