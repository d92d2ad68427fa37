// Video frame preparation: one decoded RGB frame -> the network's normalised input plane.
#pragma once

#include <array>
#include <cstdint>

#include "avts/config.h"

namespace avts {

// A packed 8-bit RGB image (3 bytes per pixel, rows `stride` bytes apart).
struct RgbImage {
  const uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int stride = 0;
};

// The part of one frame the network looks at, in VideoFrontEndConfig::region's form (x, y,
// width, height as fractions of the frame): a face's mouth region (avts/face.h) that replaces
// the model's fixed region for that frame.
using FrameRegion = std::array<double, 4>;

class FramePreprocessor {
 public:
  explicit FramePreprocessor(const VideoFrontEndConfig& config);

  int crop() const { return config_.crop; }
  // Floats written by process(): 3 * crop * crop.
  int output_size() const { return 3 * config_.crop * config_.crop; }

  // The region (the model's, or `region` when given) with its short side resized to `resize`
  // (antialiased bilinear), centre crop, normalised; writes planar C x crop x crop floats.
  // Throws avts::Error on an empty image.
  void process(const RgbImage& image, float* out, const FrameRegion* region = nullptr) const;

 private:
  VideoFrontEndConfig config_;
};

}  // namespace avts
