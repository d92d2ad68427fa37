// Training media: video resampled to the model's rate by PTS, audio and video on one time
// axis, clips cut as the inference front end cuts them (centre crop), and the augmentations
// (random crop, flip, exact audio gain).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "avts/error.h"
#include "avts/featurizer.h"
#include "avts/logmel.h"
#include "avts/model.h"
#include "avts/video_prep.h"
#include "train_fixtures.h"

using namespace avts;
using namespace avts::train;
using avts::test::tiny_train_config;

namespace {

constexpr int64_t kMs = 1'000'000;

// A 48 x 36 frame filled with `value` (36 = the tiny config's resize: stored unscaled).
std::vector<uint8_t> flat_frame(uint8_t value) { return std::vector<uint8_t>(48 * 36 * 3, value); }

void push_frame(TrainingFile& f, int64_t pts, uint8_t value, int64_t duration = -1) {
  const auto rgb = flat_frame(value);
  f.push_video(pts, RgbImage{rgb.data(), 48, 36, 48 * 3}, duration);
}

std::vector<float> tone(int n, float amplitude) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = amplitude * std::sin(0.3f * i) + 0.01f * std::cos(0.07f * i);
  return x;
}

}  // namespace

TEST(TrainClips, VideoIsResampledByPts) {
  const ModelConfig c = tiny_train_config();
  TrainingFile file(c, "f");
  // 30 fps input, frame k filled with k: model frame j (at j * 40 ms) shows the latest input
  // frame at or before it, floor(j * 40 / 33.33).
  for (int k = 0; k < 60; ++k)
    push_frame(file, static_cast<int64_t>(std::llround(k * 1e9 / 30)), static_cast<uint8_t>(k));
  const std::vector<float> audio(32000, 0.0f);
  file.push_audio(0, audio.data(), audio.size());
  const auto stored = store(std::move(file), c);
  ASSERT_EQ(stored->video_frames(), 50);  // 2 s: the last frame lasts one input period
  for (int j = 0; j < 50; ++j) EXPECT_EQ(stored->video[j][0][0][0].item<int>(), j * 40 * 30 / 1000) << j;
}

TEST(TrainClips, JitteredPtsStillPickTheFrameOfItsTime) {
  const ModelConfig c = tiny_train_config();
  TrainingFile file(c, "f");
  // 25 fps with PTS rounded to 1 ms and up to 1 ms late.
  for (int k = 0; k < 50; ++k) push_frame(file, k * 40 * kMs + (k % 2) * kMs, static_cast<uint8_t>(k));
  const std::vector<float> audio(32000, 0.0f);
  file.push_audio(0, audio.data(), audio.size());
  const auto stored = store(std::move(file), c);
  // The last frame (1961 ms) lasts as long as the spacing before it, 41 ms: to 2002 ms.
  ASSERT_EQ(stored->video_frames(), 51);
  EXPECT_EQ(stored->video[50][0][0][0].item<int>(), 49);
  for (int j = 0; j < 50; ++j) EXPECT_EQ(stored->video[j][0][0][0].item<int>(), j);
}

TEST(TrainClips, AudioAndVideoShareTheTimeAxis) {
  const ModelConfig c = tiny_train_config();
  TrainingFile file(c, "f");
  for (int k = 0; k < 75; ++k) push_frame(file, k * 40 * kMs, static_cast<uint8_t>(k));
  // Audio from 100 ms, silent but for a tone from 1.0 s on.
  std::vector<float> audio(16000 * 3, 0.0f);
  const auto burst = tone(16000, 0.5f);
  std::copy(burst.begin(), burst.end(), audio.begin() + (16000 - 1600));
  file.push_audio(100 * kMs, audio.data(), audio.size());
  const auto stored = store(std::move(file), c);
  // The common start is the first model frame at or after the audio: 120 ms, frame 3.
  EXPECT_EQ(stored->video[0][0][0][0].item<int>(), 3);
  EXPECT_EQ(stored->video_frames(), 72);
  // The tone starts 880 ms after that: log-mel frame 88 is the first wholly inside it.
  const torch::Tensor energy = std::get<0>(stored->logmel.max(1));  // the loudest band
  EXPECT_LT(energy[85].item<float>(), -10.0f);
  EXPECT_GT(energy[88].item<float>(), energy[85].item<float>() + 10.0f);
  // And the audio under video frame j starts at log-mel frame 4 j.
  EXPECT_EQ(stored->audio_start(22), 88);
}

