#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <random>
#include <utility>
#include <vector>

#include "avts/config.h"
#include "avts/error.h"
#include "avts/video_prep.h"
#include "video_resample.h"

using avts::FramePreprocessor;
using avts::RgbImage;
using avts::VideoFrontEndConfig;

namespace {

// An owned packed RGB image; pixel(x, y) gives the colour, padding bytes are filled with `pad`.
struct TestImage {
  int width, height, stride;
  std::vector<uint8_t> bytes;

  TestImage(int w, int h, const std::function<std::array<uint8_t, 3>(int, int)>& pixel, int extra_stride = 0,
            uint8_t pad = 0)
      : width(w), height(h), stride(3 * w + extra_stride), bytes(static_cast<size_t>(stride) * h, pad) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const auto c = pixel(x, y);
        std::copy(c.begin(), c.end(), bytes.begin() + static_cast<size_t>(y) * stride + 3 * x);
      }
  }
  RgbImage view() const { return {bytes.data(), width, height, stride}; }
};

std::vector<float> prepare(const VideoFrontEndConfig& c, const TestImage& image) {
  FramePreprocessor p(c);
  std::vector<float> out(p.output_size(), NAN);
  p.process(image.view(), out.data());
  return out;
}

float normalised(const VideoFrontEndConfig& c, int channel, double value) {
  return static_cast<float>((value / 255.0 - c.mean[channel]) / c.std[channel]);
}

// Output value of channel c at (x, y) of the crop.
float at(const VideoFrontEndConfig& c, const std::vector<float>& out, int channel, int x, int y) {
  return out[(static_cast<size_t>(channel) * c.crop + y) * c.crop + x];
}

void expect_solid(const VideoFrontEndConfig& c, const std::vector<float>& out, std::array<uint8_t, 3> rgb) {
  for (int ch = 0; ch < 3; ++ch)
    for (int i = 0; i < c.crop * c.crop; ++i)
      ASSERT_NEAR(out[ch * c.crop * c.crop + i], normalised(c, ch, rgb[ch]), 1e-5) << "channel " << ch;
}

}  // namespace

TEST(VideoPrep, SolidColourGivesTheNormalisedConstant) {
  const VideoFrontEndConfig c;
  const std::array<uint8_t, 3> rgb{200, 100, 50};
  expect_solid(c, prepare(c, TestImage(360, 288, [&](int, int) { return rgb; })), rgb);
}

// At scale 1 (short side already `resize`) the crop must be the exact middle of the image:
// red encodes the column, green the row.
TEST(VideoPrep, CentreCropPicksTheMiddle) {
  const VideoFrontEndConfig c;  // resize 128, crop 112
  auto gradient = [](int x, int y) {
    return std::array<uint8_t, 3>{static_cast<uint8_t>(x % 256), static_cast<uint8_t>(y), 0};
  };
  // Landscape: the width stays 200, columns 44..155 and rows 8..119 are kept.
  std::vector<float> out = prepare(c, TestImage(200, 128, gradient));
  for (int i = 0; i < c.crop; ++i) {
    EXPECT_NEAR(at(c, out, 0, i, 0), normalised(c, 0, 44 + i), 1e-5);
    EXPECT_NEAR(at(c, out, 1, 0, i), normalised(c, 1, 8 + i), 1e-5);
  }
  // Portrait: 128 x 170, rows 29..140 are kept.
  out = prepare(c, TestImage(128, 170, gradient));
  EXPECT_NEAR(at(c, out, 0, 0, 0), normalised(c, 0, 8), 1e-5);
  EXPECT_NEAR(at(c, out, 1, 0, 0), normalised(c, 1, 29), 1e-5);
  EXPECT_NEAR(at(c, out, 1, 0, c.crop - 1), normalised(c, 1, 140), 1e-5);
  // An odd margin splits as torchvision's center_crop does (Python's round, ties to even):
  // 147 / 2 -> 74, 145 / 2 -> 72.
  out = prepare(c, TestImage(259, 128, gradient));
  EXPECT_NEAR(at(c, out, 0, 0, 0), normalised(c, 0, 74), 1e-5);
  out = prepare(c, TestImage(257, 128, gradient));
  EXPECT_NEAR(at(c, out, 0, 0, 0), normalised(c, 0, 72), 1e-5);
}

