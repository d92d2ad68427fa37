// avts::Model: create / save / load round trips, the content id, atomic saving, clear
// errors for bad model files, devices, and embed().
#include <caffe2/serialize/inline_container.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <torch/serialize.h>

#include <fstream>
#include <random>
#include <thread>

#include "avts/error.h"
#include "avts/model.h"
#include "avts/nets.h"
#include "temp_dir.h"

using namespace avts;
using avts::test::file_names;
using avts::test::path_exists;
using avts::test::TempDir;

namespace {

// A model small enough that every test runs in milliseconds.
ModelConfig tiny_config(int audio_width = 4) {
  ModelConfig c = ModelConfig::preset_config("avts-compact");
  c.clip_seconds = 0.2;  // 5 video frames, 20 log-mel frames
  c.video.resize = 36;
  c.video.crop = 32;
  c.video_base_width = 4;
  c.audio_base_width = audio_width;
  c.embedding_dim = 8;
  return c;
}

std::vector<float> random_input(const Model& m, Modality modality, int n, unsigned seed) {
  const ModelConfig& c = m.config();
  const size_t per = modality == Modality::Audio ? size_t(c.audio.n_mels) * c.audio_frames_per_clip()
                                                 : size_t(3) * c.video_frames_per_clip() * c.video.crop * c.video.crop;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(per * n);
  for (float& v : x) v = normal(rng);
  return x;
}

std::vector<float> embed(const Model& m, Modality modality, const std::vector<float>& x, int n,
                         const std::string& layer) {
  std::vector<float> out(size_t(n) * m.dim(modality, layer));
  m.embed(modality, x.data(), n, layer, out.data());
  return out;
}

std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_bytes(const std::string& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A PyTorch zip archive whose data.pkl is exactly `pickle` (no tensors).
std::string archive_with_pickle(const std::string& pickle) {
  std::string out;
  caffe2::serialize::PyTorchStreamWriter w([&](const void* b, size_t n) {
    out.append(static_cast<const char*>(b), n);
    return n;
  });
  w.writeRecord("data.pkl", pickle.data(), pickle.size());
  w.writeEndOfFile();
  return out;
}

// A PyTorch zip archive of an arbitrary value (LibTorch's own pickle_save).
std::string archive_of(const c10::IValue& v) {
  const std::vector<char> bytes = torch::pickle_save(v);
  return {bytes.begin(), bytes.end()};
}

c10::impl::GenericDict model_dict(const std::string& format, int64_t version, const std::string& config,
                                  const c10::Dict<std::string, at::Tensor>& state_dict) {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("format", format);
  d.insert("version", version);
  d.insert("config", config);
  d.insert("state_dict", state_dict);
  return d;
}

c10::Dict<std::string, at::Tensor> tensors_of(const Model& m) {
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& [name, t] : nets::state_dict(*m.impl().net)) d.insert(name, t.detach().clone());
  return d;
}

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override { Model::set_threads(2); }

  // Expects load() to throw ModelFileError whose message names the file and has `text`.
  void expect_load_error(const std::string& p, const std::string& text) {
    try {
      Model::load(p);
      ADD_FAILURE() << "loading " << p << " did not throw";
    } catch (const ModelFileError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
      EXPECT_NE(msg.find(text), std::string::npos) << "expected '" << text << "' in: " << msg;
      EXPECT_EQ(msg.find("Exception raised from"), std::string::npos) << "backtrace leaked: " << msg;
    }
  }

  const TempDir dir{std::string("avts-test-model-") + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                    "-"};
};

}  // namespace

