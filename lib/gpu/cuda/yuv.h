// Internal to lib/gpu/cuda: limited-range YUV -> RGB in 8-bit fixed point, one definition for
// the host (gpu::i420_to_rgb) and the kernels, so both give the same bytes.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define AVTS_HOST_DEVICE __host__ __device__
#else
#define AVTS_HOST_DEVICE
#endif

namespace avts::gpu {

struct Rgb8 {
  uint8_t r, g, b;
};

// Coefficients x 256 of R = Y' + cr_r V', G = Y' - cb_g U' - cr_g V', B = Y' + cb_b U'
// with Y' = 1.164 (Y - 16), U' = U - 128, V' = V - 128.
struct YuvCoefficients {
  int y, cr_r, cb_g, cr_g, cb_b;
};

AVTS_HOST_DEVICE inline YuvCoefficients yuv_coefficients(bool bt709) {
  return bt709 ? YuvCoefficients{298, 459, 55, 136, 541} : YuvCoefficients{298, 409, 100, 208, 516};
}

AVTS_HOST_DEVICE inline uint8_t clamp_byte(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

AVTS_HOST_DEVICE inline Rgb8 yuv_to_rgb(int y, int u, int v, const YuvCoefficients& k) {
  const int c = k.y * (y - 16) + 128, d = u - 128, e = v - 128;
  return {clamp_byte((c + k.cr_r * e) >> 8), clamp_byte((c - k.cb_g * d - k.cr_g * e) >> 8),
          clamp_byte((c + k.cb_b * d) >> 8)};
}

}  // namespace avts::gpu
