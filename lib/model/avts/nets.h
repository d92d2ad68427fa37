// The AVTS networks as LibTorch modules: the video net (MC3-18), the audio net (VGG-style),
// the fusion head of the cross-entropy variant, and AvtsNet holding all three.
// This is the one public header that includes LibTorch: for training and parity tools.
//
// Parameter names follow torchvision, so that a torchvision mc3_18 state_dict maps onto
// VideoNet by name ("stem.0.weight", "layer2.0.downsample.1.running_mean", ...) and
// AvtsNet's state_dict reads "video.layer1.0.conv1.0.weight", "audio.layer1.0.weight",
// "fusion.fc1.weight", ...
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "avts/config.h"
#include "avts/model.h"

namespace avts::nets {

// What a forward pass returns: the globally average-pooled output of each conv stage that
// ran (N x C, C = w, 2w, 4w, 8w for stages 1..4) and, when all four ran, the L2-normalised
// embedding (N x D).
struct NetOutput {
  std::vector<torch::Tensor> stages;
  torch::Tensor embedding;
};

// torchvision's video BasicBlock: conv1 = (conv, BN, ReLU), conv2 = (conv, BN), optional
// downsample = (1x1x1 conv, BN) on the shortcut. `temporal` picks the conv maker:
// Conv3DSimple (3x3x3) or Conv3DNoTemporal (1x3x3, stride only in space).
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int in_planes, int planes, bool temporal, int stride);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Sequential conv1{nullptr}, conv2{nullptr}, downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

// MC3-18 (torchvision.models.video.mc3_18 without its classifier) + projection to the
// embedding. Input N x 3 x T x H x W, normalised; with `front.input` "gray-motion" the net
// first takes each frame's luma minus its mean over the clip, and its stem has one input
// channel.
class VideoNetImpl : public torch::nn::Module {
 public:
  VideoNetImpl(int base_width, int embedding_dim, const VideoFrontEndConfig& front = {});
  // Runs the stem and the first `depth` stages (1..4); the embedding only for depth 4.
  NetOutput forward(torch::Tensor x, int depth = 4);

  torch::nn::Sequential stem{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear proj{nullptr};

 private:
  bool gray_motion_;
  float luma_weights_[3];
};
TORCH_MODULE(VideoNet);

// VGG-style audio net: four stages of (3x3 conv, BN, ReLU) x 2 and a 2x2 max pool, widths
// w, 2w, 4w, 8w, then global average pool and the projection. Input N x 1 x n_mels x frames;
// with `front.normalise` "band-mean" the net first subtracts each band's mean over the frames.
class AudioNetImpl : public torch::nn::Module {
 public:
  AudioNetImpl(int base_width, int embedding_dim, const AudioFrontEndConfig& front = {});
  NetOutput forward(torch::Tensor x, int depth = 4);

  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear proj{nullptr};

 private:
  bool band_mean_;
};
TORCH_MODULE(AudioNet);

// Cross-entropy variant: concat(video, audio embeddings) -> FC -> ReLU -> FC -> 2 logits
// (index 1 = in sync).
class FusionHeadImpl : public torch::nn::Module {
 public:
  explicit FusionHeadImpl(int embedding_dim);
  torch::Tensor forward(const torch::Tensor& video, const torch::Tensor& audio);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(FusionHead);

// Both networks and the fusion head, shaped by a ModelConfig.
class AvtsNetImpl : public torch::nn::Module {
 public:
  explicit AvtsNetImpl(const ModelConfig& config);

  VideoNet video{nullptr};
  AudioNet audio{nullptr};
  FusionHead fusion{nullptr};
};
TORCH_MODULE(AvtsNet);

// Every parameter and buffer (BatchNorm running statistics included) by name, sorted:
// what the model file stores.
std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module);

// Parses "cpu", "cuda" or "cuda:N"; throws avts::Error for anything else and for a CUDA
// device that this LibTorch or this machine does not have.
torch::Device parse_device(const std::string& name);

}  // namespace avts::nets

namespace avts {

// What stands behind a Model. Trainers work on `net` directly (net->train(), optimizers
// over net->parameters()); Model::embed() needs eval mode and refuses training mode.
// After changing the weights or the config, call refresh_id() (save() does it too).
struct Model::Impl {
  ModelConfig config;
  nets::AvtsNet net{nullptr};
  torch::Device device{torch::kCPU};
  std::string device_name;
  Precision precision = Precision::Float32;  // of forward passes (see lib/model/autocast.h)
  std::string id;

  void refresh_id();
};

}  // namespace avts