TEST(TrainClips, AudioGapsAreFilledAndOverlapsDropped) {
  const ModelConfig c = tiny_train_config();
  TrainingFile file(c, "f");
  const auto a = tone(8000, 0.5f);
  file.push_audio(0, a.data(), a.size());
  file.push_audio(600 * kMs, a.data(), a.size());  // 100 ms gap
  file.push_audio(1000 * kMs, a.data(), 100);      // 100 ms overlap: all 100 samples dropped
  EXPECT_DOUBLE_EQ(file.audio_seconds(), 1.1);
}

namespace {

// A 3 s file as GStreamer's MPEG-PS demuxer stamps GRID's clips: continuous content, with the
// clock jumping `audio_jump` ms forward at 1.75 s in the audio and `video_jump` ms at 1.88 s
// in the video. Video frame k shows value k; the audio is silent but for a tone from 2.4 s.
TrainingFile jumping_file(const ModelConfig& c, int64_t audio_jump_ms, int64_t video_jump_ms) {
  TrainingFile file(c, "f");
  std::vector<float> audio(16000 * 3, 0.0f);
  const auto burst = tone(16000 * 3 / 5, 0.5f);
  std::copy(burst.begin(), burst.end(), audio.begin() + 16000 * 12 / 5);
  int sent = 0;
  for (int k = 0; k < 75; ++k) {
    push_frame(file, k * 40 * kMs + (k >= 47 ? video_jump_ms * kMs : 0), static_cast<uint8_t>(k));
    for (; sent < (k + 1) * 640; sent += 1000) {  // 62.5 ms chunks, interleaved with the frames
      const int64_t content = sent * kMs / 16;
      file.push_audio(content + (sent >= 28000 ? audio_jump_ms * kMs : 0), audio.data() + sent, 1000);
    }
  }
  return file;
}

}  // namespace

TEST(TrainClips, ClockJumpInBothStreamsIsClosed) {
  const ModelConfig c = tiny_train_config();
  const auto stored = store(jumping_file(c, 236, 236), c);
  // Every frame once, none held over the jump.
  ASSERT_EQ(stored->video_frames(), 75);
  for (int j = 0; j < 75; ++j) EXPECT_EQ(stored->video[j][0][0][0].item<int>(), j) << j;
  // The tone (content 2.4 s) under video frame 60 (content 2.4 s): the jump's 236 ms come out
  // of the audio as the video's six whole frames, 240 ms, so the audio is 4 ms early here.
  EXPECT_EQ(stored->audio_start(60), 240);
  const torch::Tensor energy = std::get<0>(stored->logmel.max(1));
  EXPECT_LT(energy[237].item<float>(), -10.0f);
  EXPECT_GT(energy[240].item<float>(), energy[237].item<float>() + 10.0f);
  EXPECT_GE(stored->audio_frames(), 296);
}

TEST(TrainClips, JumpsThatDoNotMatchStayFilled) {
  const ModelConfig c = tiny_train_config();
  // The video alone jumps: its frames are held over the gap, the audio runs on.
  const auto video_only = store(jumping_file(c, 0, 236), c);
  ASSERT_EQ(video_only->video_frames(), 81);
  EXPECT_EQ(video_only->video[52][0][0][0].item<int>(), 46);
  EXPECT_EQ(video_only->video[53][0][0][0].item<int>(), 47);
  // Jumps of different sizes are two gaps, each filled.
  const auto different = store(jumping_file(c, 120, 236), c);
  EXPECT_EQ(different->video_frames(), 81);
  const torch::Tensor energy = std::get<0>(different->logmel.max(1));
  EXPECT_LT(energy[249].item<float>(), -10.0f);  // the tone, 120 ms later than the content
  EXPECT_GT(energy[252].item<float>(), energy[249].item<float>() + 10.0f);
}

