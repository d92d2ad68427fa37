// Internal to lib/gpu/cuda: CUDA and cuFFT return codes as avts::Error.
#pragma once

#include <cuda_runtime_api.h>
#include <cufft.h>

#include <string>

#include "avts/error.h"

namespace avts::gpu {

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("CUDA: ") + what + " failed: " + cudaGetErrorString(status));
}

inline void check(cufftResult status, const char* what) {
  if (status != CUFFT_SUCCESS)
    throw Error(std::string("cuFFT: ") + what + " failed (error " + std::to_string(static_cast<int>(status)) + ")");
}

// After a kernel launch: a bad configuration shows here, a fault at the next synchronisation.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

}  // namespace avts::gpu
