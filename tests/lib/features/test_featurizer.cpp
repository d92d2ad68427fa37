// Streaming featurizers: windows on the hop grid, gaps, drain, chunking and PTS-based
// frame picking, checked against direct Model::embed calls on a tiny random model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "avts/error.h"
#include "avts/featurizer.h"
#include "avts/logmel.h"
#include "avts/model.h"
#include "avts/video_prep.h"

using namespace avts;

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;

std::shared_ptr<const Model> tiny_model() {
  static std::shared_ptr<const Model> model = [] {
    Model::set_threads(1);
    ModelConfig c = ModelConfig::preset_config("avts-compact");
    c.clip_seconds = 1.0;  // the window the tests' expectations are written for
    c.video.resize = 32;
    c.video.crop = 32;
    c.video_base_width = 4;
    c.audio_base_width = 4;
    c.embedding_dim = 16;
    return Model::create(c, 7);
  }();
  return model;
}

FeaturizerOptions options(int64_t hop_ns, int batch_size = 8, const std::string& layer = "embedding") {
  FeaturizerOptions o;
  o.hop_ns = hop_ns;
  o.batch_size = batch_size;
  o.layer = layer;
  return o;
}

// All rows of a run, one per window, with their times.
struct Windows {
  std::vector<int64_t> pts;
  std::vector<bool> discont;  // per window: first row of a discont FeatureRows
  std::vector<std::vector<float>> rows;

  void add(const std::vector<FeatureRows>& out) {
    for (const FeatureRows& r : out) {
      EXPECT_GE(r.n, 1);
      EXPECT_EQ(r.data.size(), static_cast<size_t>(r.n) * r.dim);
      for (int i = 0; i < r.n; ++i) {
        pts.push_back(r.pts_ns + i * r.hop_ns);
        discont.push_back(r.discont && i == 0);
        rows.emplace_back(r.data.begin() + static_cast<size_t>(i) * r.dim,
                          r.data.begin() + static_cast<size_t>(i + 1) * r.dim);
      }
    }
  }
};

void expect_near_rows(const Windows& a, const Windows& b, float tol) {
  ASSERT_EQ(a.rows.size(), b.rows.size());
  EXPECT_EQ(a.pts, b.pts);
  for (size_t i = 0; i < a.rows.size(); ++i)
    for (size_t j = 0; j < a.rows[i].size(); ++j) ASSERT_NEAR(a.rows[i][j], b.rows[i][j], tol) << i << "," << j;
}

// ---------------------------------------------------------------------------- audio

constexpr int kRate = 16000;

