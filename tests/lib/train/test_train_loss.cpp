// The training losses against hand-computed values, and their gradients where the distance
// is zero.
#include <gtest/gtest.h>

#include <cmath>

#include "train_internal.h"

using namespace avts::train;

namespace {

torch::Tensor rows(std::initializer_list<std::initializer_list<float>> values) {
  std::vector<torch::Tensor> r;
  for (auto v : values) r.push_back(torch::tensor(std::vector<float>(v)));
  return torch::stack(r);
}

}  // namespace

TEST(TrainLoss, PairDistanceIsEuclidean) {
  const auto d = pair_distance(rows({{0, 0}, {1, 1}}), rows({{0.3f, 0.4f}, {1, 1}}));
  EXPECT_NEAR(d[0].item<float>(), 0.5f, 1e-6);
  EXPECT_NEAR(d[1].item<float>(), 0.0f, 1e-5);
}

TEST(TrainLoss, ContrastiveMatchesHandComputedValues) {
  // d = 0.5 (positive): 0.25; d = 0.5 (negative): (0.99 - 0.5)^2 = 0.2401;
  // d = 1.2 (negative): beyond the margin, 0; d = 1.2 (positive): 1.44. Mean 0.482525.
  const auto v = torch::zeros({4, 2});
  const auto a = rows({{0.3f, 0.4f}, {0.3f, 0.4f}, {0.72f, 0.96f}, {0.72f, 0.96f}});
  const auto y = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f});
  EXPECT_NEAR(contrastive_loss(v, a, y, 0.99).item<double>(), 0.482525, 1e-6);
  // A wider margin reaches the far negative: (2 - 1.2)^2 = 0.64 and (2 - 0.5)^2 = 2.25.
  EXPECT_NEAR(contrastive_loss(v, a, y, 2.0).item<double>(), (0.25 + 2.25 + 0.64 + 1.44) / 4, 1e-6);
}

TEST(TrainLoss, ContrastiveGradientPullsPositivesAndPushesNegatives) {
  auto a = rows({{0.3f, 0.4f}, {0.3f, 0.4f}}).requires_grad_(true);
  const auto v = torch::zeros({2, 2});
  contrastive_loss(v, a, torch::tensor({1.0f, 0.0f}), 0.99).backward();
  // Positive: d(d^2)/da / 2 pairs = a; negative: -2 (0.99 - 0.5) a / 0.5 / 2.
  EXPECT_NEAR(a.grad()[0][0].item<float>(), 0.3f, 1e-6);
  EXPECT_NEAR(a.grad()[1][0].item<float>(), -(0.99f - 0.5f) * 0.3f / 0.5f, 1e-6);
}

TEST(TrainLoss, IdenticalEmbeddingsGiveFiniteGradients) {
  auto a = torch::ones({2, 3}).requires_grad_(true);
  const auto v = torch::ones({2, 3});
  const auto loss = contrastive_loss(v, a, torch::tensor({1.0f, 0.0f}), 0.99);
  EXPECT_NEAR(loss.item<double>(), 0.99 * 0.99 / 2, 1e-5);
  loss.backward();
  EXPECT_TRUE(torch::isfinite(a.grad()).all().item<bool>());
}

TEST(TrainLoss, CrossEntropyMatchesHandComputedValues) {
  // [0, 0] with y = 1: ln 2; [2, 0] with y = 0: ln(1 + e^-2); [0, 3] with y = 1: ln(1 + e^-3).
  const auto logits = rows({{0, 0}, {2, 0}, {0, 3}});
  const auto y = torch::tensor({1.0f, 0.0f, 1.0f});
  const double expected = (std::log(2.0) + std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-3.0))) / 3;
  EXPECT_NEAR(fusion_cross_entropy(logits, y).item<double>(), expected, 1e-6);
}

TEST(TrainLoss, MultiWayMatchesHandComputedValues) {
  // Two anchors (video at the origin), three candidates each: audio block 0 the positives,
  // blocks 1 and 2 the negatives. Anchor 0: d = 0.5 (positive), 1.0, 1.5; anchor 1: 1.0, 0.5, 1.0.
  const auto v = torch::zeros({2, 2});
  const auto a = rows({{0.3f, 0.4f}, {0.6f, 0.8f}, {0.6f, 0.8f}, {0.3f, 0.4f}, {0.9f, 1.2f}, {0.6f, 0.8f}});
  const double t = 0.5;
  // -log softmax of the positive: log(sum_j exp(-d_j / t)) + d_0 / t.
  const double l0 = std::log(std::exp(-1.0) + std::exp(-2.0) + std::exp(-3.0)) + 1.0;
  const double l1 = std::log(std::exp(-2.0) + std::exp(-1.0) + std::exp(-2.0)) + 2.0;
  EXPECT_NEAR(multi_way_loss(v, a, 3, t).item<double>(), (l0 + l1) / 2, 1e-5);
}

TEST(TrainLoss, MultiWayHasNoConstantDistanceOptimum) {
  // Every candidate at the same distance: the loss is log(candidates) whatever the distance,
  // and its gradient pulls the positive in and pushes the negatives out.
  const auto v = torch::zeros({1, 2});
  for (const float r : {0.3f, 0.7f}) {
    auto a = rows({{r, 0}, {0, r}, {-r, 0}}).requires_grad_(true);
    const auto loss = multi_way_loss(v, a, 3, 0.1);
    EXPECT_NEAR(loss.item<double>(), std::log(3.0), 1e-5);
    loss.backward();
    // A descent step (minus the gradient) moves the positive towards the video, the
    // negatives away: the gradient points along (a - v) for the positive, against it else.
    EXPECT_GT(a.grad()[0][0].item<float>() * r, 0.0f);
    EXPECT_LT(a.grad()[1][1].item<float>() * r, 0.0f);
    EXPECT_GT(a.grad()[2][0].item<float>() * r, 0.0f);  // a = (-r, 0)
  }
}