TEST_F(ModelTest, SaveLoadRoundTripGivesIdenticalOutputsAndId) {
  const auto model = Model::create(tiny_config(), 7);
  {
    // As after training: BatchNorm statistics away from their initial 0 and 1.
    torch::NoGradGuard no_grad;
    for (auto& b : model->impl().net->named_buffers())
      if (b.key().find("running_") != std::string::npos) b.value().uniform_(0.5, 1.5);
    model->impl().refresh_id();
  }
  const std::string path = dir / "m.avts";
  model->save(path);
  const auto loaded = Model::load(path);

  EXPECT_EQ(loaded->id(), model->id());
  EXPECT_EQ(loaded->id().size(), 16u);
  EXPECT_EQ(loaded->config().to_json(), model->config().to_json());
  EXPECT_EQ(loaded->device(), "cpu");
  for (Modality mod : {Modality::Audio, Modality::Video}) {
    const auto x = random_input(*model, mod, 3, 1);
    for (const auto& layer : Model::layer_names())
      EXPECT_EQ(embed(*loaded, mod, x, 3, layer), embed(*model, mod, x, 3, layer)) << layer;
  }
  // BatchNorm running statistics are stored too, not only parameters.
  const auto running_var = [](const Model& m) {
    return m.impl().net->video->stem[1]->as<torch::nn::BatchNorm3d>()->running_var;
  };
  EXPECT_TRUE(torch::equal(running_var(*loaded), running_var(*model)));
  EXPECT_FALSE(torch::equal(running_var(*loaded), torch::ones_like(running_var(*loaded))));
}

TEST_F(ModelTest, SameSeedSameWeights) {
  const auto a = Model::create(tiny_config(), 3);
  const auto b = Model::create(tiny_config(), 3);
  const auto c = Model::create(tiny_config(), 4);
  EXPECT_EQ(a->id(), b->id());
  EXPECT_NE(a->id(), c->id());
  const auto x = random_input(*a, Modality::Video, 1, 2);
  EXPECT_EQ(embed(*a, Modality::Video, x, 1, "embedding"), embed(*b, Modality::Video, x, 1, "embedding"));
}

TEST_F(ModelTest, IdFollowsWeightsAndConfig) {
  const auto model = Model::create(tiny_config(), 1);
  const std::string before = model->id();
  {
    torch::NoGradGuard no_grad;
    model->impl().net->audio->proj->bias[0] += 1e-3;
  }
  model->impl().refresh_id();
  const std::string after_weight = model->id();
  EXPECT_NE(after_weight, before);

  // save() stores and refreshes the id of what it writes; a copy loads with that id.
  model->impl().config.threshold = 0.75;
  const std::string path = dir / "m.avts";
  model->save(path);
  EXPECT_NE(model->id(), after_weight);
  EXPECT_EQ(Model::load(path)->id(), model->id());
  EXPECT_EQ(Model::load(path)->config().threshold, 0.75);
}

TEST_F(ModelTest, SaveIsAtomic) {
  const auto model = Model::create(tiny_config(), 1);
  const std::string path = dir / "m.avts";
  model->save(path);
  model->save(path);                                                      // overwrite
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"m.avts"});  // no temporary left behind

  EXPECT_THROW(model->save(dir / "missing/m.avts"), Error);
  EXPECT_FALSE(path_exists(dir / "missing"));

  // A write that fails half way (file size limit) leaves the old file as it was.
  const std::string old_bytes = read_bytes(path);
  const auto other = Model::create(tiny_config(), 2);
  rlimit old_limit{};
  getrlimit(RLIMIT_FSIZE, &old_limit);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  setrlimit(RLIMIT_FSIZE, &small);
  EXPECT_THROW(other->save(path), Error);
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"m.avts"});
  EXPECT_EQ(Model::load(path)->id(), model->id());
}

TEST_F(ModelTest, LoadErrorsForBrokenFiles) {
  expect_load_error(dir / "nothing.avts", "does not exist");
  expect_load_error(dir.path(), "is a directory");
  write_bytes(dir / "empty.avts", "");
  expect_load_error(dir / "empty.avts", "empty");

  std::mt19937 rng(5);
  std::string noise(10000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  write_bytes(dir / "noise.avts", noise);
  expect_load_error(dir / "noise.avts", "not a readable archive");

  const std::string good = dir / "good.avts";
  Model::create(tiny_config(), 1)->save(good);
  const std::string bytes = read_bytes(good);
  for (size_t keep :
       {size_t(1), size_t(30), size_t(100), bytes.size() / 3, bytes.size() / 2, bytes.size() - 22, bytes.size() - 1}) {
    const std::string cut = dir / ("cut" + std::to_string(keep) + ".avts");
    write_bytes(cut, bytes.substr(0, keep));
    expect_load_error(cut, "not a readable archive");
  }
}

TEST_F(ModelTest, DamageInsideTensorDataIsCaughtByTheChecksum) {
  const auto model = Model::create(tiny_config(), 3);
  const std::string good = dir / "good.avts";
  model->save(good);
  // Find the raw bytes of one weight in the file (stored uncompressed) and flip one bit.
  const torch::Tensor w = tensors_of(*model).at("video.layer4.1.conv2.0.weight").contiguous();
  const std::string needle(static_cast<const char*>(w.data_ptr()), 64);
  std::string bytes = read_bytes(good);
  const size_t at = bytes.find(needle);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 13] ^= 0x10;
  const std::string damaged = dir / "damaged.avts";
  write_bytes(damaged, bytes);
  expect_load_error(damaged, "does not match the checksum");
}

