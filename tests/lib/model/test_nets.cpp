// The networks: torchvision's MC3-18 layout and names, output shapes, L2-normalised
// embeddings, the pooled stage outputs used for layer extraction.
#include <gtest/gtest.h>

#include <map>

#include "avts/error.h"
#include "avts/nets.h"

using namespace avts;

namespace {

std::map<std::string, torch::Tensor> named_state(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, t] : nets::state_dict(m)) out.emplace(name, t);
  return out;
}

std::vector<int64_t> shape(const torch::Tensor& t) { return t.sizes().vec(); }

void expect_unit_rows(const torch::Tensor& e) {
  const torch::Tensor norms = e.norm(2, 1);
  EXPECT_TRUE(torch::allclose(norms, torch::ones_like(norms), 1e-5, 1e-5)) << norms;
}

class Nets : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(2);
    torch::manual_seed(0);
  }
  torch::NoGradGuard no_grad;
};

}  // namespace

TEST_F(Nets, VideoNetHasTorchvisionMc3Layout) {
  nets::VideoNet net(64, 128);
  const auto sd = named_state(*net);
  // torchvision's mc3_18 backbone has 120 state_dict entries (122 with fc.weight, fc.bias).
  EXPECT_EQ(sd.size(), 120u + 2u);  // + proj.weight, proj.bias
  int64_t params = 0;
  for (const auto& p : net->named_parameters())
    if (p.key().rfind("proj.", 0) != 0) params += p.value().numel();
  EXPECT_EQ(params, 11490240);  // torchvision mc3_18 without fc

  const std::map<std::string, std::vector<int64_t>> expected = {
      {"stem.0.weight", {64, 3, 3, 7, 7}},
      {"stem.1.running_var", {64}},
      {"layer1.0.conv1.0.weight", {64, 64, 3, 3, 3}},  // Conv3DSimple
      {"layer1.1.conv2.1.bias", {64}},
      {"layer2.0.conv1.0.weight", {128, 64, 1, 3, 3}},  // Conv3DNoTemporal
      {"layer2.0.downsample.0.weight", {128, 64, 1, 1, 1}},
      {"layer2.0.downsample.1.running_mean", {128}},
      {"layer3.1.conv1.0.weight", {256, 256, 1, 3, 3}},
      {"layer4.0.downsample.0.weight", {512, 256, 1, 1, 1}},
      {"layer4.1.conv2.1.num_batches_tracked", {}},
      {"proj.weight", {128, 512}},
  };
  for (const auto& [name, dims] : expected) {
    ASSERT_TRUE(sd.count(name)) << name;
    EXPECT_EQ(shape(sd.at(name)), dims) << name;
  }
  EXPECT_FALSE(sd.count("layer1.0.downsample.0.weight"));  // same width, stride 1: no shortcut conv
  EXPECT_EQ(sd.at("layer4.1.conv2.1.num_batches_tracked").scalar_type(), torch::kLong);
}

TEST_F(Nets, VideoNetStridesAndShapes) {
  nets::VideoNet net(4, 16);
  net->eval();
  const torch::Tensor x = torch::randn({2, 3, 5, 32, 32});
  // Stem: stride 1 in time, 2 in space.
  torch::Tensor s = net->stem->forward(x);
  EXPECT_EQ(shape(s), (std::vector<int64_t>{2, 4, 5, 16, 16}));
  // MC3: layer1 keeps the size, layers 2-4 halve space only; time is never downsampled.
  s = net->layer1->forward(s);
  EXPECT_EQ(shape(s), (std::vector<int64_t>{2, 4, 5, 16, 16}));
  s = net->layer2->forward(s);
  EXPECT_EQ(shape(s), (std::vector<int64_t>{2, 8, 5, 8, 8}));
  s = net->layer4->forward(net->layer3->forward(s));
  EXPECT_EQ(shape(s), (std::vector<int64_t>{2, 32, 5, 2, 2}));

  const nets::NetOutput out = net->forward(x);
  ASSERT_EQ(out.stages.size(), 4u);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(shape(out.stages[k]), (std::vector<int64_t>{2, 4 << k}));
  // The last pooled stage is the global average of layer4's output.
  EXPECT_TRUE(torch::allclose(out.stages[3], s.mean({2, 3, 4}), 1e-5, 1e-6));
  EXPECT_EQ(shape(out.embedding), (std::vector<int64_t>{2, 16}));
  expect_unit_rows(out.embedding);
}