TEST(TrainClips, MissingStreamsAreErrors) {
  const ModelConfig c = tiny_train_config();
  TrainingFile no_audio(c, "silent-film");
  push_frame(no_audio, 0, 1);
  EXPECT_THROW(store(std::move(no_audio), c), Error);
  TrainingFile no_video(c, "radio");
  const auto a = tone(16000, 0.5f);
  no_video.push_audio(0, a.data(), a.size());
  try {
    store(std::move(no_video), c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'radio' has no video"), std::string::npos) << e.what();
  }
}

TEST(TrainClips, CentreClipMatchesTheInferenceFrontEnd) {
  const ModelConfig c = tiny_train_config();
  TrainingFile file(c, "f");
  std::vector<std::vector<uint8_t>> frames;
  for (int k = 0; k < 30; ++k) {
    std::vector<uint8_t> rgb(48 * 36 * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 7 + k * 13) % 251);
    file.push_video(k * 40 * kMs, RgbImage{rgb.data(), 48, 36, 48 * 3});
    frames.push_back(std::move(rgb));
  }
  const std::vector<float> audio(32000, 0.0f);
  file.push_audio(0, audio.data(), audio.size());
  const auto stored = store(std::move(file), c);

  const torch::Tensor clip = video_clip(*stored, centre_cut(*stored, 2, c.video.crop), c.video);
  ASSERT_EQ(clip.sizes(), (std::vector<int64_t>{3, 25, 32, 32}));
  FramePreprocessor prep(c.video);
  std::vector<float> plane(prep.output_size());
  for (int t = 0; t < 25; ++t) {
    prep.process(RgbImage{frames[t + 2].data(), 48, 36, 48 * 3}, plane.data());
    const torch::Tensor expected = torch::from_blob(plane.data(), {3, 32, 32});
    ASSERT_TRUE(torch::allclose(clip.select(1, t), expected, 1e-5, 1e-5)) << "frame " << t;
  }
  // Flipped: the same pixels mirrored.
  VideoCut cut = centre_cut(*stored, 2, c.video.crop);
  cut.flip = true;
  EXPECT_TRUE(torch::equal(video_clip(*stored, cut, c.video), clip.flip({3})));
}

// One media timeline: a file decoded at 30 fps with jittered timestamps and a dropped frame,
// its audio starting late, gives the trainer the very windows the featurizers embed at
// inference, video and audio, at every window start.
TEST(TrainClips, TrainerAndFeaturizersSeeTheSameWindows) {
  Model::set_threads(1);
  ModelConfig c = tiny_train_config();
  c.clip_seconds = 0.2;
  const auto model = Model::create(c, 7);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> pixel(0, 255), jitter_us(-900, 900);
  std::normal_distribution<float> sample(0.0f, 0.3f);

  TrainingFile file(c, "f");
  FeaturizerOptions o;
  o.hop_ns = 40 * kMs;
  VideoFeaturizer video_features(model, o);
  AudioFeaturizer audio_features(model, o);
  std::vector<FeatureRows> video_rows, audio_rows;
  for (int k = 0; k < 60; ++k) {
    if (k == 31) continue;  // dropped: the frame before it is held
    std::vector<uint8_t> rgb(48 * 36 * 3);
    for (uint8_t& v : rgb) v = static_cast<uint8_t>(pixel(rng));
    const int64_t pts = std::llround(k * 1e9 / 30) + jitter_us(rng) * 1000;
    const RgbImage image{rgb.data(), 48, 36, 48 * 3};
    file.push_video(pts, image);
    video_features.push(pts, image, video_rows);
  }
  std::vector<float> audio(16000 * 2);
  for (float& v : audio) v = sample(rng);
  const int64_t audio_pts = 12'500'000;  // 12.5 ms after the video: both start at the next grid point
  file.push_audio(audio_pts, audio.data(), audio.size());
  audio_features.push(audio_pts, audio.data(), audio.size(), audio_rows);
  video_features.drain(video_rows);
  audio_features.drain(audio_rows);
  const auto stored = store(std::move(file), c);

  // Rows by window start.
  auto by_time = [](const std::vector<FeatureRows>& rows) {
    std::map<int64_t, std::vector<float>> m;
    for (const FeatureRows& r : rows)
      for (int i = 0; i < r.n; ++i)
        m[r.pts_ns + i * r.hop_ns].assign(r.data.begin() + static_cast<size_t>(i) * r.dim,
                                          r.data.begin() + static_cast<size_t>(i + 1) * r.dim);
    return m;
  };
  const auto video_at = by_time(video_rows), audio_at = by_time(audio_rows);
  // The stored file starts at the common start, 40 ms: video frame j there is at 40 ms + j x 40 ms.
  const int64_t origin = 40 * kMs;
  int compared = 0;
  std::vector<float> got(16);
  for (int64_t j = 0; j < stored->clip_starts(); ++j) {
    const int64_t t = origin + j * 40 * kMs;
    ASSERT_TRUE(video_at.count(t) && audio_at.count(t)) << "no featurizer window at " << t;
    const torch::Tensor v = video_clip(*stored, centre_cut(*stored, j, c.video.crop), c.video).contiguous();
    model->embed(Modality::Video, v.data_ptr<float>(), 1, "embedding", got.data());
    for (int d = 0; d < 16; ++d) ASSERT_NEAR(got[d], video_at.at(t)[d], 1e-4f) << "video window at " << t;
    const torch::Tensor a = audio_clip(*stored, stored->audio_start(j), 0.0, c.audio.log_offset).contiguous();
    model->embed(Modality::Audio, a.data_ptr<float>(), 1, "embedding", got.data());
    for (int d = 0; d < 16; ++d) ASSERT_NEAR(got[d], audio_at.at(t)[d], 1e-4f) << "audio window at " << t;
    ++compared;
  }
  EXPECT_GE(compared, 40);
}

