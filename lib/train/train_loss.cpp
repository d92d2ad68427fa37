// The training objectives: the paper's two, the contrastive loss on embedding distances and
// the cross-entropy on the fusion head, and the multi-way matching loss on distances.
#include "train_internal.h"

namespace avts::train {

torch::Tensor pair_distance(const torch::Tensor& video, const torch::Tensor& audio) {
  // The square root's gradient is infinite at 0; a floor far below any useful distance keeps
  // it finite for identical embeddings.
  return (video - audio).pow(2).sum(1).clamp_min(1e-12).sqrt();
}

torch::Tensor contrastive_loss(const torch::Tensor& video, const torch::Tensor& audio, const torch::Tensor& y,
                               double margin, const torch::Tensor& weight) {
  const torch::Tensor d2 = (video - audio).pow(2).sum(1);  // positives pull on d^2 directly
  const torch::Tensor d = d2.clamp_min(1e-12).sqrt();
  const torch::Tensor push = (margin - d).clamp_min(0).pow(2);
  const torch::Tensor per_pair = y * d2 + (1 - y) * push;
  return weight.defined() ? (weight * per_pair).sum() : per_pair.mean();
}

torch::Tensor multi_way_loss(const torch::Tensor& video, const torch::Tensor& audio, int64_t candidates,
                             double temperature) {
  // audio: block 0 the positives, block j the j-th negative of every anchor (n rows each).
  const int64_t n = video.size(0);
  const torch::Tensor d = pair_distance(video.repeat({candidates, 1}), audio).view({candidates, n}).t();
  return torch::nn::functional::cross_entropy(-d / temperature,
                                              torch::zeros({n}, torch::TensorOptions(torch::kLong).device(d.device())));
}

torch::Tensor fusion_cross_entropy(const torch::Tensor& logits, const torch::Tensor& y, const torch::Tensor& weight) {
  if (!weight.defined()) return torch::nn::functional::cross_entropy(logits, y.to(torch::kLong));
  const torch::Tensor per_pair = torch::nn::functional::cross_entropy(
      logits, y.to(torch::kLong), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  return (weight * per_pair).sum();
}

}  // namespace avts::train
