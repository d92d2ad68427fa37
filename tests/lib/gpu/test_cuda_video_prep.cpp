// The video front end on the GPU (gpu::VideoPrep) against the CPU one (FramePreprocessor):
// RGB and I420 frames of several sizes (down- and upscaling, odd sizes, padded rows), clip
// and frame layouts, float32 and float16 output. Skipped without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <random>
#include <vector>

#include "avts/error.h"
#include "avts/gpu.h"
#include "avts/video_prep.h"
#include "cuda_test_support.h"

using namespace avts;
using namespace avts::gpu;
using namespace avts::gpu::test;

namespace {

// `count` frames of random bytes, rows `stride` apart, one frame after another.
std::vector<uint8_t> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

// What the CPU front end makes of each frame, laid out as one clip (3 x T x crop x crop).
std::vector<float> cpu_clip(const VideoFrontEndConfig& c, const std::vector<RgbImage>& frames) {
  FramePreprocessor prep(c);
  const size_t plane = static_cast<size_t>(c.crop) * c.crop, t = frames.size();
  std::vector<float> one(prep.output_size()), clip(3 * t * plane);
  for (size_t f = 0; f < t; ++f) {
    prep.process(frames[f], one.data());
    for (size_t ch = 0; ch < 3; ++ch) std::memcpy(&clip[(ch * t + f) * plane], &one[ch * plane], plane * sizeof(float));
  }
  return clip;
}

// The GPU front end on `count` RGB frames of width x height with rows `stride` apart, as a clip.
std::vector<float> gpu_rgb_clip(const VideoFrontEndConfig& c, const std::vector<uint8_t>& bytes, int width, int height,
                                int stride, int count) {
  const size_t plane = static_cast<size_t>(c.crop) * c.crop;
  Buffer in = to_device(bytes);
  Buffer out(Buffer::Kind::Device, 3 * count * plane * sizeof(float));
  VideoPrep prep(c);
  prep.rgb(in.as<uint8_t>(), width, height, stride, static_cast<size_t>(stride) * height, count,
           {out.data(), Element::Float32, plane, count * plane});
  synchronize();
  return to_host<float>(out);
}

struct Size {
  int width, height, padding;
};

// Random frames of each size through the CUDA front end and the CPU one, frame by frame.
void expect_rgb_matches_the_cpu(const VideoFrontEndConfig& c, std::initializer_list<Size> sizes, int count) {
  for (const Size s : sizes) {
    const int stride = 3 * s.width + s.padding;
    const std::vector<uint8_t> bytes = random_bytes(static_cast<size_t>(stride) * s.height * count, s.width);
    std::vector<RgbImage> frames;
    for (int f = 0; f < count; ++f)
      frames.push_back({bytes.data() + static_cast<size_t>(f) * stride * s.height, s.width, s.height, stride});
    const double d = max_difference(gpu_rgb_clip(c, bytes, s.width, s.height, stride, count), cpu_clip(c, frames));
    EXPECT_LT(d, 1e-5) << s.width << "x" << s.height;
  }
}

}  // namespace

TEST(CudaVideoPrep, RgbMatchesTheCpuFrontEnd) {
  AVTS_REQUIRE_GPU();
  // resize 128, crop 112. Landscape and portrait downscaling, a square, upscaling (short side
  // below 128), odd sizes, padded rows, and a strong downscale with many taps.
  expect_rgb_matches_the_cpu(VideoFrontEndConfig{},
                             {Size{360, 288, 0}, Size{288, 360, 5}, Size{256, 256, 0}, Size{121, 97, 3},
                              Size{641, 359, 1}, Size{1920, 1080, 0}},
                             3);
}

TEST(CudaVideoPrep, RegionMatchesTheCpuFrontEnd) {
  AVTS_REQUIRE_GPU();
  VideoFrontEndConfig c;
  c.resize = 72;
  c.crop = 64;
  c.region = {0.2, 0.45, 0.6, 0.5};
  expect_rgb_matches_the_cpu(c, {Size{360, 288, 0}, Size{256, 256, 3}, Size{1280, 720, 0}}, 2);
}

TEST(CudaVideoPrep, FrameLayoutAndFloat16) {
  AVTS_REQUIRE_GPU();
  VideoFrontEndConfig c;
  c.resize = 72;
  c.crop = 64;
  const int w = 160, h = 120, count = 4;
  const size_t plane = static_cast<size_t>(c.crop) * c.crop;
  const std::vector<uint8_t> bytes = random_bytes(static_cast<size_t>(3 * w) * h * count, 7);
  Buffer in = to_device(bytes);
  // Frames one after another (T x 3 x crop x crop), in float16.
  Buffer out(Buffer::Kind::Device, count * 3 * plane * 2);
  VideoPrep prep(c);
  prep.rgb(in.as<uint8_t>(), w, h, 3 * w, 3 * w * h, count, {out.data(), Element::Float16, 3 * plane, plane});
  synchronize();
  const std::vector<uint16_t> half = to_host<uint16_t>(out);

  FramePreprocessor cpu(c);
  std::vector<float> expected(cpu.output_size());
  double worst = 0;
  for (int f = 0; f < count; ++f) {
    cpu.process({bytes.data() + static_cast<size_t>(f) * 3 * w * h, w, h, 3 * w}, expected.data());
    for (size_t i = 0; i < expected.size(); ++i) {
      // float16 -> float: sign, 5-bit exponent, 10-bit mantissa (the values here are normal)
      const uint16_t bits = half[f * 3 * plane + i];
      const int exponent = (bits >> 10) & 0x1f;
      const float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(bits & 0x3ff), -24)
                                            : std::ldexp(1.0f + (bits & 0x3ff) / 1024.0f, exponent - 15);
      const float value = (bits & 0x8000) ? -magnitude : magnitude;
      worst = std::max(worst, std::abs(static_cast<double>(value) - expected[i]));
    }
  }
  EXPECT_LT(worst, 2e-3);  // half an ulp of float16 at |x| < 4
}