TEST(TrainClips, LargerFramesAreResizedAsTheInferenceFrontEndResizes) {
  const ModelConfig c = tiny_train_config();
  TrainingFile file(c, "f");
  // 100 x 75 frames with a gradient and a sharp edge; stored with the short side at 36.
  std::vector<uint8_t> rgb(100 * 75 * 3);
  for (int y = 0; y < 75; ++y)
    for (int x = 0; x < 100; ++x)
      for (int ch = 0; ch < 3; ++ch) rgb[(y * 100 + x) * 3 + ch] = static_cast<uint8_t>(x < 50 ? 2 * x + ch : 250 - y);
  for (int k = 0; k < 25; ++k) file.push_video(k * 40 * kMs, RgbImage{rgb.data(), 100, 75, 300});
  const std::vector<float> audio(16000, 0.0f);
  file.push_audio(0, audio.data(), audio.size());
  const auto stored = store(std::move(file), c);
  ASSERT_EQ(stored->video.sizes(), (std::vector<int64_t>{25, 36, 48, 3}));  // 100 * 36 / 75 = 48

  FramePreprocessor prep(c.video);
  std::vector<float> plane(prep.output_size());
  prep.process(RgbImage{rgb.data(), 100, 75, 300}, plane.data());
  const torch::Tensor expected = torch::from_blob(plane.data(), {3, 32, 32});
  const torch::Tensor clip = video_clip(*stored, centre_cut(*stored, 0, c.video.crop), c.video).select(1, 0);
  // Stored frames are 8-bit: half a level of rounding, 0.5 / 255 / std = 0.009 after normalising.
  EXPECT_LT((clip - expected).abs().max().item<float>(), 0.012f);
}

// With a region, the stored frames are that part of the picture, as the inference front end sees it.
TEST(TrainClips, RegionIsCutAsTheInferenceFrontEndCutsIt) {
  ModelConfig c = tiny_train_config();
  c.video.region = {0.25, 0.5, 0.5, 0.5};
  TrainingFile file(c, "f");
  std::vector<uint8_t> rgb(160 * 120 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 7) % 251);
  for (int k = 0; k < 25; ++k) file.push_video(k * 40 * kMs, RgbImage{rgb.data(), 160, 120, 480});
  const std::vector<float> audio(16000, 0.0f);
  file.push_audio(0, audio.data(), audio.size());
  const auto stored = store(std::move(file), c);
  ASSERT_EQ(stored->video.sizes(), (std::vector<int64_t>{25, 36, 48, 3}));  // the 80 x 60 region, short side 36

  FramePreprocessor prep(c.video);
  std::vector<float> plane(prep.output_size());
  prep.process(RgbImage{rgb.data(), 160, 120, 480}, plane.data());
  const torch::Tensor expected = torch::from_blob(plane.data(), {3, 32, 32});
  const torch::Tensor clip = video_clip(*stored, centre_cut(*stored, 0, c.video.crop), c.video).select(1, 0);
  EXPECT_LT((clip - expected).abs().max().item<float>(), 0.012f);  // 8-bit storage, as above

  // A file prepared for another region is refused.
  ModelConfig other = c;
  other.video.region = {0, 0, 1, 1};
  TrainingFile again(other, "g");
  again.push_video(0, RgbImage{rgb.data(), 160, 120, 480});
  again.push_audio(0, audio.data(), audio.size());
  EXPECT_THROW(store(std::move(again), c), avts::Error);
}