std::vector<float> noise(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

int64_t sample_time(int64_t t0, int64_t i) { return t0 + i * kSecond / kRate; }

Windows run_audio(const FeaturizerOptions& o, int64_t t0, const std::vector<float>& x, bool drain = true) {
  AudioFeaturizer f(tiny_model(), o);
  Windows w;
  std::vector<FeatureRows> out;
  f.push(t0, x.data(), x.size(), out);
  if (drain) f.drain(out);
  w.add(out);
  return w;
}

TEST(AudioFeaturizer, RowsOnTheHopGridForThreeSeconds) {
  const auto x = noise(3 * kRate, 1);
  AudioFeaturizer f(tiny_model(), options(40 * kMs, 8));
  EXPECT_EQ(f.dim(), 16);
  EXPECT_EQ(f.hop_ns(), 40 * kMs);
  EXPECT_EQ(f.window_ns(), kSecond);

  std::vector<FeatureRows> out;
  f.push(0, x.data(), x.size(), out);
  for (const FeatureRows& r : out) EXPECT_EQ(r.n, 8);  // full batches only before the drain
  const size_t before_drain = out.size();
  f.drain(out);
  EXPECT_GT(out.size(), before_drain);  // the drain emits the tail

  Windows w;
  w.add(out);
  // 1 s windows every 40 ms that fit in 3 s: starts 0.00 .. 2.00 s.
  ASSERT_EQ(w.rows.size(), 51u);
  for (size_t i = 0; i < w.pts.size(); ++i) {
    EXPECT_EQ(w.pts[i], static_cast<int64_t>(i) * 40 * kMs);
    EXPECT_EQ(w.discont[i], i == 0);
  }
  for (const FeatureRows& r : out) {
    EXPECT_LE(r.n, 8);
    EXPECT_EQ(r.hop_ns, 40 * kMs);
  }

  const Windows coarse = run_audio(options(100 * kMs, 8), 0, x);
  EXPECT_EQ(coarse.rows.size(), 21u);  // 0.0 .. 2.0 s every 100 ms
}

TEST(AudioFeaturizer, RowEqualsEmbeddingOfItsLogMelWindow) {
  const auto x = noise(2 * kRate, 2);
  const Windows w = run_audio(options(200 * kMs, 4), 0, x);
  ASSERT_EQ(w.rows.size(), 6u);

  // Window 3 starts at 600 ms = sample 9600; its 100 frames need 99 * 160 + 400 samples.
  const auto& cfg = tiny_model()->config();
  LogMel logmel(cfg.audio);
  std::vector<float> frames;
  logmel.push(x.data() + 9600, 99 * 160 + 400, frames);
  ASSERT_EQ(frames.size(), 100u * 40u);
  std::vector<float> window(40 * 100);
  for (int t = 0; t < 100; ++t)
    for (int m = 0; m < 40; ++m) window[m * 100 + t] = frames[t * 40 + m];  // mel-major
  std::vector<float> expected(16);
  tiny_model()->embed(Modality::Audio, window.data(), 1, "embedding", expected.data());
  for (int j = 0; j < 16; ++j) EXPECT_NEAR(w.rows[3][j], expected[j], 1e-5f);
}

TEST(AudioFeaturizer, FirstWindowStartsOnTheGridAfterTheFirstSample) {
  const auto x = noise(2 * kRate, 3);
  // First sample at 12.5 ms: window 0 starts at 40 ms, 440 samples in.
  const Windows late = run_audio(options(40 * kMs), 12'500'000, x);
  const Windows cut = run_audio(options(40 * kMs), 40 * kMs, std::vector<float>(x.begin() + 440, x.end()));
  ASSERT_FALSE(late.rows.empty());
  EXPECT_EQ(late.pts.front(), 40 * kMs);
  expect_near_rows(late, cut, 0.0f);
}

TEST(AudioFeaturizer, ChunkingDoesNotChangeTheRows) {
  const auto x = noise(3 * kRate, 4);
  const Windows whole = run_audio(options(40 * kMs, 8), 0, x);

  AudioFeaturizer f(tiny_model(), options(40 * kMs, 8));
  std::mt19937 rng(5);
  std::uniform_int_distribution<size_t> size(1, 3000);
  std::vector<FeatureRows> out;
  for (size_t i = 0; i < x.size();) {
    const size_t n = std::min(size(rng), x.size() - i);
    f.push(sample_time(0, static_cast<int64_t>(i)), x.data() + i, n, out);
    i += n;
  }
  f.drain(out);
  Windows chunked;
  chunked.add(out);
  expect_near_rows(whole, chunked, 0.0f);
  for (size_t i = 1; i < chunked.discont.size(); ++i) EXPECT_FALSE(chunked.discont[i]);
}

TEST(AudioFeaturizer, BatchSizeDoesNotChangeTheRows) {
  const auto x = noise(2 * kRate, 6);
  expect_near_rows(run_audio(options(80 * kMs, 1), 0, x), run_audio(options(80 * kMs, 5), 0, x), 1e-5f);
}

TEST(AudioFeaturizer, SmallGapsAreSilenceJitterAndOverlapAreIgnored) {
  const auto x = noise(3 * kRate, 7);
  const size_t half = 24000;  // 1.5 s

  // A 50 ms gap (800 samples) is filled with silence: same as pushing the zeros.
  std::vector<float> filled(x.begin(), x.begin() + half);
  filled.insert(filled.end(), 800, 0.0f);
  filled.insert(filled.end(), x.begin() + half, x.end());
  const Windows expected = run_audio(options(40 * kMs), 0, filled);

  AudioFeaturizer f(tiny_model(), options(40 * kMs));
  std::vector<FeatureRows> out;
  f.push(0, x.data(), half, out);
  f.push(1550 * kMs, x.data() + half, x.size() - half, out);
  f.drain(out);
  Windows gap;
  gap.add(out);
  expect_near_rows(expected, gap, 0.0f);
  for (size_t i = 1; i < gap.discont.size(); ++i) EXPECT_FALSE(gap.discont[i]);

  // 0.4 ms of timestamp jitter is not a gap; a 20 ms overlap is dropped.
  const Windows straight = run_audio(options(40 * kMs), 0, x);
  for (int64_t error : {int64_t{400'000}, int64_t{-400'000}}) {
    AudioFeaturizer j(tiny_model(), options(40 * kMs));
    out.clear();
    j.push(0, x.data(), half, out);
    j.push(1500 * kMs + error, x.data() + half, x.size() - half, out);
    j.drain(out);
    Windows jitter;
    jitter.add(out);
    expect_near_rows(straight, jitter, 0.0f);
  }
  AudioFeaturizer o(tiny_model(), options(40 * kMs));
  out.clear();
  o.push(0, x.data(), half, out);
  o.push(1480 * kMs, x.data() + half - 320, x.size() - half + 320, out);  // 320 samples again
  o.drain(out);
  Windows overlap;
  overlap.add(out);
  expect_near_rows(straight, overlap, 0.0f);
}

TEST(AudioFeaturizer, BigGapsAndGoingBackStartANewGrid) {
  const auto x = noise(2 * kRate, 8);
  AudioFeaturizer f(tiny_model(), options(40 * kMs, 8));
  std::vector<FeatureRows> out;
  f.push(0, x.data(), x.size(), out);            // 0 .. 2 s
  f.push(3'520 * kMs, x.data(), x.size(), out);  // 1.52 s gap
  f.push(1'000 * kMs, x.data(), x.size(), out);  // back in time
  f.drain(out);
  Windows w;
  w.add(out);
  // Each 2 s run: windows at its start + 0 .. 1 s every 40 ms = 26 (the tail of each run
  // is completed when the next run starts).
  ASSERT_EQ(w.rows.size(), 3u * 26u);
  const int64_t starts[3] = {0, 3'520 * kMs, 1'000 * kMs};
  for (int run = 0; run < 3; ++run)
    for (int i = 0; i < 26; ++i) {
      EXPECT_EQ(w.pts[run * 26 + i], starts[run] + i * 40 * kMs);
      EXPECT_EQ(w.discont[run * 26 + i], i == 0) << run << " " << i;
    }
  // The first run's rows equal a run on its own.
  const Windows alone = run_audio(options(40 * kMs, 8), 0, x);
  for (int i = 0; i < 26; ++i) EXPECT_EQ(w.rows[i], alone.rows[i]);
}

TEST(AudioFeaturizer, ResetForgetsPendingWindows) {
  const auto x = noise(2 * kRate, 9);
  AudioFeaturizer f(tiny_model(), options(40 * kMs, 8));
  std::vector<FeatureRows> out;
  f.push(0, x.data(), 20000, out);
  f.reset();
  out.clear();
  f.push(0, x.data(), x.size(), out);
  f.drain(out);
  Windows w;
  w.add(out);
  const Windows fresh = run_audio(options(40 * kMs, 8), 0, x);
  expect_near_rows(fresh, w, 0.0f);
  EXPECT_TRUE(w.discont.front());
}

TEST(AudioFeaturizer, LayersHaveTheirOwnWidths) {
  const auto x = noise(kRate + 400, 10);
  std::vector<int> dims;
  for (const std::string& layer : Model::layer_names()) {
    const Windows w = run_audio(options(200 * kMs, 2, layer), 0, x);
    ASSERT_EQ(w.rows.size(), 1u) << layer;
    EXPECT_EQ(static_cast<int>(w.rows[0].size()), tiny_model()->dim(Modality::Audio, layer)) << layer;
    dims.push_back(static_cast<int>(w.rows[0].size()));
  }
  std::sort(dims.begin(), dims.end());
  EXPECT_GE(std::unique(dims.begin(), dims.end()) - dims.begin(), 3) << "layers should differ in width";
}

TEST(AudioFeaturizer, BadOptionsThrow) {
  for (int64_t hop : {int64_t{0}, -40 * kMs, 15 * kMs, 40 * kMs + 1}) {
    EXPECT_THROW(AudioFeaturizer(tiny_model(), options(hop)), Error) << hop;
  }
  try {
    AudioFeaturizer(tiny_model(), options(25 * kMs));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("25 ms"), std::string::npos) << e.what();
  }
  EXPECT_THROW(AudioFeaturizer(tiny_model(), options(40 * kMs, 8, "layer9")), Error);
  EXPECT_THROW(AudioFeaturizer(tiny_model(), options(40 * kMs, 0)), Error);
  EXPECT_NO_THROW(AudioFeaturizer(tiny_model(), options(10 * kMs, 1, "layer2")));
}

// ---------------------------------------------------------------------------- video

// A small random RGB image (48 x 40) per seed.
struct Image {
  explicit Image(unsigned seed, int w = 48, int h = 40) : width(w), height(h), pixels(3 * w * h) {
    std::mt19937 rng(seed);
    for (auto& p : pixels) p = static_cast<uint8_t>(rng() & 0xff);
  }
  RgbImage view() const { return RgbImage{pixels.data(), width, height, 3 * width}; }
  int width, height;
  std::vector<uint8_t> pixels;
};

struct Frame {
  int64_t pts;
  int content;  // index into the image set
};

Windows run_video(const FeaturizerOptions& o, const std::vector<Image>& images, const std::vector<Frame>& frames,
                  int64_t last_duration = -1) {
  VideoFeaturizer f(tiny_model(), o);
  std::vector<FeatureRows> out;
  for (size_t i = 0; i < frames.size(); ++i)
    f.push(frames[i].pts, images[frames[i].content].view(), out, i + 1 == frames.size() ? last_duration : -1);
  f.drain(out);
  Windows w;
  w.add(out);
  return w;
}

std::vector<Image> images(int n) {
  std::vector<Image> v;
  for (int i = 0; i < n; ++i) v.emplace_back(100 + i);
  return v;
}

// Frames at `fps` for `seconds`; frame k shows content(k).
template <typename Content>
std::vector<Frame> frames_at(double fps, double seconds, Content content, int64_t t0 = 0) {
  std::vector<Frame> v;
  const int n = static_cast<int>(std::lround(fps * seconds));
  for (int k = 0; k < n; ++k) v.push_back({t0 + std::llround(k * 1e9 / fps), content(k)});
  return v;
}

TEST(VideoFeaturizer, ClipsOnTheHopGrid) {
  const auto img = images(75);
  VideoFeaturizer f(tiny_model(), options(200 * kMs, 4));
  EXPECT_EQ(f.dim(), 16);
  EXPECT_EQ(f.window_ns(), kSecond);

  // 3 s at 25 fps, 1 s clips every 200 ms: starts 0.0 .. 2.0 s.
  const Windows w = run_video(options(200 * kMs, 4), img, frames_at(25, 3, [](int k) { return k; }), 40 * kMs);
  ASSERT_EQ(w.rows.size(), 11u);
  for (size_t i = 0; i < w.pts.size(); ++i) {
    EXPECT_EQ(w.pts[i], static_cast<int64_t>(i) * 200 * kMs);
    EXPECT_EQ(w.discont[i], i == 0);
  }
  // Without a duration the last frame lasts as long as the spacing before it.
  EXPECT_EQ(run_video(options(200 * kMs, 4), img, frames_at(25, 3, [](int k) { return k; })).rows.size(), 11u);
  // One frame lasting 2 s fills clips at 0.0 .. 1.0 s.
  EXPECT_EQ(run_video(options(200 * kMs, 4), img, {{0, 0}}, 2 * kSecond).rows.size(), 6u);
  // First frame at 130 ms: the first clip starts at 200 ms.
  const Windows late = run_video(options(200 * kMs), img,
                                 frames_at(
                                     25, 2, [](int k) { return k; }, 130 * kMs));
  ASSERT_FALSE(late.pts.empty());
  EXPECT_EQ(late.pts.front(), 200 * kMs);
}

TEST(VideoFeaturizer, RowEqualsEmbeddingOfItsClip) {
  const auto img = images(50);
  const Windows w = run_video(options(400 * kMs, 2), img, frames_at(25, 2, [](int k) { return k; }));
  ASSERT_EQ(w.rows.size(), 3u);  // 0.0, 0.4, 0.8 s

  // Clip 1 = model frames 10 .. 34 = input frames 10 .. 34, laid out 3 x T x H x W.
  const auto& cfg = tiny_model()->config();
  FramePreprocessor prep(cfg.video);
  const int hw = 32 * 32, T = 25;
  std::vector<float> plane(prep.output_size()), clip(3 * T * hw);
  for (int t = 0; t < T; ++t) {
    prep.process(img[10 + t].view(), plane.data());
    for (int c = 0; c < 3; ++c) std::memcpy(&clip[(c * T + t) * hw], &plane[c * hw], hw * sizeof(float));
  }
  std::vector<float> expected(16);
  tiny_model()->embed(Modality::Video, clip.data(), 1, "embedding", expected.data());
  for (int j = 0; j < 16; ++j) EXPECT_NEAR(w.rows[1][j], expected[j], 1e-5f);
}

TEST(VideoFeaturizer, FramesArePickedByTimestampNotByIndex) {
  const auto img = images(90);
  const auto opts = options(200 * kMs, 3);

  // 50 fps with every frame shown twice = the same 25 fps video.
  const Windows at25 = run_video(opts, img, frames_at(25, 2, [](int k) { return k; }));
  const Windows at50 = run_video(opts, img, frames_at(50, 2, [](int k) { return k / 2; }));
  expect_near_rows(at25, at50, 0.0f);

  // 30 fps: model frame m (at 40 m ms) shows the latest frame at or before it, k = floor(1.2 m).
  const auto at30_frames = frames_at(30, 2.5, [](int k) { return k; });
  const Windows at30 = run_video(opts, img, at30_frames);
  std::vector<Frame> resampled;
  for (int m = 0; m < 62; ++m) resampled.push_back({m * 40 * kMs, (m * 6) / 5});
  const Windows expected = run_video(opts, img, resampled);
  ASSERT_GE(at30.rows.size(), 8u);
  ASSERT_EQ(at30.rows.size(), expected.rows.size());
  expect_near_rows(at30, expected, 0.0f);
  // Picking by index would give other rows.
  const Windows by_index = run_video(opts, img, frames_at(25, 2.5, [](int k) { return k; }));
  EXPECT_NE(at30.rows[2], by_index.rows[2]);
}

TEST(VideoFeaturizer, BatchSizeDoesNotChangeTheRows) {
  const auto img = images(50);
  const auto frames = frames_at(25, 2, [](int k) { return k; });
  expect_near_rows(run_video(options(120 * kMs, 1), img, frames), run_video(options(120 * kMs, 4), img, frames), 1e-5f);
}

TEST(VideoFeaturizer, GapsHoldTheFrameBigGapsStartANewGrid) {
  const auto img = images(100);
  const auto opts = options(200 * kMs, 4);

  // A 500 ms hole holds the frame before it: same as that frame repeated.
  std::vector<Frame> holey, held;
  for (int k = 0; k < 75; ++k) {
    if (k < 30 || k >= 42) holey.push_back({k * 40 * kMs, k});
    held.push_back({k * 40 * kMs, k < 30 || k >= 42 ? k : 29});
  }
  const Windows a = run_video(opts, img, holey), b = run_video(opts, img, held);
  expect_near_rows(a, b, 0.0f);
  for (size_t i = 1; i < a.discont.size(); ++i) EXPECT_FALSE(a.discont[i]);

  // More than 1 s forward, or back in time: a new grid, discont.
  std::vector<Frame> jumps = frames_at(25, 1.2, [](int k) { return k; });
  for (const Frame& f : frames_at(
           25, 1.2, [](int k) { return k; }, 2'600 * kMs))
    jumps.push_back(f);
  for (const Frame& f : frames_at(
           25, 1.2, [](int k) { return k; }, 200 * kMs))
    jumps.push_back(f);
  const Windows w = run_video(opts, img, jumps);
  // Each 1.2 s run holds clips at its start + 0 and + 200 ms.
  const std::vector<int64_t> pts = {0, 200 * kMs, 2'600 * kMs, 2'800 * kMs, 200 * kMs, 400 * kMs};
  EXPECT_EQ(w.pts, pts);
  const std::vector<bool> discont = {true, false, true, false, true, false};
  EXPECT_EQ(w.discont, discont);
}

TEST(VideoFeaturizer, ResetForgetsPendingFrames) {
  const auto img = images(50);
  const auto frames = frames_at(25, 2, [](int k) { return k; });
  VideoFeaturizer f(tiny_model(), options(200 * kMs, 4));
  std::vector<FeatureRows> out;
  for (int k = 0; k < 30; ++k) f.push(k * 40 * kMs + 7 * kMs, img[(k * 7) % 50].view(), out);
  f.reset();
  out.clear();
  for (const Frame& fr : frames) f.push(fr.pts, img[fr.content].view(), out);
  f.drain(out);
  Windows w;
  w.add(out);
  expect_near_rows(run_video(options(200 * kMs, 4), img, frames), w, 0.0f);
}

TEST(VideoFeaturizer, LayersAndBadOptions) {
  const auto img = images(30);
  const auto frames = frames_at(25, 1.2, [](int k) { return k; });
  for (const std::string& layer : {std::string("layer1"), std::string("layer4")}) {
    const Windows w = run_video(options(200 * kMs, 2, layer), img, frames);
    ASSERT_FALSE(w.rows.empty());
    EXPECT_EQ(static_cast<int>(w.rows[0].size()), tiny_model()->dim(Modality::Video, layer));
  }
  EXPECT_NE(tiny_model()->dim(Modality::Video, "layer1"), tiny_model()->dim(Modality::Video, "layer4"));

  for (int64_t hop : {int64_t{0}, -200 * kMs, 30 * kMs, 100 * kMs, 200 * kMs + 1}) {
    EXPECT_THROW(VideoFeaturizer(tiny_model(), options(hop)), Error) << hop;
  }
  EXPECT_THROW(VideoFeaturizer(tiny_model(), options(200 * kMs, 4, "layer9")), Error);
  EXPECT_THROW(VideoFeaturizer(tiny_model(), options(200 * kMs, -1)), Error);
  EXPECT_NO_THROW(VideoFeaturizer(tiny_model(), options(40 * kMs, 1)));
  VideoFeaturizer f(tiny_model(), options(200 * kMs));
  std::vector<FeatureRows> out;
  EXPECT_THROW(f.push(0, RgbImage{}, out), Error);
}

}  // namespace
