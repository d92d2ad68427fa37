// Internal to lib/: mixed precision for the forward passes, as Python's torch.autocast.
// Inside the guard, convolutions and matrix products run in bfloat16 or float16 (CUDA) or
// bfloat16 (CPU), reductions and normalisations stay in float32; outputs may come out in the
// lower precision. The autocast API moved from a CUDA and a CPU set of calls (LibTorch 1.x)
// to per-device calls (LibTorch 2.4 on).
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "avts/model.h"

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define AVTS_AUTOCAST_PER_DEVICE 1
#else
#define AVTS_AUTOCAST_PER_DEVICE 0
#endif

namespace avts {

class AutocastGuard {
 public:
  // Does nothing for Precision::Float32, or on a device other than CUDA and the CPU.
  AutocastGuard(const torch::Device& device, Precision precision) {
    if (precision == Precision::Float32 || !(device.is_cuda() || device.is_cpu())) return;
    active_ = true;
    cuda_ = device.is_cuda();
    const at::ScalarType dtype = precision == Precision::BFloat16 ? at::kBFloat16 : at::kHalf;
#if AVTS_AUTOCAST_PER_DEVICE
    const at::DeviceType type = cuda_ ? at::kCUDA : at::kCPU;
    was_enabled_ = at::autocast::is_autocast_enabled(type);
    was_dtype_ = at::autocast::get_autocast_dtype(type);
    at::autocast::set_autocast_enabled(type, true);
    at::autocast::set_autocast_dtype(type, dtype);
#else
    if (cuda_) {
      was_enabled_ = at::autocast::is_enabled();
      was_dtype_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(dtype);
    } else {
      was_enabled_ = at::autocast::is_cpu_enabled();
      was_dtype_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(dtype);
    }
#endif
    at::autocast::increment_nesting();
  }

  ~AutocastGuard() {
    if (!active_) return;
    // Leaving the outermost region frees the weights cast for it.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if AVTS_AUTOCAST_PER_DEVICE
    const at::DeviceType type = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_enabled(type, was_enabled_);
    at::autocast::set_autocast_dtype(type, was_dtype_);
#else
    if (cuda_) {
      at::autocast::set_enabled(was_enabled_);
      at::autocast::set_autocast_gpu_dtype(was_dtype_);
    } else {
      at::autocast::set_cpu_enabled(was_enabled_);
      at::autocast::set_autocast_cpu_dtype(was_dtype_);
    }
#endif
  }

  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kHalf;
};

}  // namespace avts