// Halving with antialiasing: the triangle filter stretched to 2 pixels gives the taps
// (1, 3, 3, 1) / 8 around each output pixel (plain bilinear would give (1, 1) / 2).
TEST(VideoPrep, ShrinkingIsAntialiased) {
  const VideoFrontEndConfig c;
  std::mt19937 rng(7);
  std::vector<int> column(512);
  for (int& v : column) v = static_cast<int>(rng() % 256);
  const TestImage image(512, 256, [&](int x, int) {
    const auto v = static_cast<uint8_t>(column[x]);
    return std::array<uint8_t, 3>{v, v, v};
  });
  const std::vector<float> out = prepare(c, image);  // resized to 256 x 128, crop from column 72
  for (int x = 0; x < c.crop; ++x) {
    const int i = 2 * (72 + x);
    const double expected = (column[i - 1] + 3.0 * column[i] + 3.0 * column[i + 1] + column[i + 2]) / 8.0;
    for (int y : {0, 50, c.crop - 1}) ASSERT_NEAR(at(c, out, 2, x, y), normalised(c, 2, expected), 1e-4) << x;
  }
}

// Doubling: output pixels 2m and 2m + 1 sit a quarter pixel before and after input pixel m's
// centre, so plain bilinear taps (0.25, 0.75) and (0.75, 0.25).
TEST(VideoPrep, EnlargingIsBilinear) {
  const VideoFrontEndConfig c;
  std::mt19937 rng(8);
  std::vector<int> row(64);
  for (int& v : row) v = static_cast<int>(rng() % 256);
  const TestImage image(64, 64, [&](int, int y) {
    const auto v = static_cast<uint8_t>(row[y]);
    return std::array<uint8_t, 3>{v, v, v};
  });
  const std::vector<float> out = prepare(c, image);  // resized to 128 x 128, crop from row 8
  for (int y = 0; y < c.crop; y += 2) {
    const int m = (8 + y) / 2;  // output rows 2m and 2m + 1
    ASSERT_NEAR(at(c, out, 0, 5, y), normalised(c, 0, 0.25 * row[m - 1] + 0.75 * row[m]), 1e-4) << y;
    ASSERT_NEAR(at(c, out, 0, 5, y + 1), normalised(c, 0, 0.75 * row[m] + 0.25 * row[m + 1]), 1e-4) << y;
  }
}

TEST(VideoPrep, OddSizes) {
  const VideoFrontEndConfig c;
  const std::array<uint8_t, 3> rgb{10, 250, 128};
  for (auto [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {7, 3}, {3, 7}, {3840, 10}, {2, 2160}, {1921, 1081}})
    expect_solid(c, prepare(c, TestImage(w, h, [&](int, int) { return rgb; })), rgb);
  // A random image: every output is a convex mix of inputs, so it stays within their range.
  std::mt19937 rng(9);
  for (auto [w, h] : std::vector<std::pair<int, int>>{{7, 3}, {3840, 10}}) {
    const TestImage image(w, h, [&](int, int) {
      return std::array<uint8_t, 3>{static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                                    static_cast<uint8_t>(rng())};
    });
    const std::vector<float> out = prepare(c, image);
    for (int ch = 0; ch < 3; ++ch)
      for (int i = 0; i < c.crop * c.crop; ++i) {
        const float v = out[ch * c.crop * c.crop + i];
        ASSERT_GE(v, normalised(c, ch, 0) - 1e-5);
        ASSERT_LE(v, normalised(c, ch, 255) + 1e-5);
      }
  }
}

TEST(VideoPrep, RowPaddingIsIgnored) {
  const VideoFrontEndConfig c;
  std::mt19937 rng(10);
  std::vector<uint8_t> noise(300 * 200 * 3);
  for (auto& v : noise) v = static_cast<uint8_t>(rng());
  auto pixel = [&](int x, int y) {
    const uint8_t* p = &noise[(static_cast<size_t>(y) * 300 + x) * 3];
    return std::array<uint8_t, 3>{p[0], p[1], p[2]};
  };
  const std::vector<float> packed = prepare(c, TestImage(300, 200, pixel));
  EXPECT_EQ(prepare(c, TestImage(300, 200, pixel, 13, 255)), packed);
  EXPECT_EQ(prepare(c, TestImage(300, 200, pixel, 64, 0)), packed);
}

