// For the CUDA tests: skip with a line that says why when this machine has no usable GPU,
// and owned device buffers.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "avts/gpu.h"

#define AVTS_REQUIRE_GPU()                                                                        \
  do {                                                                                            \
    if (avts::gpu::device_count() == 0)                                                           \
      GTEST_SKIP() << "no CUDA device, GPU parity not checked (" << avts::gpu::describe() << ")"; \
  } while (0)

namespace avts::gpu::test {

template <class T>
Buffer to_device(const std::vector<T>& host) {
  Buffer b(Buffer::Kind::Device, host.size() * sizeof(T));
  b.upload(host.data(), host.size() * sizeof(T));
  return b;
}

template <class T>
std::vector<T> to_host(const Buffer& b) {
  std::vector<T> host(b.size() / sizeof(T));
  b.download(host.data(), host.size() * sizeof(T));
  return host;
}

// Largest |a[i] - b[i]|; NaN anywhere gives infinity.
inline double max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

}  // namespace avts::gpu::test