// A frame's own region (a face's mouth, from the faces on the frames) is cut as if it were the
// model's region, and as the inference front end cuts it for that frame.
TEST(TrainClips, AFramesOwnRegionIsCutAsIfItWereTheModels) {
  ModelConfig c = tiny_train_config();
  c.video.region = {0.25, 0.5, 0.5, 0.5};
  std::vector<uint8_t> rgb(160 * 120 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 7) % 251);
  const FrameRegion mouth{0.4, 0.3, 0.45, 0.6};  // 72 x 72 pixels: a square, as mouth_region makes
  ModelConfig at_mouth = c;
  at_mouth.video.region = mouth;
  const std::vector<float> audio(16000, 0.0f);
  const auto stored_with = [&](const ModelConfig& config, const FrameRegion* region) {
    TrainingFile file(config, "f");
    for (int k = 0; k < 25; ++k) file.push_video(k * 40 * kMs, RgbImage{rgb.data(), 160, 120, 480}, -1, region);
    file.push_audio(0, audio.data(), audio.size());
    return store(std::move(file), config);
  };
  const auto framed = stored_with(c, &mouth);
  ASSERT_EQ(framed->video.sizes(), (std::vector<int64_t>{25, 36, 36, 3}));
  EXPECT_TRUE(framed->video.equal(stored_with(at_mouth, nullptr)->video));
}

// The stored frames are what torch's antialiased bilinear resize (torchvision's Resize) makes of
// the region, to one level of rounding: the trainer computes them with the front end's taps.
TEST(TrainClips, StoredFramesAreTorchsAntialiasedResize) {
  ModelConfig c = tiny_train_config();
  c.video.region = {0.1, 0.3, 0.7, 0.6};
  TrainingFile file(c, "f");
  const int w = 203, h = 151, stride = 3 * w + 5;  // odd sizes, padded rows
  std::vector<uint8_t> rgb(static_cast<size_t>(stride) * h);
  std::mt19937 rng(3);
  for (auto& v : rgb) v = static_cast<uint8_t>(rng());
  for (int k = 0; k < 25; ++k) file.push_video(k * 40 * kMs, RgbImage{rgb.data(), w, h, stride});
  const std::vector<float> audio(16000, 0.0f);
  file.push_audio(0, audio.data(), audio.size());
  const auto stored = store(std::move(file), c);

  // The region in pixels: x 20..162, y 45..136 (142 x 91), short side to 36: 56 x 36.
  const torch::Tensor frame = torch::from_blob(rgb.data(), {h, w, 3}, {stride, 3, 1}, torch::kUInt8);
  const torch::Tensor region =
      frame.slice(0, 45, 136).slice(1, 20, 162).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
  const torch::Tensor expected =
      torch::nn::functional::interpolate(region, torch::nn::functional::InterpolateFuncOptions()
                                                     .size(std::vector<int64_t>{36, 56})
                                                     .mode(torch::kBilinear)
                                                     .align_corners(false)
                                                     .antialias(true))
          .round()
          .clamp(0, 255)
          .squeeze(0)
          .permute({1, 2, 0});
  ASSERT_EQ(stored->video.sizes(), (std::vector<int64_t>{25, 36, 56, 3}));
  const torch::Tensor got = stored->video[0].to(torch::kFloat32);
  EXPECT_LE((got - expected).abs().max().item<float>(), 1.0f);
  EXPECT_GT(torch::eq(got, expected).to(torch::kFloat32).mean().item<float>(), 0.99f);
}

TEST(TrainClips, RandomCropsStayInsideTheFrame) {
  const auto f = avts::test::stored_file("f", 30, 200);  // 48 x 36 frames, crop 32
  Rng rng(1);
  std::set<int64_t> ys, xs;
  int flips = 0;
  for (int i = 0; i < 2000; ++i) {
    const VideoCut cut = random_cut(*f, 3, 32, CutAugmentation{true}, rng);
    ys.insert(cut.y);
    xs.insert(cut.x);
    flips += cut.flip;
    EXPECT_EQ(cut.start, 3);
  }
  EXPECT_EQ(ys.size(), 5u);   // 0..4
  EXPECT_EQ(xs.size(), 17u);  // 0..16
  EXPECT_EQ(*ys.rbegin(), 4);
  EXPECT_EQ(*xs.rbegin(), 16);
  EXPECT_NEAR(flips, 1000, 120);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(random_cut(*f, 3, 32, CutAugmentation{}, rng).flip);
}