// A region is the same as handing the front end that part of the picture alone.
TEST(VideoPrep, RegionIsTheSameAsTheCutOutPicture) {
  std::mt19937 rng(3);
  const TestImage whole(360, 288, [&](int, int) {
    return std::array<uint8_t, 3>{static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                                  static_cast<uint8_t>(rng())};
  });
  VideoFrontEndConfig c;
  c.resize = 72;
  c.crop = 64;
  c.region = {0.2, 0.45, 0.6, 0.5};  // columns 72..287, rows 130..273 (fractions rounded to pixels)
  const int x0 = 72, y0 = 130, w = 216, h = 144;
  const TestImage part(w, h, [&](int x, int y) {
    const uint8_t* p = whole.bytes.data() + static_cast<size_t>(y0 + y) * whole.stride + 3 * (x0 + x);
    return std::array<uint8_t, 3>{p[0], p[1], p[2]};
  });
  VideoFrontEndConfig whole_frame = c;
  whole_frame.region = {0.0, 0.0, 1.0, 1.0};
  EXPECT_EQ(prepare(c, whole), prepare(whole_frame, part));
  EXPECT_NE(prepare(c, whole), prepare(whole_frame, whole));
}

// A frame's own region (a face's mouth) replaces the model's for that frame, as if the
// model had that region.
TEST(VideoPrep, AFramesOwnRegionReplacesTheModels) {
  std::mt19937 rng(4);
  const TestImage image(200, 150, [&](int, int) {
    return std::array<uint8_t, 3>{static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                                  static_cast<uint8_t>(rng())};
  });
  VideoFrontEndConfig c;
  c.resize = 40;
  c.crop = 32;
  c.region = {0.2, 0.45, 0.6, 0.5};
  const avts::FrameRegion mouth{0.5, 0.4, 0.3, 0.4};
  VideoFrontEndConfig at_mouth = c;
  at_mouth.region = mouth;
  FramePreprocessor p(c);
  std::vector<float> out(p.output_size());
  p.process(image.view(), out.data(), &mouth);
  EXPECT_EQ(out, prepare(at_mouth, image));
  p.process(image.view(), out.data(), &c.region);
  EXPECT_EQ(out, prepare(c, image));
}

TEST(VideoPrep, CompactCropSizes) {
  VideoFrontEndConfig c;
  c.resize = 100;
  c.crop = 96;
  const std::array<uint8_t, 3> rgb{0, 255, 77};
  const std::vector<float> out = prepare(c, TestImage(360, 288, [&](int, int) { return rgb; }));
  ASSERT_EQ(out.size(), 3u * 96 * 96);
  expect_solid(c, out, rgb);
}

TEST(VideoPrep, RejectsInvalidImages) {
  const VideoFrontEndConfig c;
  FramePreprocessor p(c);
  std::vector<float> out(p.output_size());
  std::vector<uint8_t> bytes(30 * 10 * 3);
  EXPECT_THROW(p.process(RgbImage{nullptr, 10, 10, 30}, out.data()), avts::Error);
  EXPECT_THROW(p.process(RgbImage{bytes.data(), 0, 10, 30}, out.data()), avts::Error);
  EXPECT_THROW(p.process(RgbImage{bytes.data(), 10, 0, 30}, out.data()), avts::Error);
  EXPECT_THROW(p.process(RgbImage{bytes.data(), 10, 10, 29}, out.data()), avts::Error);  // stride < 3 * width
  VideoFrontEndConfig bad;
  bad.crop = 200;  // larger than resize
  EXPECT_THROW(FramePreprocessor{bad}, avts::Error);
}

TEST(VideoResample, ShortSideToTheResizeLongSideScaledAndTruncated) {
  const avts::PixelSize landscape = avts::resized_size(avts::PixelRect{0, 0, 216, 144}, 72);
  EXPECT_EQ(landscape.width, 108);
  EXPECT_EQ(landscape.height, 72);
  const avts::PixelSize portrait = avts::resized_size(avts::PixelRect{10, 20, 100, 160}, 72);  // 115.2 -> 115
  EXPECT_EQ(portrait.width, 72);
  EXPECT_EQ(portrait.height, 115);
  const avts::PixelSize square = avts::resized_size(avts::PixelRect{0, 0, 160, 160}, 72);
  EXPECT_EQ(square.width, 72);
  EXPECT_EQ(square.height, 72);
}
