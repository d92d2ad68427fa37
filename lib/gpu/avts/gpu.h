// The front ends on a CUDA GPU: decoded frames -> normalised planes (resize, centre crop,
// normalise, as FramePreprocessor), audio windows -> log-mel spectrograms (as LogMel, with
// cuFFT). Built with meson's `cuda` option (nvcc); the build then defines AVTS_HAVE_CUDA.
//
// Plain CUDA behind a header with neither CUDA nor LibTorch in it: device memory is passed
// as raw pointers and streams as `void*` holding a cudaStream_t (nullptr: the legacy default
// stream, the one LibTorch computes on unless told otherwise). Calls are asynchronous on that
// stream; objects are used by one thread at a time. Errors throw avts::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "avts/config.h"

namespace avts::gpu {

// CUDA devices this process can use; 0 when the driver or a GPU is missing.
int device_count();
// One line for logs and skipped tests: the devices, the runtime and driver versions, or why
// there is no device.
std::string describe();

// Makes `device` current for the calling thread until the guard goes.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// Memory on the current device (cudaMalloc), or page-locked host memory (cudaHostAlloc),
// from which copies to and from the device run asynchronously. Freed on destruction.
class Buffer {
 public:
  enum class Kind { Device, Pinned };
  Buffer() = default;
  Buffer(Kind kind, size_t bytes);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }

  // Synchronous copies between this buffer and host memory, `offset` bytes into the buffer.
  void upload(const void* host, size_t bytes, size_t offset = 0);
  void download(void* host, size_t bytes, size_t offset = 0) const;

 private:
  Kind kind_ = Kind::Device;
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Waits until everything queued on `stream` so far has run; throws on a kernel's error.
void synchronize(void* stream = nullptr);

// A frame in planar 4:2:0 YUV (I420): Y at full size, U and V at half size (rounded up).
struct I420Image {
  const uint8_t* y = nullptr;
  const uint8_t* u = nullptr;
  const uint8_t* v = nullptr;
  int width = 0, height = 0;
  int y_stride = 0, u_stride = 0, v_stride = 0;
};

// Limited-range (16-235) YUV to RGB matrices: BT.601 for SD video, BT.709 for HD.
enum class YuvMatrix { Bt601, Bt709 };

// The conversion the GPU applies to I420 frames, done on the host: each pixel takes the
// chroma of its 2x2 block, 8-bit fixed point, rounded and clamped.
void i420_to_rgb(const I420Image& image, YuvMatrix matrix, uint8_t* rgb, int rgb_stride);

enum class Element { Float32, Float16 };

// Where VideoPrep writes pixel (x, y) of frame i's channel c: at element offset
// i * frame_step + c * channel_step + (y * crop + x) * pixel_step from `data`.
//   frames one after another (T x 3 x crop x crop): {3 crop^2, crop^2, 1}
//   one clip as the video network reads it (3 x T x crop x crop): {crop^2, T crop^2, 1}
//   one clip channels-last (T x crop x crop x 3, LibTorch's ChannelsLast3d): {3 crop^2, 1, 3}
struct PlaneLayout {
  void* data = nullptr;
  Element element = Element::Float32;
  size_t frame_step = 0;
  size_t channel_step = 0;
  size_t pixel_step = 1;
};

// Frames of one size on the device -> the video network's normalised input planes.
class VideoPrep {
 public:
  explicit VideoPrep(const VideoFrontEndConfig& config);  // on the current device
  ~VideoPrep();
  VideoPrep(const VideoPrep&) = delete;
  VideoPrep& operator=(const VideoPrep&) = delete;

  int crop() const;

  // `count` packed RGB frames of width x height: frame i at frames + i * frame_bytes, rows
  // `stride` bytes apart.
  void rgb(const uint8_t* frames, int width, int height, int stride, size_t frame_bytes, int count,
           const PlaneLayout& out, void* stream = nullptr);
  // `count` I420 frames: frame i's planes at first.y/u/v + i * frame_bytes.
  void i420(const I420Image& first, size_t frame_bytes, int count, YuvMatrix matrix, const PlaneLayout& out,
            void* stream = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Signals on the device -> log-mel spectrograms, batched through one cuFFT plan.
class LogMelBatch {
 public:
  explicit LogMelBatch(const AudioFrontEndConfig& config);  // on the current device
  ~LogMelBatch();
  LogMelBatch(const LogMelBatch&) = delete;
  LogMelBatch& operator=(const LogMelBatch&) = delete;

  int n_mels() const;
  // Frames of a signal of `samples` samples: frame k covers samples [k * hop, k * hop + win)
  // as in LogMel; 0 when the signal is shorter than one window.
  int frames(int samples) const;
  // `count` signals of `samples` floats: signal b at signals + b * signal_step (signals may
  // overlap: windows every hop of one stream are signal_step = hop apart). Writes
  // count x n_mels x frames(samples) floats at `out` (mel-major, as the audio network reads a
  // window).
  void run(const float* signals, int count, int samples, size_t signal_step, float* out, void* stream = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace avts::gpu