TEST_F(Nets, AudioNetShapes) {
  nets::AudioNet net(4, 16);
  net->eval();
  const torch::Tensor x = torch::randn({3, 1, 40, 100});
  torch::Tensor s = net->layer1->forward(x);
  EXPECT_EQ(shape(s), (std::vector<int64_t>{3, 4, 20, 50}));
  s = net->layer4->forward(net->layer3->forward(net->layer2->forward(s)));
  EXPECT_EQ(shape(s), (std::vector<int64_t>{3, 32, 3, 7}));  // odd sizes round up

  const nets::NetOutput out = net->forward(x);
  ASSERT_EQ(out.stages.size(), 4u);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(shape(out.stages[k]), (std::vector<int64_t>{3, 4 << k}));
  EXPECT_TRUE(torch::allclose(out.stages[3], s.mean({2, 3}), 1e-5, 1e-6));
  EXPECT_EQ(shape(out.embedding), (std::vector<int64_t>{3, 16}));
  expect_unit_rows(out.embedding);
  const auto sd = named_state(*net);
  EXPECT_EQ(shape(sd.at("layer1.0.weight")), (std::vector<int64_t>{4, 1, 3, 3}));
  EXPECT_EQ(shape(sd.at("layer4.4.running_mean")), (std::vector<int64_t>{32}));
}

TEST_F(Nets, DepthStopsEarly) {
  nets::AudioNet net(4, 16);
  net->eval();
  const torch::Tensor x = torch::randn({1, 1, 40, 20});
  const nets::NetOutput full = net->forward(x);
  const nets::NetOutput two = net->forward(x, 2);
  ASSERT_EQ(two.stages.size(), 2u);
  EXPECT_FALSE(two.embedding.defined());
  EXPECT_TRUE(torch::equal(two.stages[1], full.stages[1]));
  EXPECT_THROW(net->forward(x, 0), Error);
  EXPECT_THROW(net->forward(x, 5), Error);
}

TEST_F(Nets, BothPresetsRunOnTinyInputs) {
  for (const std::string& preset : ModelConfig::preset_names()) {
    const ModelConfig c = ModelConfig::preset_config(preset);
    nets::AvtsNet net(c);
    net->eval();
    const int64_t w = c.video_base_width, a = c.audio_base_width;
    const nets::NetOutput v = net->video->forward(torch::randn({1, 3, 2, 32, 32}));
    const nets::NetOutput au = net->audio->forward(torch::randn({2, 1, c.audio.n_mels, 16}));
    EXPECT_EQ(shape(v.stages[3]), (std::vector<int64_t>{1, 8 * w})) << preset;
    EXPECT_EQ(shape(au.stages[0]), (std::vector<int64_t>{2, a})) << preset;
    EXPECT_EQ(shape(v.embedding), (std::vector<int64_t>{1, c.embedding_dim})) << preset;
    EXPECT_EQ(shape(au.embedding), (std::vector<int64_t>{2, c.embedding_dim})) << preset;
    expect_unit_rows(v.embedding);
    expect_unit_rows(au.embedding);
    const torch::Tensor logits = net->fusion->forward(v.embedding.expand({2, -1}), au.embedding);
    EXPECT_EQ(shape(logits), (std::vector<int64_t>{2, 2})) << preset;
  }
}

TEST_F(Nets, AvtsNetStateDictNames) {
  ModelConfig c = ModelConfig::preset_config("avts-compact");
  nets::AvtsNet net(c);
  const auto sd = named_state(*net);
  for (const char* name : {"video.stem.0.weight", "video.layer1.0.conv1.0.weight", "video.proj.bias",
                           "audio.layer1.0.weight", "audio.proj.weight", "fusion.fc1.weight", "fusion.fc2.bias"})
    EXPECT_TRUE(sd.count(name)) << name;
  EXPECT_EQ(shape(sd.at("fusion.fc2.weight")), (std::vector<int64_t>{2, c.embedding_dim}));
  // Sorted, and buffers included: BatchNorm running statistics travel in the model file.
  const auto list = nets::state_dict(*net);
  for (size_t i = 1; i < list.size(); ++i) EXPECT_LT(list[i - 1].first, list[i].first);
  EXPECT_TRUE(sd.count("audio.layer2.1.running_var"));
}

TEST_F(Nets, ConvolutionsStartLikeTorchvision) {
  // kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2 / (out channels * kernel volume)).
  nets::VideoNet video(64, 128);
  const torch::Tensor stem = video->stem[0]->as<torch::nn::Conv3d>()->weight;
  const double stem_std = std::sqrt(2.0 / (64 * 3 * 7 * 7));
  EXPECT_NEAR(stem.std().item<double>(), stem_std, 0.03 * stem_std);
  EXPECT_NEAR(stem.mean().item<double>(), 0.0, 0.03 * stem_std);

  nets::AudioNet audio(16, 128);
  const torch::Tensor conv = audio->layer2[3]->as<torch::nn::Conv2d>()->weight;
  const double conv_std = std::sqrt(2.0 / (32 * 3 * 3));
  EXPECT_NEAR(conv.std().item<double>(), conv_std, 0.05 * conv_std);
  EXPECT_TRUE(torch::equal(audio->layer2[1]->as<torch::nn::BatchNorm2d>()->weight, torch::ones({32})));
}
