// avts::Model: AvtsNet (both networks and the fusion head) on a device, its content id,
// batched inference, and matching a model file's tensors against the architecture.
#include "avts/model.h"

#include <dlfcn.h>
#include <glib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "autocast.h"
#include "avts/error.h"
#include "avts/nets.h"
#include "model_file.h"

namespace avts {

namespace nets {

FusionHeadImpl::FusionHeadImpl(int embedding_dim) {
  fc1 = register_module("fc1", torch::nn::Linear(2 * embedding_dim, embedding_dim));
  fc2 = register_module("fc2", torch::nn::Linear(embedding_dim, 2));
}

torch::Tensor FusionHeadImpl::forward(const torch::Tensor& video, const torch::Tensor& audio) {
  return fc2->forward(torch::relu(fc1->forward(torch::cat({video, audio}, 1))));
}

AvtsNetImpl::AvtsNetImpl(const ModelConfig& config) {
  video = register_module("video", VideoNet(config.video_base_width, config.embedding_dim, config.video));
  audio = register_module("audio", AudioNet(config.audio_base_width, config.embedding_dim, config.audio));
  fusion = register_module("fusion", FusionHead(config.embedding_dim));
}

std::vector<std::pair<std::string, torch::Tensor>> state_dict(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> all;
  for (const auto& p : module.named_parameters()) all.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers()) all.emplace(b.key(), b.value());
  return {all.begin(), all.end()};
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  int index = -1;  // "cuda": the current CUDA device
  if (name != "cuda") {
    const std::string digits = name.rfind("cuda:", 0) == 0 ? name.substr(5) : "";
    if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
      throw Error("unknown device '" + name + "' (use cpu, cuda or cuda:N)");
    index = std::stoi(digits);
  }
  if (!torch::cuda::is_available())
    throw Error("device '" + name + "' requested but this LibTorch has no CUDA support or no GPU is visible");
  const auto count = torch::cuda::device_count();
  if (index >= static_cast<int>(count))
    throw Error("device '" + name + "' requested but there are only " + std::to_string(count) + " CUDA devices");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace nets

void Model::Impl::refresh_id() {
  id = model_file::content_sha256(config.to_json(), nets::state_dict(*net)).substr(0, 16);
}

namespace {

std::string shape_text(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// Copies the file's tensors into `net`; every tensor of the architecture must be there
// once, with its shape and dtype, and nothing else.
void load_weights(nets::AvtsNet& net, const model_file::Contents& contents, const std::string& path,
                  const ModelConfig& config) {
  const std::string prefix = "model file '" + path + "' does not match its config (preset '" + config.preset + "'): ";
  std::map<std::string, torch::Tensor> wanted;
  for (auto& [name, tensor] : nets::state_dict(*net)) wanted.emplace(name, tensor);

  torch::NoGradGuard no_grad;
  std::map<std::string, bool> seen;
  for (const auto& [name, tensor] : contents.tensors) {
    const auto it = wanted.find(name);
    if (it == wanted.end()) throw ModelFileError(prefix + "unexpected tensor '" + name + "'");
    if (seen[name]) throw ModelFileError(prefix + "tensor '" + name + "' appears twice");
    seen[name] = true;
    torch::Tensor& target = it->second;
    if (!tensor.sizes().equals(target.sizes()))
      throw ModelFileError(prefix + "tensor '" + name + "' has shape " + shape_text(tensor) + " in the file but " +
                           shape_text(target) + " in the architecture");
    if (tensor.scalar_type() != target.scalar_type())
      throw ModelFileError(prefix + "tensor '" + name + "' has dtype " +
                           std::string(c10::toString(tensor.scalar_type())) + " in the file but " +
                           c10::toString(target.scalar_type()) + " in the architecture");
    target.copy_(tensor);
  }
  for (const auto& [name, tensor] : wanted)
    if (!seen.count(name)) throw ModelFileError(prefix + "tensor '" + name + "' is missing");
}

// "embedding" runs all four stages; "layerK" stops after stage K.
int layer_depth(const std::string& layer) {
  if (layer == "embedding") return 4;
  for (int k = 1; k <= 4; ++k)
    if (layer == "layer" + std::to_string(k)) return k;
  std::string known;
  for (const auto& n : Model::layer_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown layer '" + layer + "' (known: " + known + ")");
}

// Weights initialised from `seed` on LibTorch's global generator, so one construction at
// a time; on the CPU, so that they do not depend on the device.
nets::AvtsNet build_net(const ModelConfig& config, uint64_t seed) {
  static std::mutex seeding;
  std::lock_guard<std::mutex> lock(seeding);
  torch::manual_seed(seed);
  return nets::AvtsNet(config);
}

// LibTorch 1.13 on the CPU runs a 3x3 convolution of a single input of at most 20480
// N*C*T*H elements through its slow native kernel instead of oneDNN (ConvParams::use_mkldnn).
// In a narrow video net every block conv is that small (width * frames * crop / 2), and one
// clip then costs 4x what two clips cost (avts-compact, 2 threads: 170 ms against 43 ms).
bool single_clip_is_slow(const ModelConfig& c, const torch::Device& device) {
  return device.is_cpu() && int64_t(c.video_base_width) * c.video_frames_per_clip() * c.video.crop / 2 <= 20480;
}

// LibTorch's matrix products go through libblas.so.3. When that is OpenBLAS, its own pool of
// one thread per core wakes for every product and then spins in sched_yield for a while: for
// the networks' small projections that cost a fifth of `avts sync`'s CPU on 2 cores (the
// convolutions run in oneDNN on LibTorch's threads). So one BLAS thread, unless the user chose
// otherwise with OPENBLAS_NUM_THREADS.
void single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (g_getenv("OPENBLAS_NUM_THREADS")) return;
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(1);
  });
}

}  // namespace

const char* modality_name(Modality m) { return m == Modality::Audio ? "audio" : "video"; }

const char* precision_name(Precision p) {
  return p == Precision::BFloat16 ? "bfloat16" : p == Precision::Float16 ? "float16" : "float32";
}

Precision parse_precision(const std::string& name) {
  if (name == "float32" || name == "fp32") return Precision::Float32;
  if (name == "bfloat16" || name == "bf16") return Precision::BFloat16;
  if (name == "float16" || name == "fp16") return Precision::Float16;
  throw Error("unknown precision '" + name + "' (use float32, bfloat16 or float16)");
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { single_threaded_blas(); }
Model::~Model() = default;

std::shared_ptr<Model> Model::create(const ModelConfig& config, uint64_t seed, const std::string& device) {
  config.validate();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->device = nets::parse_device(device);
  impl->device_name = device;
  impl->net = build_net(config, seed);
  impl->net->to(impl->device);
  impl->net->eval();
  impl->refresh_id();
  return std::shared_ptr<Model>(new Model(std::move(impl)));
}

std::shared_ptr<Model> Model::load(const std::string& path, const std::string& device) {
  auto impl = std::make_unique<Impl>();
  impl->device = nets::parse_device(device);
  impl->device_name = device;
  const model_file::Contents contents = model_file::read(path);
  try {
    impl->config = ModelConfig::from_json(contents.config_json);
  } catch (const Error& e) {
    throw ModelFileError("model file '" + path + "': " + e.what());
  }
  impl->net = build_net(impl->config, 0);  // the initial weights are overwritten
  load_weights(impl->net, contents, path, impl->config);
  impl->net->to(impl->device);
  impl->net->eval();
  impl->refresh_id();
  return std::shared_ptr<Model>(new Model(std::move(impl)));
}

void Model::save(const std::string& path) const {
  model_file::Contents contents;
  contents.config_json = impl_->config.to_json();
  for (const auto& [name, tensor] : nets::state_dict(*impl_->net))
    contents.tensors.emplace_back(name, tensor.detach().to(torch::kCPU));
  impl_->refresh_id();  // the id of what is written, also after training changed the weights
  model_file::write(path, contents);
}

const ModelConfig& Model::config() const { return impl_->config; }
const std::string& Model::id() const { return impl_->id; }
const std::string& Model::device() const { return impl_->device_name; }

void Model::set_precision(Precision precision) {
  if (precision == Precision::Float16 && !impl_->device.is_cuda())
    throw Error(std::string("precision ") + precision_name(precision) + " needs a CUDA device, but the model is on '" +
                impl_->device_name + "'");
  impl_->precision = precision;
}

Precision Model::precision() const { return impl_->precision; }

void Model::set_min_confidence(double min_confidence, const std::string& calibrated_on) {
  ModelConfig config = impl_->config;
  config.min_confidence = min_confidence;
  config.provenance["min-confidence-calibrated-on"] = calibrated_on;
  config.validate();
  impl_->config = std::move(config);
  impl_->refresh_id();
}

std::vector<std::string> Model::layer_names() { return {"embedding", "layer1", "layer2", "layer3", "layer4"}; }

int Model::dim(Modality modality, const std::string& layer) const {
  const int depth = layer_depth(layer);
  if (layer == "embedding") return impl_->config.embedding_dim;
  const int width = modality == Modality::Audio ? impl_->config.audio_base_width : impl_->config.video_base_width;
  return width << (depth - 1);
}

void Model::embed(Modality modality, const float* input, int n, const std::string& layer, float* out) const {
  const int depth = layer_depth(layer);
  if (n < 0) throw Error("Model::embed: negative batch size " + std::to_string(n));
  if (n == 0) return;
  Impl& m = *impl_;  // forward() is not const, but eval-mode inference changes nothing
  if (m.net->is_training())
    throw Error("Model::embed needs the network in eval mode, but it is in training mode (call net->eval())");

  c10::InferenceMode inference;
  const ModelConfig& c = m.config;
  const std::vector<int64_t> shape =
      modality == Modality::Audio ? std::vector<int64_t>{n, 1, c.audio.n_mels, c.audio_frames_per_clip()}
                                  : std::vector<int64_t>{n, 3, c.video_frames_per_clip(), c.video.crop, c.video.crop};
  // The networks never write to their input, so the caller's buffer is used as it is.
  torch::Tensor x = torch::from_blob(const_cast<float*>(input), shape, torch::kFloat32).to(m.device);
  if (modality == Modality::Video && n == 1 && single_clip_is_slow(c, m.device)) x = x.repeat({2, 1, 1, 1, 1});
  const AutocastGuard autocast(m.device, m.precision);
  const nets::NetOutput y =
      modality == Modality::Audio ? m.net->audio->forward(x, depth) : m.net->video->forward(x, depth);
  const torch::Tensor result = (layer == "embedding" ? y.embedding : y.stages.back())
                                   .narrow(0, 0, n)
                                   .to(torch::kCPU, torch::kFloat32)
                                   .contiguous();
  std::memcpy(out, result.data_ptr<float>(), result.numel() * sizeof(float));
}

void Model::set_threads(int n) {
  if (n < 0) throw Error("thread count must be >= 0 (0 = one per core), not " + std::to_string(n));
  if (n == 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
}

}  // namespace avts