TEST_F(ModelTest, LoadErrorsForForeignArchives) {
  const auto model = Model::create(tiny_config(), 1);
  const std::string json = model->config().to_json();

  write_bytes(dir / "tensor.avts", archive_of(torch::ones({2})));
  expect_load_error(dir / "tensor.avts", "not an AVTS model file");

  write_bytes(dir / "format.avts", archive_of(model_dict("other-model", 1, json, tensors_of(*model))));
  expect_load_error(dir / "format.avts", "format tag");

  write_bytes(dir / "newer.avts", archive_of(model_dict("avts-model", 2, json, tensors_of(*model))));
  expect_load_error(dir / "newer.avts", "format version 2");

  write_bytes(dir / "json.avts", archive_of(model_dict("avts-model", 1, "{not json", tensors_of(*model))));
  expect_load_error(dir / "json.avts", "invalid model config");

  // The same format written by LibTorch's own pickle_save (with type tags) also loads.
  write_bytes(dir / "tagged.avts", archive_of(model_dict("avts-model", 1, json, tensors_of(*model))));
  EXPECT_EQ(Model::load(dir / "tagged.avts")->id(), model->id());
}

TEST_F(ModelTest, LoadErrorsForWeightsThatDoNotMatchTheConfig) {
  const auto model = Model::create(tiny_config(/*audio_width=*/4), 1);
  // A config from another shape than the weights.
  const std::string wider = tiny_config(/*audio_width=*/8).to_json();
  write_bytes(dir / "shape.avts", archive_of(model_dict("avts-model", 1, wider, tensors_of(*model))));
  expect_load_error(dir / "shape.avts", "'audio.layer1.0.weight' has shape [4, 1, 3, 3] in the file but [8, 1, 3, 3]");

  const std::string json = model->config().to_json();
  auto missing = tensors_of(*model);
  ASSERT_EQ(missing.erase("video.stem.1.running_mean"), 1u);
  write_bytes(dir / "missing.avts", archive_of(model_dict("avts-model", 1, json, missing)));
  expect_load_error(dir / "missing.avts", "'video.stem.1.running_mean' is missing");

  auto extra = tensors_of(*model);
  extra.insert("video.fc.weight", torch::zeros({3}));
  write_bytes(dir / "extra.avts", archive_of(model_dict("avts-model", 1, json, extra)));
  expect_load_error(dir / "extra.avts", "unexpected tensor 'video.fc.weight'");

  auto dtype = tensors_of(*model);
  dtype.insert_or_assign("audio.proj.bias", dtype.at("audio.proj.bias").to(torch::kDouble));
  write_bytes(dir / "dtype.avts", archive_of(model_dict("avts-model", 1, json, dtype)));
  expect_load_error(dir / "dtype.avts", "'audio.proj.bias' has dtype Double");
}

TEST_F(ModelTest, LoadRunsNoCodeFromTheFile) {
  const std::string marker = dir / "pwned";
  // pickle protocol 2: os.system("touch <marker>")
  const std::string command = "touch " + marker;
  std::string pickle =
      "\x80\x02"
      "cos\nsystem\n";
  pickle += 'X';
  const uint32_t len = static_cast<uint32_t>(command.size());
  pickle.append(reinterpret_cast<const char*>(&len), 4);
  pickle += command;
  pickle += "\x85R.";
  write_bytes(dir / "hostile.avts", archive_with_pickle(pickle));
  expect_load_error(dir / "hostile.avts", "unknown type os.system");
  EXPECT_FALSE(path_exists(marker));
}

