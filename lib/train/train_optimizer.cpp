// The optimizer (LibTorch's SGD with momentum or AdamW), the learning-rate schedule, and the
// optimizer's state by parameter name so that a checkpoint restores it into a new network.
#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "avts/error.h"
#include "train_internal.h"

namespace avts::train {

namespace {

constexpr double kPi = 3.14159265358979323846;

// LibTorch keys an optimizer's per-parameter state by the parameter's TensorImpl: by its
// address as text in LibTorch 1.x (as torch/optim/serialize.h wrote it), by the pointer itself
// in 2.x.
using StateKey = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state().begin()->first)>;

template <class Key>
Key key_of(const torch::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream address;
    address << param.unsafeGetTensorImpl();
    return address.str();
  } else {
    return param.unsafeGetTensorImpl();
  }
}

StateKey state_key(const torch::Tensor& param) { return key_of<StateKey>(param); }

}  // namespace

double learning_rate(const TrainOptions& o, int epoch, int64_t step) {
  double factor = 1.0;
  switch (o.schedule) {
    case ScheduleKind::Constant:
      break;
    case ScheduleKind::Cosine:
      factor = 0.5 * (1.0 + std::cos(kPi * epoch / std::max(1, o.epochs)));
      break;
    case ScheduleKind::Step:
      factor = std::pow(o.step_gamma, epoch / o.step_epochs);
      break;
  }
  if (o.warmup_steps > 0 && step < o.warmup_steps) factor *= static_cast<double>(step + 1) / o.warmup_steps;
  return o.lr * factor;
}

Optimizer::Optimizer(nets::AvtsNet& net, const TrainOptions& o) : kind_(o.optimizer) {
  std::vector<torch::Tensor> params;
  for (const auto& p : net->named_parameters()) {
    params_.emplace_back(p.key(), p.value());
    params.push_back(p.value());
  }
  if (kind_ == OptimizerKind::Sgd)
    optimizer_ = std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  else
    optimizer_ =
        std::make_unique<torch::optim::AdamW>(params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
}

void Optimizer::zero_grad() { optimizer_->zero_grad(); }

void Optimizer::step(double lr) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  optimizer_->step();
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  const auto& state = optimizer_->state();
  for (const auto& [name, param] : params_) {
    const auto it = state.find(state_key(param));
    if (it == state.end()) continue;  // no gradient yet (e.g. the fusion head under the contrastive loss)
    if (kind_ == OptimizerKind::Sgd) {
      const auto& s = static_cast<const torch::optim::SGDParamState&>(*it->second);
      if (s.momentum_buffer().defined()) out.emplace_back("momentum_buffer/" + name, s.momentum_buffer().cpu());
    } else {
      const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
      out.emplace_back("step/" + name, torch::tensor(s.step(), torch::kInt64));
      out.emplace_back("exp_avg/" + name, s.exp_avg().cpu());
      out.emplace_back("exp_avg_sq/" + name, s.exp_avg_sq().cpu());
    }
  }
  return out;
}

void Optimizer::load_state(const NamedTensors& entries) {
  std::map<std::string, std::map<std::string, torch::Tensor>> by_param;  // name -> field -> tensor
  for (const auto& [key, tensor] : entries) {
    const auto slash = key.find('/');
    if (slash == std::string::npos) throw Error("optimizer state entry '" + key + "' is not field/parameter");
    by_param[key.substr(slash + 1)][key.substr(0, slash)] = tensor;
  }
  const std::vector<std::string> fields = kind_ == OptimizerKind::Sgd
                                              ? std::vector<std::string>{"momentum_buffer"}
                                              : std::vector<std::string>{"step", "exp_avg", "exp_avg_sq"};
  auto& state = optimizer_->state();
  state.clear();
  for (const auto& [name, param] : params_) {
    const auto it = by_param.find(name);
    if (it == by_param.end()) continue;
    auto& have = it->second;
    for (const auto& f : fields)
      if (!have.count(f))
        throw Error("optimizer state of '" + name + "' lacks '" + f + "' (saved by another optimizer?)");
    if (have.size() != fields.size())
      throw Error("optimizer state of '" + name + "' has unknown fields (saved by another optimizer?)");
    for (const auto& f : fields)
      if (f != "step" && !have[f].sizes().equals(param.sizes()))
        throw Error("optimizer state '" + f + "/" + name + "' does not match the parameter's shape");
    const auto on_device = [&](const torch::Tensor& t) { return t.to(param.device()).clone(); };
    if (kind_ == OptimizerKind::Sgd) {
      auto s = std::make_unique<torch::optim::SGDParamState>();
      s->momentum_buffer(on_device(have["momentum_buffer"]));
      state[state_key(param)] = std::move(s);
    } else {
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(have["step"].item<int64_t>());
      s->exp_avg(on_device(have["exp_avg"]));
      s->exp_avg_sq(on_device(have["exp_avg_sq"]));
      state[state_key(param)] = std::move(s);
    }
    by_param.erase(it);
  }
  if (!by_param.empty())
    throw Error("optimizer state names parameter '" + by_param.begin()->first + "' that the model lacks");
}

}  // namespace avts::train
