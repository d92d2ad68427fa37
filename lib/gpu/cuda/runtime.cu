// Devices, buffers and the host side of the YUV conversion (see avts/gpu.h).
#include <string>
#include <utility>

#include "avts/gpu.h"
#include "check.h"
#include "yuv.h"

namespace avts::gpu {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: not an error for callers that ask
    return 0;
  }
  return n;
}

std::string describe() {
  int runtime = 0, driver = 0, n = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  const auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  std::string text = "CUDA runtime " + version(runtime) + ", driver " + (driver ? version(driver) : "none");
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return text + ": no usable GPU (" + cudaGetErrorString(status) + ")";
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    text += (i ? "; " : ": ") + std::string("cuda:") + std::to_string(i) + " " + p.name + " (sm_" +
            std::to_string(p.major) + std::to_string(p.minor) + ", " + std::to_string(p.totalGlobalMem >> 30) +
            " GiB, " + std::to_string(p.multiProcessorCount) + " SMs)";
  }
  return text;
}

DeviceGuard::DeviceGuard(int device) {
  check(cudaGetDevice(&previous_), "cudaGetDevice");
  if (device != previous_) check(cudaSetDevice(device), "cudaSetDevice");
}

DeviceGuard::~DeviceGuard() { cudaSetDevice(previous_); }

Buffer::Buffer(Kind kind, size_t bytes) : kind_(kind), size_(bytes) {
  if (bytes == 0) return;
  if (kind == Kind::Device)
    check(cudaMalloc(&data_, bytes), "cudaMalloc");
  else
    check(cudaHostAlloc(&data_, bytes, cudaHostAllocDefault), "cudaHostAlloc");
}

Buffer::~Buffer() {
  if (!data_) return;
  if (kind_ == Kind::Device)
    cudaFree(data_);
  else
    cudaFreeHost(data_);
}

Buffer::Buffer(Buffer&& other) noexcept
    : kind_(other.kind_), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    Buffer old(std::move(*this));
    kind_ = other.kind_;
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void Buffer::upload(const void* host, size_t bytes, size_t offset) {
  if (offset + bytes > size_)
    throw Error("gpu::Buffer::upload: " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                " overrun a buffer of " + std::to_string(size_));
  check(cudaMemcpy(static_cast<char*>(data_) + offset, host, bytes, cudaMemcpyDefault), "cudaMemcpy to buffer");
}

void Buffer::download(void* host, size_t bytes, size_t offset) const {
  if (offset + bytes > size_)
    throw Error("gpu::Buffer::download: " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                " overrun a buffer of " + std::to_string(size_));
  check(cudaMemcpy(host, static_cast<const char*>(data_) + offset, bytes, cudaMemcpyDefault), "cudaMemcpy from buffer");
}

void synchronize(void* stream) { check(cudaStreamSynchronize(as_stream(stream)), "a kernel or copy on the stream"); }

void i420_to_rgb(const I420Image& image, YuvMatrix matrix, uint8_t* rgb, int rgb_stride) {
  if (!image.y || !image.u || !image.v || image.width <= 0 || image.height <= 0)
    throw Error("I420 frame is empty (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  const YuvCoefficients k = yuv_coefficients(matrix == YuvMatrix::Bt709);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* luma = image.y + static_cast<size_t>(y) * image.y_stride;
    const uint8_t* u = image.u + static_cast<size_t>(y / 2) * image.u_stride;
    const uint8_t* v = image.v + static_cast<size_t>(y / 2) * image.v_stride;
    uint8_t* out = rgb + static_cast<size_t>(y) * rgb_stride;
    for (int x = 0; x < image.width; ++x) {
      const Rgb8 p = yuv_to_rgb(luma[x], u[x / 2], v[x / 2], k);
      out[3 * x] = p.r;
      out[3 * x + 1] = p.g;
      out[3 * x + 2] = p.b;
    }
  }
}

}  // namespace avts::gpu
