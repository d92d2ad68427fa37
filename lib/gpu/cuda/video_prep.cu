// Frames on the device -> normalised, centre-cropped planes: the CPU front end
// (FramePreprocessor) as one kernel. Each thread makes one output pixel of one frame, with
// the taps of video_resample.h in the CPU's order of summation (vertical sums of each input
// column, then the horizontal sum) and without fused multiply-adds, so the two paths agree
// to the last bit or two.
#include <cuda_fp16.h>

#include <string>
#include <vector>

#include "avts/error.h"
#include "avts/gpu.h"
#include "check.h"
#include "video_resample.h"
#include "yuv.h"

namespace avts::gpu {

namespace {

// One axis' taps on the device (see ResampleTaps).
struct AxisTaps {
  const int* first;
  const int* count;
  const float* weights;  // crop x max_taps
  int max_taps;
};

struct Affine {
  float gain[3], bias[3];
};

struct RgbSource {
  const uint8_t* frames;
  size_t frame_bytes;
  int stride;

  __device__ Rgb8 pixel(int f, int x, int y) const {
    const uint8_t* p = frames + f * frame_bytes + static_cast<size_t>(y) * stride + 3 * x;
    return {p[0], p[1], p[2]};
  }
};

struct I420Source {
  const uint8_t *y, *u, *v;
  size_t frame_bytes;
  int y_stride, u_stride, v_stride;
  YuvCoefficients k;

  __device__ Rgb8 pixel(int f, int x, int row) const {
    const size_t base = f * frame_bytes;
    return yuv_to_rgb(y[base + static_cast<size_t>(row) * y_stride + x],
                      u[base + static_cast<size_t>(row / 2) * u_stride + x / 2],
                      v[base + static_cast<size_t>(row / 2) * v_stride + x / 2], k);
  }
};

__device__ inline void store(float* out, size_t i, float value) { out[i] = value; }
__device__ inline void store(__half* out, size_t i, float value) { out[i] = __float2half_rn(value); }

template <class Source, class T>
__global__ void prepare_frames(Source source, AxisTaps tx, AxisTaps ty, int crop, Affine norm, T* out,
                               size_t frame_step, size_t channel_step, size_t pixel_step) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int f = blockIdx.z;
  if (x >= crop || y >= crop) return;
  const int x0 = tx.first[x], nx = tx.count[x], y0 = ty.first[y], ny = ty.count[y];
  const float* wx = tx.weights + x * tx.max_taps;
  const float* wy = ty.weights + y * ty.max_taps;
  float rgb[3] = {0.0f, 0.0f, 0.0f};
  for (int i = 0; i < nx; ++i) {
    float column[3] = {0.0f, 0.0f, 0.0f};
    for (int j = 0; j < ny; ++j) {
      const Rgb8 p = source.pixel(f, x0 + i, y0 + j);
      column[0] = __fadd_rn(column[0], __fmul_rn(wy[j], p.r));
      column[1] = __fadd_rn(column[1], __fmul_rn(wy[j], p.g));
      column[2] = __fadd_rn(column[2], __fmul_rn(wy[j], p.b));
    }
    for (int c = 0; c < 3; ++c) rgb[c] = __fadd_rn(rgb[c], __fmul_rn(wx[i], column[c]));
  }
  const size_t at = f * frame_step + (static_cast<size_t>(y) * crop + x) * pixel_step;
  for (int c = 0; c < 3; ++c)
    store(out, at + c * channel_step, __fadd_rn(__fmul_rn(rgb[c], norm.gain[c]), norm.bias[c]));
}

}  // namespace

struct VideoPrep::Impl {
  VideoFrontEndConfig config;
  Affine norm{};
  int width = 0, height = 0;  // the frame size the taps on the device are for
  Buffer taps;                // ints first_x, count_x, first_y, count_y (crop each), then the weights
  AxisTaps tx{}, ty{};

