// The video front end's geometry (see video_resample.h): resampling taps, centre crop,
// normalisation constants.
#include "video_resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace avts {

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

int centre_offset(int d) {
  const int half = d / 2;
  return (d % 2 == 0 || half % 2 == 0) ? half : half + 1;
}

PixelRect region_pixels(const VideoFrontEndConfig& config, int width, int height) {
  const auto edge = [](double fraction, int size) {
    return std::clamp(static_cast<int>(std::lround(fraction * size)), 0, size);
  };
  const auto& r = config.region;
  PixelRect p;
  p.x = std::min(edge(r[0], width), width - 1);
  p.y = std::min(edge(r[1], height), height - 1);
  p.width = std::max(edge(r[0] + r[2], width) - p.x, 1);
  p.height = std::max(edge(r[1] + r[3], height) - p.y, 1);
  return p;
}

void resize_rgb(const uint8_t* data, int stride, const PixelRect& region, int out_w, int out_h, uint8_t* out) {
  ResampleTaps tx = resample_taps(region.width, out_w, 0, out_w);
  ResampleTaps ty = resample_taps(region.height, out_h, 0, out_h);
  for (int& f : tx.first) f += region.x;
  for (int& f : ty.first) f += region.y;
  resample_rgb(data, stride, tx, ty, [&](int y, int x, const float* rgb) {
    uint8_t* dst = out + (static_cast<size_t>(y) * out_w + x) * 3;
    for (int c = 0; c < 3; ++c) dst[c] = static_cast<uint8_t>(std::clamp(std::nearbyint(rgb[c]), 0.0f, 255.0f));
  });
}

PixelSize resized_size(const PixelRect& region, int resize) {
  const bool landscape = region.width > region.height;
  const int64_t short_in = landscape ? region.height : region.width;
  const int64_t long_in = landscape ? region.width : region.height;
  const int long_out = static_cast<int>(static_cast<double>(resize * long_in) / short_in);
  return landscape ? PixelSize{long_out, resize} : PixelSize{resize, long_out};
}

CropTaps crop_taps(const VideoFrontEndConfig& config, int width, int height) {
  const int crop = config.crop;
  const PixelRect r = region_pixels(config, width, height);
  const PixelSize out = resized_size(r, config.resize);
  CropTaps t{resample_taps(r.width, out.width, centre_offset(out.width - crop), crop),
             resample_taps(r.height, out.height, centre_offset(out.height - crop), crop)};
  for (int& f : t.x.first) f += r.x;
  for (int& f : t.y.first) f += r.y;
  return t;
}

Normalisation normalisation(const VideoFrontEndConfig& config) {
  Normalisation n;
  for (int c = 0; c < 3; ++c) {
    n.gain[c] = 1.0f / (255.0f * config.std[c]);
    n.bias[c] = -config.mean[c] / config.std[c];
  }
  return n;
}

}  // namespace avts