TEST(CudaVideoPrep, ChannelsLastLayout) {
  AVTS_REQUIRE_GPU();
  const VideoFrontEndConfig c;
  const int w = 200, h = 150, count = 3;
  const size_t plane = static_cast<size_t>(c.crop) * c.crop;
  const std::vector<uint8_t> bytes = random_bytes(static_cast<size_t>(3 * w) * h * count, 5);
  Buffer in = to_device(bytes);
  Buffer out(Buffer::Kind::Device, count * 3 * plane * sizeof(float));
  VideoPrep prep(c);
  prep.rgb(in.as<uint8_t>(), w, h, 3 * w, 3 * w * h, count, {out.data(), Element::Float32, 3 * plane, 1, 3});
  synchronize();
  const std::vector<float> got = to_host<float>(out);
  std::vector<float> expected(got.size());  // T x crop x crop x 3 from the CPU's planes
  FramePreprocessor cpu(c);
  std::vector<float> planes(cpu.output_size());
  for (int f = 0; f < count; ++f) {
    cpu.process({bytes.data() + static_cast<size_t>(f) * 3 * w * h, w, h, 3 * w}, planes.data());
    for (size_t i = 0; i < plane; ++i)
      for (int ch = 0; ch < 3; ++ch) expected[(f * plane + i) * 3 + ch] = planes[ch * plane + i];
  }
  EXPECT_LT(max_difference(got, expected), 1e-5);
}

TEST(CudaVideoPrep, I420MatchesConvertingThenTheCpuFrontEnd) {
  AVTS_REQUIRE_GPU();
  const VideoFrontEndConfig c;
  for (const YuvMatrix matrix : {YuvMatrix::Bt601, YuvMatrix::Bt709}) {
    const int w = 361, h = 289, cw = (w + 1) / 2, ch = (h + 1) / 2, count = 2;
    const size_t frame_bytes = static_cast<size_t>(w) * h + 2 * static_cast<size_t>(cw) * ch;
    const std::vector<uint8_t> bytes = random_bytes(frame_bytes * count, 11);
    auto frame = [&](const uint8_t* base) {
      I420Image f;
      f.y = base;
      f.u = base + static_cast<size_t>(w) * h;
      f.v = f.u + static_cast<size_t>(cw) * ch;
      f.width = w;
      f.height = h;
      f.y_stride = w;
      f.u_stride = f.v_stride = cw;
      return f;
    };
    std::vector<std::vector<uint8_t>> rgb(count, std::vector<uint8_t>(3 * static_cast<size_t>(w) * h));
    std::vector<RgbImage> frames;
    for (int f = 0; f < count; ++f) {
      i420_to_rgb(frame(bytes.data() + f * frame_bytes), matrix, rgb[f].data(), 3 * w);
      frames.push_back({rgb[f].data(), w, h, 3 * w});
    }
    const size_t plane = static_cast<size_t>(c.crop) * c.crop;
    Buffer in = to_device(bytes);
    Buffer out(Buffer::Kind::Device, 3 * count * plane * sizeof(float));
    VideoPrep prep(c);
    prep.i420(frame(in.as<uint8_t>()), frame_bytes, count, matrix,
              {out.data(), Element::Float32, plane, count * plane});
    synchronize();
    EXPECT_LT(max_difference(to_host<float>(out), cpu_clip(c, frames)), 1e-5)
        << (matrix == YuvMatrix::Bt601 ? "BT.601" : "BT.709");
  }
}

// Needs no GPU: the reference conversion on known colours.
TEST(CudaVideoPrep, I420ToRgbGivesTheStudioRangeColours) {
  struct Case {
    uint8_t y, u, v;
    uint8_t r, g, b;
  };
  for (const Case k :
       {Case{16, 128, 128, 0, 0, 0}, Case{235, 128, 128, 255, 255, 255}, Case{126, 128, 128, 128, 128, 128},
        Case{81, 90, 240, 255, 0, 0}, Case{41, 240, 110, 0, 0, 255}}) {
    const uint8_t y[4] = {k.y, k.y, k.y, k.y}, u[1] = {k.u}, v[1] = {k.v};
    I420Image image;
    image.y = y;
    image.u = u;
    image.v = v;
    image.width = image.height = 2;
    image.y_stride = 2;
    image.u_stride = image.v_stride = 1;
    uint8_t rgb[12];
    i420_to_rgb(image, YuvMatrix::Bt601, rgb, 6);
    for (int p = 0; p < 4; ++p) {
      EXPECT_NEAR(rgb[3 * p], k.r, 1) << int(k.y) << "," << int(k.u) << "," << int(k.v);
      EXPECT_NEAR(rgb[3 * p + 1], k.g, 1);
      EXPECT_NEAR(rgb[3 * p + 2], k.b, 1);
    }
  }
}

TEST(CudaVideoPrep, RejectsBadFrames) {
  VideoPrep prep(VideoFrontEndConfig{});  // needs no GPU: checked before anything runs
  const PlaneLayout out{reinterpret_cast<void*>(16), Element::Float32, 1, 1};
  EXPECT_THROW(prep.rgb(nullptr, 100, 100, 299, 30000, 1, out), Error);  // stride < 3 * width
  EXPECT_THROW(prep.rgb(nullptr, 0, 100, 300, 30000, 1, out), Error);    // empty
  VideoFrontEndConfig bad;
  bad.crop = 200;  // > resize
  EXPECT_THROW(VideoPrep{bad}, Error);
}
