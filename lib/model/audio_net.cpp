// The VGG-style audio net on log-mel spectrograms.
#include "avts/error.h"
#include "avts/nets.h"

namespace avts::nets {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(int in, int out) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false));  // BN follows
}

// (conv, BN, ReLU) x 2, then a 2x2 max pool. ceil_mode keeps odd and tiny sizes alive
// (40 mel bands: 20, 10, 5, 3).
nn::Sequential make_stage(int in, int out) {
  return nn::Sequential(conv3x3(in, out), nn::BatchNorm2d(out), nn::ReLU(nn::ReLUOptions(true)), conv3x3(out, out),
                        nn::BatchNorm2d(out), nn::ReLU(nn::ReLUOptions(true)),
                        nn::MaxPool2d(nn::MaxPool2dOptions(2).ceil_mode(true)));
}

}  // namespace

AudioNetImpl::AudioNetImpl(int base_width, int embedding_dim, const AudioFrontEndConfig& front)
    : band_mean_(front.normalise == "band-mean") {
  const int w = base_width;
  layer1 = register_module("layer1", make_stage(1, w));
  layer2 = register_module("layer2", make_stage(w, 2 * w));
  layer3 = register_module("layer3", make_stage(2 * w, 4 * w));
  layer4 = register_module("layer4", make_stage(4 * w, 8 * w));
  proj = register_module("proj", nn::Linear(8 * w, embedding_dim));

  for (auto& m : modules(/*include_self=*/false))
    if (auto* conv = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

NetOutput AudioNetImpl::forward(torch::Tensor x, int depth) {
  if (depth < 1 || depth > 4) throw Error("audio net depth must be 1..4, not " + std::to_string(depth));
  NetOutput out;
  if (band_mean_) x = x - x.mean(3, /*keepdim=*/true);  // N x 1 x mels x frames: over the frames
  nn::Sequential* stages[] = {&layer1, &layer2, &layer3, &layer4};
  for (int i = 0; i < depth; ++i) {
    x = (*stages[i])->forward(x);
    out.stages.push_back(x.mean({2, 3}));  // global average pool
  }
  if (depth == 4)
    out.embedding =
        nn::functional::normalize(proj->forward(out.stages.back()), nn::functional::NormalizeFuncOptions().dim(1));
  return out;
}

}  // namespace avts::nets
