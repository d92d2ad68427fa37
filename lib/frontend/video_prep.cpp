#include "avts/video_prep.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "avts/error.h"
#include "video_resample.h"

namespace avts {

FramePreprocessor::FramePreprocessor(const VideoFrontEndConfig& config) : config_(config) {
  if (config_.crop <= 0 || config_.resize < config_.crop)
    throw Error("video front end: need 0 < crop <= resize (crop " + std::to_string(config_.crop) + ", resize " +
                std::to_string(config_.resize) + ")");
  for (float s : config_.std)
    if (!(s > 0)) throw Error("video front end: std must be positive");
}

void FramePreprocessor::process(const RgbImage& image, float* out, const FrameRegion* region) const {
  if (!image.data || image.width <= 0 || image.height <= 0)
    throw Error("video frame is empty (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  if (image.stride < 3 * image.width)
    throw Error("video frame stride " + std::to_string(image.stride) + " is shorter than a row of " +
                std::to_string(image.width) + " RGB pixels");

  const int crop = config_.crop;
  VideoFrontEndConfig framed = config_;
  if (region) framed.region = *region;
  const CropTaps taps = crop_taps(framed, image.width, image.height);
  const Normalisation norm = normalisation(config_);
  const size_t plane = static_cast<size_t>(crop) * crop;
  resample_rgb(image.data, image.stride, taps.x, taps.y, [&](int y, int x, const float* rgb) {
    for (int c = 0; c < 3; ++c)
      out[c * plane + static_cast<size_t>(y) * crop + x] = rgb[c] * norm.gain[c] + norm.bias[c];
  });
}

}  // namespace avts