TEST_F(ModelTest, Devices) {
  EXPECT_EQ(Model::create(tiny_config(), 1, "cpu")->device(), "cpu");
  for (const char* bad : {"", "CPU", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:0x", "cuda0", " cpu"}) {
    try {
      Model::create(tiny_config(), 1, bad);
      ADD_FAILURE() << "device '" << bad << "' accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("unknown device"), std::string::npos) << e.what();
    }
  }
  if (!torch::cuda::is_available()) {
    for (const char* cuda : {"cuda", "cuda:0", "cuda:1"}) {
      try {
        Model::create(tiny_config(), 1, cuda);
        ADD_FAILURE() << "device '" << cuda << "' accepted without CUDA";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no CUDA support"), std::string::npos) << e.what();
      }
    }
  }
}

TEST_F(ModelTest, EmbedLayersAndDims) {
  const auto model = Model::create(tiny_config(), 1);
  EXPECT_EQ(model->dim(Modality::Video, "embedding"), 8);
  EXPECT_EQ(model->dim(Modality::Video, "layer1"), 4);
  EXPECT_EQ(model->dim(Modality::Video, "layer4"), 32);
  EXPECT_EQ(model->dim(Modality::Audio, "layer3"), 16);
  EXPECT_THROW(model->dim(Modality::Audio, "layer5"), Error);

  const auto x = random_input(*model, Modality::Audio, 2, 3);
  const auto e = embed(*model, Modality::Audio, x, 2, "embedding");
  for (int i = 0; i < 2; ++i) {
    double norm = 0;
    for (int j = 0; j < 8; ++j) norm += double(e[i * 8 + j]) * e[i * 8 + j];
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
  std::vector<float> out(64);
  EXPECT_THROW(model->embed(Modality::Audio, x.data(), 2, "fc", out.data()), Error);
  EXPECT_THROW(model->embed(Modality::Audio, x.data(), -1, "embedding", out.data()), Error);

  // Each window is embedded on its own: a batch equals its windows one by one.
  for (Modality mod : {Modality::Audio, Modality::Video}) {
    const auto pair = random_input(*model, mod, 2, 5);
    const auto first =
        embed(*model, mod, std::vector<float>(pair.begin(), pair.begin() + pair.size() / 2), 1, "layer2");
    const auto both = embed(*model, mod, pair, 2, "layer2");
    ASSERT_EQ(both.size(), 2 * first.size());
    for (size_t i = 0; i < first.size(); ++i) EXPECT_NEAR(first[i], both[i], 1e-5) << modality_name(mod);
  }

  // Training mode is refused rather than silently updating BatchNorm statistics.
  model->impl().net->train();
  EXPECT_THROW(model->embed(Modality::Audio, x.data(), 2, "embedding", out.data()), Error);
  model->impl().net->eval();
}

// The identity-reducing inputs: gray-motion sees only what changes between frames (a
// brightness offset on every frame and a colour cast of no luma change nothing), band-mean only
// how each band changes within the window (a gain, a constant in the log domain, changes
// nothing); both survive a save and a load, and the paper's inputs are still the default.
TEST_F(ModelTest, GrayMotionAndBandMeanInputsIgnoreWhatDoesNotMove) {
  ModelConfig c = tiny_config();
  EXPECT_EQ(c.video.input, "rgb");
  EXPECT_EQ(c.audio.normalise, "none");
  EXPECT_EQ(c.to_json().find("gray-motion"), std::string::npos);
  c.video.input = "gray-motion";
  c.audio.normalise = "band-mean";
  const auto model = Model::create(c, 1);
  EXPECT_EQ(nets::state_dict(*model->impl().net)[0].first, "audio.layer1.0.weight");
  EXPECT_EQ(model->impl().net->video->stem[0]->as<torch::nn::Conv3d>()->weight.size(1), 1);

  const auto video = random_input(*model, Modality::Video, 2, 7);
  std::vector<float> brighter = video;
  const size_t plane = size_t(c.video_frames_per_clip()) * c.video.crop * c.video.crop;
  for (size_t i = 0; i < brighter.size(); ++i) brighter[i] += 0.3f / c.video.std[(i / plane) % 3];
  const auto v1 = embed(*model, Modality::Video, video, 2, "embedding");
  const auto v2 = embed(*model, Modality::Video, brighter, 2, "embedding");
  for (size_t i = 0; i < v1.size(); ++i) EXPECT_NEAR(v1[i], v2[i], 1e-4);

  const auto audio = random_input(*model, Modality::Audio, 2, 8);
  std::vector<float> louder = audio;
  for (float& x : louder) x += 2.3f;  // 10x the amplitude: log(10 mel) = log(mel) + 2.3
  const auto a1 = embed(*model, Modality::Audio, audio, 2, "embedding");
  const auto a2 = embed(*model, Modality::Audio, louder, 2, "embedding");
  for (size_t i = 0; i < a1.size(); ++i) EXPECT_NEAR(a1[i], a2[i], 1e-4);

  const std::string path = dir / "inputs.avts";
  model->save(path);
  const auto loaded = Model::load(path);
  EXPECT_EQ(loaded->config().video.input, "gray-motion");
  EXPECT_EQ(loaded->config().audio.normalise, "band-mean");
  EXPECT_EQ(loaded->id(), model->id());
  const auto v3 = embed(*loaded, Modality::Video, video, 2, "embedding");
  for (size_t i = 0; i < v1.size(); ++i) EXPECT_EQ(v1[i], v3[i]);

  c.video.input = "grey";
  EXPECT_THROW(c.validate(), Error);
}

// bfloat16 autocast on the CPU: the same embeddings within its precision, not float32's
// arithmetic; float16 stays CUDA-only.
TEST_F(ModelTest, BFloat16OnTheCpuStaysCloseToFloat32) {
  const auto model = Model::create(tiny_config(), 1);
  EXPECT_THROW(model->set_precision(Precision::Float16), Error);
  for (Modality mod : {Modality::Audio, Modality::Video}) {
    const auto x = random_input(*model, mod, 4, 7);
    model->set_precision(Precision::Float32);
    const auto full = embed(*model, mod, x, 4, "embedding");
    model->set_precision(Precision::BFloat16);
    const auto low = embed(*model, mod, x, 4, "embedding");
    model->set_precision(Precision::Float32);
    ASSERT_EQ(full.size(), low.size());
    const size_t dim = full.size() / 4;
    bool differs = false;
    for (size_t k = 0; k < 4; ++k) {
      double dot = 0;  // both are unit vectors
      for (size_t j = 0; j < dim; ++j) {
        dot += double(full[k * dim + j]) * low[k * dim + j];
        differs = differs || full[k * dim + j] != low[k * dim + j];
      }
      EXPECT_GT(dot, 0.99) << modality_name(mod) << " window " << k;
    }
    EXPECT_TRUE(differs) << modality_name(mod) << ": computed in float32?";
    // Autocast is left as it was found: float32 again gives float32's numbers.
    EXPECT_EQ(embed(*model, mod, x, 4, "embedding"), full);
  }
}

TEST_F(ModelTest, EmbedIsThreadSafe) {
  const auto model = Model::create(tiny_config(), 1);
  const auto x = random_input(*model, Modality::Video, 2, 4);
  const auto expected = embed(*model, Modality::Video, x, 2, "embedding");
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = embed(*model, Modality::Video, x, 2, "embedding"); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

TEST_F(ModelTest, SetThreads) {
  Model::set_threads(0);
  EXPECT_EQ(torch::get_num_threads(), static_cast<int>(std::thread::hardware_concurrency()));
  Model::set_threads(1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_THROW(Model::set_threads(-1), Error);
  Model::set_threads(2);
}

// OpenBLAS's own thread pool spins in sched_yield after each product; a model leaves BLAS on
// one thread (the project installs OpenBLAS: scripts/bootstrap.sh).
TEST_F(ModelTest, OpenBlasRunsOnOneThread) {
  using GetThreads = int (*)();
  const auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (!get) GTEST_SKIP() << "LibTorch's libblas.so.3 is not OpenBLAS here";
  if (getenv("OPENBLAS_NUM_THREADS")) GTEST_SKIP() << "OPENBLAS_NUM_THREADS is set: the user's choice stands";
  const auto model = Model::create(tiny_config(), 1);
  EXPECT_EQ(get(), 1);
}

TEST(ModalityName, Names) {
  EXPECT_STREQ(modality_name(Modality::Audio), "audio");
  EXPECT_STREQ(modality_name(Modality::Video), "video");
}