TEST(TrainClips, ZoomedCutsScaleASmallerSquareUpToTheCrop) {
  auto file = std::make_shared<StoredFile>(*avts::test::stored_file("f", 30, 200));  // 48 x 36, crop 32
  // A horizontal ramp: each pixel holds 4 x its column, so a cut's columns tell where it came from.
  file->video = (torch::arange(48) * 4).view({1, 1, 48, 1}).expand_as(file->video).to(torch::kUInt8).contiguous();
  Rng rng(1);
  int64_t smallest = 32, largest = 0;
  for (int i = 0; i < 500; ++i) {
    const VideoCut cut = random_cut(*file, 3, 32, CutAugmentation{false, 2.0}, rng);
    ASSERT_GE(cut.side, 16);
    ASSERT_LE(cut.side, 32);
    ASSERT_LE(cut.y + cut.side, 36);
    ASSERT_LE(cut.x + cut.side, 48);
    smallest = std::min(smallest, cut.side);
    largest = std::max(largest, cut.side);
    const torch::Tensor x = video_cut(*file, cut, 32).to(torch::kFloat32);
    ASSERT_EQ(x.sizes(), (std::vector<int64_t>{file->video_clip, 32, 32, 3}));
    // The scaled ramp spans the cut's columns (bilinear: within one source column at the ends).
    EXPECT_NEAR(x[0][0][0][0].item<float>(), 4.0f * cut.x, 4.0f);
    EXPECT_NEAR(x[0][0][31][0].item<float>(), 4.0f * (cut.x + cut.side - 1), 4.0f);
  }
  EXPECT_LE(smallest, 17);  // the whole range is drawn
  EXPECT_GE(largest, 31);
  // Without zoom, the square is the crop itself.
  EXPECT_EQ(random_cut(*file, 3, 32, CutAugmentation{}, rng).side, 32);
}

TEST(TrainClips, DriftingCutsMoveEveryFrameAndStayInside) {
  ModelConfig c = tiny_train_config();
  c.clip_seconds = 0.2;                                                                    // 5 frames: 4 moves
  auto file = std::make_shared<StoredFile>(*avts::test::stored_file("f", 30, 200, 0, c));  // 48 x 36, crop 32
  file->video = (torch::arange(48) * 4).view({1, 1, 48, 1}).expand_as(file->video).to(torch::kUInt8).contiguous();
  Rng rng(1);
  std::set<int64_t> drifts;
  for (int i = 0; i < 500; ++i) {
    const VideoCut cut = random_cut(*file, 3, 32, CutAugmentation{false, 1.0, 3}, rng);
    const int64_t last = file->video_clip - 1;
    // 36 - 32 = 4 rows of room over 4 moves: at most 1 row per frame; 16 columns: at most 3 (the asked) per frame.
    ASSERT_LE(std::abs(cut.dy), 1);
    ASSERT_LE(std::abs(cut.dx), 3);
    for (int64_t t : {int64_t{0}, last}) {
      ASSERT_GE(cut.y + t * cut.dy, 0);
      ASSERT_LE(cut.y + t * cut.dy + 32, 36);
      ASSERT_GE(cut.x + t * cut.dx, 0);
      ASSERT_LE(cut.x + t * cut.dx + 32, 48);
    }
    drifts.insert(cut.dx);
    const torch::Tensor x = video_cut(*file, cut, 32);
    for (int64_t t = 0; t <= last; ++t) EXPECT_EQ(x[t][0][0][0].item<int>(), 4 * (cut.x + t * cut.dx));
  }
  EXPECT_EQ(drifts.size(), 7u);  // -3..3
}