  // Taps for frames of width x height, made on the host as the CPU path makes them.
  void prepare(int w, int h) {
    if (w <= 0 || h <= 0) throw Error("video frame is empty (" + std::to_string(w) + "x" + std::to_string(h) + ")");
    if (w == width && h == height) return;
    const CropTaps t = crop_taps(config, w, h);
    const size_t crop = config.crop;
    std::vector<int> ints;
    for (const auto* v : {&t.x.first, &t.x.count, &t.y.first, &t.y.count})
      ints.insert(ints.end(), v->begin(), v->end());
    const size_t int_bytes = ints.size() * sizeof(int);
    const size_t wx_bytes = t.x.weights.size() * sizeof(float), wy_bytes = t.y.weights.size() * sizeof(float);
    // Kernels queued for the previous size may still read the old taps: cudaFree waits for them.
    taps = Buffer(Buffer::Kind::Device, int_bytes + wx_bytes + wy_bytes);
    taps.upload(ints.data(), int_bytes);
    taps.upload(t.x.weights.data(), wx_bytes, int_bytes);
    taps.upload(t.y.weights.data(), wy_bytes, int_bytes + wx_bytes);
    const int* i = taps.as<int>();
    const float* weights = reinterpret_cast<const float*>(taps.as<char>() + int_bytes);
    tx = {i, i + crop, weights, t.x.max_taps};
    ty = {i + 2 * crop, i + 3 * crop, weights + t.x.weights.size(), t.y.max_taps};
    width = w;
    height = h;
  }

  template <class Source>
  void launch(const Source& source, int count, const PlaneLayout& out, void* stream) {
    if (count <= 0) return;
    if (!out.data) throw Error("VideoPrep: no output buffer");
    const dim3 block(16, 16);
    const dim3 grid((config.crop + 15) / 16, (config.crop + 15) / 16, count);
    if (count > 65535) throw Error("VideoPrep: at most 65535 frames per call, not " + std::to_string(count));
    if (out.element == Element::Float32)
      prepare_frames<<<grid, block, 0, as_stream(stream)>>>(source, tx, ty, config.crop, norm,
                                                            static_cast<float*>(out.data), out.frame_step,
                                                            out.channel_step, out.pixel_step);
    else
      prepare_frames<<<grid, block, 0, as_stream(stream)>>>(source, tx, ty, config.crop, norm,
                                                            static_cast<__half*>(out.data), out.frame_step,
                                                            out.channel_step, out.pixel_step);
    check_launch("prepare_frames");
  }
};

VideoPrep::VideoPrep(const VideoFrontEndConfig& config) : impl_(std::make_unique<Impl>()) {
  if (config.crop <= 0 || config.resize < config.crop)
    throw Error("video front end: need 0 < crop <= resize (crop " + std::to_string(config.crop) + ", resize " +
                std::to_string(config.resize) + ")");
  impl_->config = config;
  const Normalisation n = normalisation(config);
  for (int c = 0; c < 3; ++c) {
    impl_->norm.gain[c] = n.gain[c];
    impl_->norm.bias[c] = n.bias[c];
  }
}

VideoPrep::~VideoPrep() = default;

int VideoPrep::crop() const { return impl_->config.crop; }

void VideoPrep::rgb(const uint8_t* frames, int width, int height, int stride, size_t frame_bytes, int count,
                    const PlaneLayout& out, void* stream) {
  if (stride < 3 * width)
    throw Error("video frame stride " + std::to_string(stride) + " is shorter than a row of " + std::to_string(width) +
                " RGB pixels");
  impl_->prepare(width, height);
  impl_->launch(RgbSource{frames, frame_bytes, stride}, count, out, stream);
}

void VideoPrep::i420(const I420Image& first, size_t frame_bytes, int count, YuvMatrix matrix, const PlaneLayout& out,
                     void* stream) {
  const int chroma_width = (first.width + 1) / 2;
  if (first.y_stride < first.width || first.u_stride < chroma_width || first.v_stride < chroma_width)
    throw Error("I420 frame strides are shorter than its rows (width " + std::to_string(first.width) + ")");
  impl_->prepare(first.width, first.height);
  impl_->launch(I420Source{first.y, first.u, first.v, frame_bytes, first.y_stride, first.u_stride, first.v_stride,
                           yuv_coefficients(matrix == YuvMatrix::Bt709)},
                count, out, stream);
}

}  // namespace avts::gpu
