// MC3-18 as torchvision.models.video.mc3_18 builds it (VideoResNet, BasicBlock, layers
// [2, 2, 2, 2], conv makers [Conv3DSimple, Conv3DNoTemporal x 3]), widths from the config.
#include "avts/error.h"
#include "avts/nets.h"

namespace avts::nets {

namespace nn = torch::nn;

namespace {

// torchvision's conv makers: Conv3DSimple (3x3x3, stride in time and space) when `temporal`,
// else Conv3DNoTemporal (1x3x3, stride in space only). Neither has a bias.
nn::Conv3d block_conv(int in, int out, bool temporal, int stride) {
  const int64_t t = temporal ? 3 : 1;
  const int64_t t_stride = temporal ? stride : 1;
  return nn::Conv3d(
      nn::Conv3dOptions(in, out, {t, 3, 3}).stride({t_stride, stride, stride}).padding({t / 2, 1, 1}).bias(false));
}

// LibTorch's BatchNorm defaults (eps 1e-5, momentum 0.1) are PyTorch's.
nn::BatchNorm3d bn(int channels) { return nn::BatchNorm3d(channels); }

nn::ReLU relu() { return nn::ReLU(nn::ReLUOptions(/*inplace=*/true)); }

// torchvision's VideoResNet._make_layer: the first block changes width and stride.
nn::Sequential make_stage(int& in_planes, int planes, bool temporal, int stride) {
  nn::Sequential stage(BasicBlock(in_planes, planes, temporal, stride), BasicBlock(planes, planes, temporal, 1));
  in_planes = planes;
  return stage;
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int in_planes, int planes, bool temporal, int stride) {
  conv1 = register_module("conv1", nn::Sequential(block_conv(in_planes, planes, temporal, stride), bn(planes), relu()));
  conv2 = register_module("conv2", nn::Sequential(block_conv(planes, planes, temporal, 1), bn(planes)));
  if (stride != 1 || in_planes != planes) {
    const int64_t t_stride = temporal ? stride : 1;  // the conv maker's get_downsample_stride
    downsample = register_module(
        "downsample",
        nn::Sequential(
            nn::Conv3d(nn::Conv3dOptions(in_planes, planes, 1).stride({t_stride, stride, stride}).bias(false)),
            bn(planes)));
  }
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  torch::Tensor out = conv2->forward(conv1->forward(x));
  out += downsample ? downsample->forward(x) : x;
  return torch::relu_(out);
}

VideoNetImpl::VideoNetImpl(int base_width, int embedding_dim, const VideoFrontEndConfig& front)
    : gray_motion_(front.input == "gray-motion") {
  // Luma (BT.601) of the frames before normalisation: each channel's weight times its std
  // (the means drop out with the clip's mean).
  const float luma[3] = {0.299f, 0.587f, 0.114f};
  for (int c = 0; c < 3; ++c) luma_weights_[c] = luma[c] * front.std[c];
  const int w = base_width;
  stem = register_module(
      "stem",
      nn::Sequential(
          nn::Conv3d(
              nn::Conv3dOptions(gray_motion_ ? 1 : 3, w, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}).bias(false)),
          bn(w), relu()));
  int in_planes = w;
  layer1 = register_module("layer1", make_stage(in_planes, w, /*temporal=*/true, 1));
  layer2 = register_module("layer2", make_stage(in_planes, 2 * w, false, 2));
  layer3 = register_module("layer3", make_stage(in_planes, 4 * w, false, 2));
  layer4 = register_module("layer4", make_stage(in_planes, 8 * w, false, 2));
  proj = register_module("proj", nn::Linear(8 * w, embedding_dim));

  // torchvision's initialisation of the conv layers (BatchNorm starts at 1 and 0 already).
  for (auto& m : modules(/*include_self=*/false))
    if (auto* conv = m->as<nn::Conv3d>()) nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

NetOutput VideoNetImpl::forward(torch::Tensor x, int depth) {
  if (depth < 1 || depth > 4) throw Error("video net depth must be 1..4, not " + std::to_string(depth));
  NetOutput out;
  if (gray_motion_) {
    const torch::Tensor weights = torch::tensor({luma_weights_[0], luma_weights_[1], luma_weights_[2]}, x.options());
    x = (x * weights.view({1, 3, 1, 1, 1})).sum(1, /*keepdim=*/true);  // N x 1 x T x H x W
    x = x - x.mean(2, /*keepdim=*/true);
  }
  x = stem->forward(x);
  nn::Sequential* stages[] = {&layer1, &layer2, &layer3, &layer4};
  for (int i = 0; i < depth; ++i) {
    x = (*stages[i])->forward(x);
    out.stages.push_back(x.mean({2, 3, 4}));  // AdaptiveAvgPool3d(1) + flatten
  }
  if (depth == 4)
    out.embedding =
        nn::functional::normalize(proj->forward(out.stages.back()), nn::functional::NormalizeFuncOptions().dim(1));
  return out;
}

}  // namespace avts::nets