TEST(TrainClips, BlurKeepsFlatAreasAndSoftensEdges) {
  // Two frames, 16 x 16, three channels: left half 0, right half 200.
  torch::Tensor cut = torch::zeros({2, 16, 16, 3}, torch::kUInt8);
  cut.narrow(2, 8, 8).fill_(200);
  EXPECT_TRUE(torch::equal(blur_cut(cut, 0.0), cut));
  const torch::Tensor b = blur_cut(cut, 1.5).to(torch::kInt32);
  ASSERT_EQ(b.sizes(), cut.sizes());
  EXPECT_EQ(b[1][5][0][2].item<int>(), 0);  // far from the edge, the border repeated: unchanged
  EXPECT_EQ(b[1][5][15][0].item<int>(), 200);
  // At the edge the step is spread over a few columns, the same in every row and channel.
  EXPECT_GT(b[0][3][7][1].item<int>(), 20);
  EXPECT_LT(b[0][3][8][1].item<int>(), 180);
  EXPECT_TRUE(torch::equal(b[0][3], b[1][12]));
  EXPECT_NEAR(b[0][3][7][0].item<int>() + b[0][3][8][0].item<int>(), 200, 1);  // symmetric about the edge
}

TEST(TrainClips, NoiseComesAtTheAskedSignalToNoiseRatio) {
  const double log_offset = 1e-6;
  // A flat clip of power 1 in every band and frame.
  const torch::Tensor clip = torch::full({1, 40, 100}, std::log(1.0 + log_offset));
  Rng rng(3);
  for (double snr : {0.0, 10.0, 20.0}) {
    const torch::Tensor noisy = add_noise(clip, snr, log_offset, rng);
    ASSERT_EQ(noisy.sizes(), clip.sizes());
    const double noise = ((torch::exp(noisy) - log_offset) - 1.0).mean().item<double>();
    EXPECT_NEAR(10 * std::log10(1.0 / noise), snr, 0.5) << snr;  // mean shape 1, mean fluctuation 1
    EXPECT_TRUE(torch::all(noisy >= clip).item<bool>());         // noise only adds power
  }
}

TEST(TrainClips, AudioGainIsExactOnTheLogMel) {
  ModelConfig c = tiny_train_config();
  const auto x = tone(16000 * 2, 0.2f);
  auto logmel_of = [&](float gain) {
    TrainingFile file(c, "f");
    std::vector<float> y(x);
    for (float& v : y) v *= gain;
    file.push_audio(0, y.data(), y.size());
    for (int k = 0; k < 50; ++k) push_frame(file, k * 40 * kMs, 0);
    return store(std::move(file), c);
  };
  const auto plain = logmel_of(1.0f), louder = logmel_of(2.0f);  // +6.02 dB
  const double db = 20 * std::log10(2.0);
  const torch::Tensor gained = audio_clip(*plain, 10, db, c.audio.log_offset);
  const torch::Tensor expected = audio_clip(*louder, 10, 0.0, c.audio.log_offset);
  ASSERT_EQ(gained.sizes(), (std::vector<int64_t>{1, 40, 100}));
  EXPECT_LT((gained - expected).abs().max().item<float>(), 2e-3f);
  // Mel-major: row m of the clip is band m over time.
  EXPECT_TRUE(torch::equal(audio_clip(*plain, 10, 0.0, c.audio.log_offset)[0][5],
                           plain->logmel.narrow(0, 10, 100).select(1, 5)));
}

TEST(TrainClips, FilesForAnotherFrontEndAreRefused) {
  ModelConfig other = tiny_train_config();
  other.audio.sample_rate = 22050;
  other.audio.f_max = 8000;
  TrainingFile file(other, "f");
  EXPECT_THROW(store(std::move(file), tiny_train_config()), Error);
}

TEST(TrainClips, ACopyStoresLikeTheOriginalAndOutlivesIt) {
  const ModelConfig c = tiny_train_config();
  TrainingFile file(c, "f", Split::Validation);
  for (int k = 0; k < 50; ++k) push_frame(file, k * 40 * kMs, static_cast<uint8_t>(3 * k));
  const auto audio = tone(32000, 0.4f);
  file.push_audio(0, audio.data(), audio.size());
  EXPECT_EQ(file.bytes(), 32000 * sizeof(float) + 49 * 48 * 36 * 3);  // the last frame is held until the end
  TrainingFile first = file.copy(), second = file.copy();
  EXPECT_EQ(first.id(), "f");
  EXPECT_EQ(first.split(), Split::Validation);
  const auto a = store(std::move(first), c);
  const auto original = store(std::move(file), c);  // storing consumes; the other copy is untouched
  const auto b = store(std::move(second), c);
  for (const auto& s : {a, b}) {
    EXPECT_TRUE(torch::equal(s->video, original->video));
    EXPECT_TRUE(torch::equal(s->logmel, original->logmel));
  }
}
