#include "avts/video_prep.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "avts/error.h"

namespace avts {

namespace {

// Antialiased bilinear resampling along one axis, as PIL and torch (antialias=True,
// align_corners=False) do it: output pixel i is centred at scale * (i + 0.5) in the input; when
// shrinking, the triangle filter is stretched by `scale` so every input pixel contributes.
// Taps are made only for the output pixels [out_begin, out_begin + out_count).
struct ResampleTaps {
  std::vector<int> first;       // first input pixel of each output pixel
  std::vector<int> count;       // how many input pixels it reads
  std::vector<float> weights;   // out_count x max_taps, normalised to sum 1
  int max_taps = 0;
};

ResampleTaps resample_taps(int in_size, int out_size, int out_begin, int out_count) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = scale >= 1.0 ? scale : 1.0;
  const double inv_scale = scale >= 1.0 ? 1.0 / scale : 1.0;
  ResampleTaps t;
  t.max_taps = static_cast<int>(2 * support) + 2;
  t.first.resize(out_count);
  t.count.resize(out_count);
  t.weights.assign(static_cast<size_t>(out_count) * t.max_taps, 0.0f);
  std::vector<double> w(t.max_taps);
  for (int o = 0; o < out_count; ++o) {
    const double centre = scale * (out_begin + o + 0.5);
    // Truncation toward zero, as the reference implementations round these bounds.
    const int lo = std::max(static_cast<int>(centre - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(centre + support + 0.5), in_size);
    const int n = std::min(hi - lo, t.max_taps);
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      const double x = (lo + j - centre + 0.5) * inv_scale;
      w[j] = std::max(0.0, 1.0 - std::abs(x));
      total += w[j];
    }
    t.first[o] = lo;
    t.count[o] = n;
    for (int j = 0; j < n; ++j)
      t.weights[static_cast<size_t>(o) * t.max_taps + j] = static_cast<float>(total > 0 ? w[j] / total : 0.0);
  }
  return t;
}

// round(d / 2) with ties to even, as Python's round() in torchvision's center_crop.
int centre_offset(int d) {
  const int half = d / 2;
  return (d % 2 == 0 || half % 2 == 0) ? half : half + 1;
}

}  // namespace

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

  // Short side to `resize`, long side scaled and truncated, as torchvision's Resize(int).
  const int crop = config_.crop;
  const bool landscape = image.width > image.height;
  const int64_t short_in = landscape ? image.height : image.width;
  const int64_t long_in = landscape ? image.width : image.height;
  const int long_out = static_cast<int>(static_cast<double>(config_.resize * long_in) / short_in);
  const int out_w = landscape ? long_out : config_.resize;
  const int out_h = landscape ? config_.resize : long_out;

  const ResampleTaps tx = resample_taps(image.width, out_w, centre_offset(out_w - crop), crop);
  const ResampleTaps ty = resample_taps(image.height, out_h, centre_offset(out_h - crop), crop);

  float gain[3], bias[3];  // (v / 255 - mean) / std = v * gain + bias
  for (int c = 0; c < 3; ++c) {
    gain[c] = 1.0f / (255.0f * config_.std[c]);
    bias[c] = -config_.mean[c] / config_.std[c];
  }

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
      for (int c = 0; c < 3; ++c) out[c * plane + static_cast<size_t>(y) * crop + x] = rgb[c] * gain[c] + bias[c];
    }
  }
}

}  // namespace avts
