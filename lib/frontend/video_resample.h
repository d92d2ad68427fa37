// Internal to lib/: the geometry of the video front end, shared by the CPU path
// (video_prep.cpp) and the CUDA kernels (cuda/video_prep.cu) so that both read the same
// input pixels with the same weights.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "avts/config.h"

namespace avts {

// Antialiased bilinear resampling along one axis, as PIL and torch (antialias=True,
// align_corners=False) do it: output pixel i is centred at scale * (i + 0.5) in the input; when
// shrinking, the triangle filter is stretched by `scale` so every input pixel contributes.
// Taps are made only for the output pixels [out_begin, out_begin + out_count).
struct ResampleTaps {
  std::vector<int> first;      // first input pixel of each output pixel
  std::vector<int> count;      // how many input pixels it reads
  std::vector<float> weights;  // out_count x max_taps, normalised to sum 1
  int max_taps = 0;
};

ResampleTaps resample_taps(int in_size, int out_size, int out_begin, int out_count);

// round(d / 2) with ties to even, as Python's round() in torchvision's center_crop.
int centre_offset(int d);

// The configured region of a width x height frame in whole pixels (at least one).
struct PixelRect {
  int x = 0, y = 0, width = 0, height = 0;
};
PixelRect region_pixels(const VideoFrontEndConfig& config, int width, int height);

// Resamples a packed RGB frame (rows `stride` bytes apart) with taps that index its pixels:
// a vertical pass over whole rows (a loop that vectorises), then a horizontal one; only the
// columns the taps read are summed. Calls store(y, x, rgb) for every output pixel, rgb[3] in
// 0..255. Shared by the inference front end and the trainer's frames.
template <typename Store>
void resample_rgb(const uint8_t* data, int stride, const ResampleTaps& tx, const ResampleTaps& ty, Store store) {
  const int col_begin = tx.first.front();
  const size_t row_values = 3 * static_cast<size_t>(tx.first.back() + tx.count.back() - col_begin);
  std::vector<float> row(row_values);
  for (size_t y = 0; y < ty.first.size(); ++y) {
    std::fill(row.begin(), row.end(), 0.0f);
    const float* wy = ty.weights.data() + y * ty.max_taps;
    for (int j = 0; j < ty.count[y]; ++j) {
      const uint8_t* src = data + static_cast<size_t>(ty.first[y] + j) * stride + 3 * static_cast<size_t>(col_begin);
      for (size_t i = 0; i < row_values; ++i) row[i] += wy[j] * src[i];
    }
    for (size_t x = 0; x < tx.first.size(); ++x) {
      const float* wx = tx.weights.data() + x * tx.max_taps;
      const float* p = row.data() + 3 * static_cast<size_t>(tx.first[x] - col_begin);
      float rgb[3] = {0, 0, 0};
      for (int j = 0; j < tx.count[x]; ++j, p += 3)
        for (int c = 0; c < 3; ++c) rgb[c] += wx[j] * p[c];
      store(static_cast<int>(y), static_cast<int>(x), rgb);
    }
  }
}

// `region` of a packed RGB frame resized to out_w x out_h with the antialiased bilinear filter
// above, rounded to bytes (half to even, as torch.round) into `out` (out_h x out_w x 3). What
// the trainer stores of each frame: the inference front end's pixels before its crop.
void resize_rgb(const uint8_t* data, int stride, const PixelRect& region, int out_w, int out_h, uint8_t* out);

// The size `region` is resized to: its short side to `resize`, the long side scaled and
// truncated (torchvision's Resize(int)). One rule for inference's taps and training's frames.
struct PixelSize {
  int width = 0, height = 0;
};
PixelSize resized_size(const PixelRect& region, int resize);

// The taps of one frame size: the region taken, resized (resized_size), then the centre
// `crop` x `crop`. The taps index pixels of the whole frame.
struct CropTaps {
  ResampleTaps x, y;
};
CropTaps crop_taps(const VideoFrontEndConfig& config, int width, int height);

// (v / 255 - mean) / std = v * gain + bias, per channel.
struct Normalisation {
  float gain[3], bias[3];
};
Normalisation normalisation(const VideoFrontEndConfig& config);

}  // namespace avts
