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
    throw Error("video front end: need 0 < crop <= resize (crop " + std::to_string(config_.crop) +
                ", resize " + std::to_string(config_.resize) + ")");
  for (float s : config_.std)
    if (!(s > 0)) throw Error("video front end: std must be positive");
}

void FramePreprocessor::process(const RgbImage& image, float* out) const {
  if (!image.data || image.width <= 0 || image.height <= 0)
    throw Error("video frame is empty (" + std::to_string(image.width) + "x" +
                std::to_string(image.height) + ")");
  if (image.stride < 3 * image.width)
    throw Error("video frame stride " + std::to_string(image.stride) + " is shorter than a row of " +
                std::to_string(image.width) + " RGB pixels");

  const int crop = config_.crop;
  const CropTaps taps = crop_taps(config_, image.width, image.height);
  const ResampleTaps& tx = taps.x;
  const ResampleTaps& ty = taps.y;
  const Normalisation norm = normalisation(config_);

  // Vertical pass first: an output row is a weighted sum of whole input rows, a loop that
  // vectorises. Only the input columns the cropped output columns read are summed.
  const int col_begin = tx.first.front();
  const size_t row_values = 3 * static_cast<size_t>(tx.first.back() + tx.count.back() - col_begin);
  std::vector<float> row(row_values);
  const size_t plane = static_cast<size_t>(crop) * crop;
  for (int y = 0; y < crop; ++y) {
    std::fill(row.begin(), row.end(), 0.0f);
    const float* wy = ty.weights.data() + static_cast<size_t>(y) * ty.max_taps;
    for (int j = 0; j < ty.count[y]; ++j) {
      const uint8_t* src = image.data + static_cast<size_t>(ty.first[y] + j) * image.stride + 3 * col_begin;
      for (size_t i = 0; i < row_values; ++i) row[i] += wy[j] * src[i];
    }
    // Horizontal pass, normalised into the three planes.
    for (int x = 0; x < crop; ++x) {
      const float* wx = tx.weights.data() + static_cast<size_t>(x) * tx.max_taps;
      const float* p = row.data() + 3 * (tx.first[x] - col_begin);
      float rgb[3] = {0, 0, 0};
      for (int j = 0; j < tx.count[x]; ++j, p += 3)
        for (int c = 0; c < 3; ++c) rgb[c] += wx[j] * p[c];
      for (int c = 0; c < 3; ++c) out[c * plane + static_cast<size_t>(y) * crop + x] = rgb[c] * norm.gain[c] + norm.bias[c];
    }
  }
}

}  // namespace avts
