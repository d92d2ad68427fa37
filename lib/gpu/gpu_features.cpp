// Batched feature extraction on a GPU (avts/gpu_features.h): two slots of page-locked memory
// take turns; a full slot goes up on a copy stream, the GPU turns it into the network's input
// (VideoPrep, LogMelBatch) and runs the network on the stream LibTorch computes on (the legacy
// default stream), and the rows come back into the slot's page-locked row buffer.
#include "avts/gpu_features.h"

#include <ATen/Parallel.h>
#include <cuda_runtime_api.h>

#include <cstring>
#include <string>
#include <utility>

#include "autocast.h"
#include "avts/error.h"
#include "avts/nets.h"

namespace avts::gpu {

namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("CUDA: ") + what + " failed: " + cudaGetErrorString(status));
}

// What one item of a batch is: a clip of frames of one size and format, or an audio window.
struct ItemFormat {
  enum class Kind { None, Rgb, I420, Audio } kind = Kind::None;
  int width = 0, height = 0;
  YuvMatrix matrix = YuvMatrix::Bt601;
  size_t frame_bytes = 0;  // video: one frame, packed
  size_t bytes = 0;        // the whole item

  bool operator==(const ItemFormat& o) const {
    return kind == o.kind && width == o.width && height == o.height && matrix == o.matrix && bytes == o.bytes;
  }
};

}  // namespace

class BatchPipeline {
 public:
  BatchPipeline(std::shared_ptr<const Model> model, Modality modality, const std::string& layer, int batch_size)
      : model_(std::move(model)), modality_(modality), layer_(layer), batch_size_(batch_size) {
    if (!model_) throw Error("GPU feature extraction: no model");
    const Model::Impl& m = model_->impl();
    if (!m.device.is_cuda())
      throw Error("GPU feature extraction needs a model on a CUDA device, not on '" + m.device_name + "'");
    if (batch_size_ < 1) throw Error("batch size must be at least 1 (got " + std::to_string(batch_size_) + ")");
    dim_ = model_->dim(modality_, layer_);  // throws for an unknown layer
    depth_ = layer_ == "embedding" ? 4 : layer_.back() - '0';
    device_ = m.device.has_index() ? m.device.index() : 0;
    if (!m.device.has_index()) check(cudaGetDevice(&device_), "cudaGetDevice");
    const DeviceGuard guard(device_);
    check(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    for (Slot& s : slots_) {
      check(cudaEventCreateWithFlags(&s.uploaded, cudaEventDisableTiming), "cudaEventCreate");
      check(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming), "cudaEventCreate");
      s.rows = Buffer(Buffer::Kind::Pinned, static_cast<size_t>(batch_size_) * dim_ * sizeof(float));
    }
    if (modality_ == Modality::Audio)
      logmel_ = std::make_unique<LogMelBatch>(m.config.audio);
    else
      video_prep_ = std::make_unique<VideoPrep>(m.config.video);
  }

  ~BatchPipeline() {
    const DeviceGuard guard(device_);
    for (Slot& s : slots_) {
      if (s.in_flight) cudaEventSynchronize(s.done);
      cudaEventDestroy(s.uploaded);
      cudaEventDestroy(s.done);
    }
    cudaStreamDestroy(copy_stream_);
  }

  const ModelConfig& config() const { return model_->config(); }
  int dim() const { return dim_; }

  // Page-locked space for the next item. An item of another format first finishes the
  // batches of the old one.
  uint8_t* next(const ItemFormat& format, std::vector<float>& rows) {
    if (!(format == format_)) {
      finish(rows);
      const DeviceGuard guard(device_);
      for (Slot& s : slots_) {
        s.host = Buffer(Buffer::Kind::Pinned, batch_size_ * format.bytes);
        s.device = Buffer(Buffer::Kind::Device, batch_size_ * format.bytes);
      }
      format_ = format;
    }
    Slot& s = slots_[current_];
    return s.host.as<uint8_t>() + s.items * format_.bytes;
  }

  // The item written at next() is complete; a full batch goes to the GPU.
  void commit(std::vector<float>& rows) {
    if (++slots_[current_].items == batch_size_) submit(rows);
  }

  void finish(std::vector<float>& rows) {
    if (slots_[current_].items > 0) submit(rows);
    Slot& last = slots_[1 - current_];
    if (last.in_flight) harvest(last, rows);
  }

 private:
  struct Slot {
    Buffer host, device;  // batch_size items, page-locked and on the GPU
    Buffer rows;          // batch_size x dim floats, page-locked
    cudaEvent_t uploaded = nullptr, done = nullptr;
    torch::Tensor output;  // the rows on the GPU, alive until `done`
    int items = 0;
    bool in_flight = false;
  };

  // Queues the current slot's batch; then waits for the batch before it, which the GPU ran
  // while this one was filled, and hands out its rows.
  void submit(std::vector<float>& rows) {
    Slot& s = slots_[current_];
    const DeviceGuard guard(device_);
    const cudaStream_t compute = cudaStreamLegacy;  // LibTorch's default stream
    check(
        cudaMemcpyAsync(s.device.data(), s.host.data(), s.items * format_.bytes, cudaMemcpyHostToDevice, copy_stream_),
        "copying a batch to the GPU");
    check(cudaEventRecord(s.uploaded, copy_stream_), "cudaEventRecord");
    check(cudaStreamWaitEvent(compute, s.uploaded, 0), "cudaStreamWaitEvent");
    {
      c10::InferenceMode inference;
      Model::Impl& m = model_->impl();  // forward() is not const; eval-mode inference changes nothing
      if (m.net->is_training())
        throw Error("GPU feature extraction needs the network in eval mode, but it is in training mode");
      const AutocastGuard autocast(m.device, m.precision);
      const torch::Tensor x = network_input(s, compute);
      const nets::NetOutput y =
          modality_ == Modality::Audio ? m.net->audio->forward(x, depth_) : m.net->video->forward(x, depth_);
      s.output = (layer_ == "embedding" ? y.embedding : y.stages.back()).to(torch::kFloat32).contiguous();
    }
    check(cudaMemcpyAsync(s.rows.data(), s.output.data_ptr(), s.output.nbytes(), cudaMemcpyDeviceToHost, compute),
          "copying rows from the GPU");
    check(cudaEventRecord(s.done, compute), "cudaEventRecord");
    s.in_flight = true;
    current_ = 1 - current_;
    Slot& previous = slots_[current_];
    if (previous.in_flight) harvest(previous, rows);
  }

  void harvest(Slot& s, std::vector<float>& rows) {
    check(cudaEventSynchronize(s.done), "feature extraction on the GPU");
    const float* r = s.rows.as<float>();
    rows.insert(rows.end(), r, r + static_cast<size_t>(s.items) * dim_);
    s.output = torch::Tensor();
    s.items = 0;
    s.in_flight = false;
  }

  // The slot's items on the GPU -> the network's input, on the compute stream.
  torch::Tensor network_input(const Slot& s, cudaStream_t stream) {
    const ModelConfig& c = config();
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA, device_);
    const int64_t n = s.items;
    if (format_.kind == ItemFormat::Kind::Audio) {
      const int samples = static_cast<int>(format_.bytes / sizeof(float));
      torch::Tensor x = torch::empty({n, 1, c.audio.n_mels, logmel_->frames(samples)}, options);
      logmel_->run(s.device.as<float>(), s.items, samples, samples, x.data_ptr<float>(), stream);
      return x;
    }
    // Channels-last (N x T x H x W x C in memory, LibTorch's ChannelsLast3d): cuDNN's fastest
    // layout for 3D convolutions on tensor cores, and the layout the whole network then keeps.
    const int64_t t = c.video_frames_per_clip(), crop = c.video.crop;
    torch::Tensor x = torch::empty({n, t, crop, crop, 3}, options);
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* clip = s.device.as<uint8_t>() + i * format_.bytes;
      const PlaneLayout out{x.data_ptr<float>() + i * t * crop * crop * 3, Element::Float32,
                            static_cast<size_t>(3 * crop * crop), 1, 3};
      if (format_.kind == ItemFormat::Kind::Rgb) {
        video_prep_->rgb(clip, format_.width, format_.height, 3 * format_.width, format_.frame_bytes,
                         static_cast<int>(t), out, stream);
      } else {
        const size_t luma = static_cast<size_t>(format_.width) * format_.height;
        const size_t chroma = static_cast<size_t>((format_.width + 1) / 2) * ((format_.height + 1) / 2);
        I420Image first;
        first.y = clip;
        first.u = clip + luma;
        first.v = clip + luma + chroma;
        first.width = format_.width;
        first.height = format_.height;
        first.y_stride = format_.width;
        first.u_stride = first.v_stride = (format_.width + 1) / 2;
        video_prep_->i420(first, format_.frame_bytes, static_cast<int>(t), format_.matrix, out, stream);
      }
    }
    return x.permute({0, 4, 1, 2, 3});  // N x C x T x H x W, channels-last strides
  }

  std::shared_ptr<const Model> model_;
  Modality modality_;
  std::string layer_;
  int batch_size_;
  int dim_ = 0, depth_ = 4;
  int device_ = 0;
  cudaStream_t copy_stream_ = nullptr;
  std::unique_ptr<VideoPrep> video_prep_;
  std::unique_ptr<LogMelBatch> logmel_;
  ItemFormat format_;
  Slot slots_[2];
  int current_ = 0;  // the slot being filled
};

namespace {

// Copies rows of `row_bytes` from a strided image into packed memory.
uint8_t* copy_rows(uint8_t* to, const uint8_t* from, size_t row_bytes, int rows, int stride) {
  for (int y = 0; y < rows; ++y, to += row_bytes) std::memcpy(to, from + static_cast<size_t>(y) * stride, row_bytes);
  return to;
}

void check_frames_alike(int width, int height, int first_width, int first_height) {
  if (width != first_width || height != first_height)
    throw Error("the frames of a clip must share one size (" + std::to_string(first_width) + "x" +
                std::to_string(first_height) + ", then " + std::to_string(width) + "x" + std::to_string(height) + ")");
}

}  // namespace

VideoClipEmbedder::VideoClipEmbedder(std::shared_ptr<const Model> model, const std::string& layer, int batch_size)
    : pipeline_(std::make_unique<BatchPipeline>(std::move(model), Modality::Video, layer, batch_size)) {}

VideoClipEmbedder::~VideoClipEmbedder() = default;

int VideoClipEmbedder::dim() const { return pipeline_->dim(); }
int VideoClipEmbedder::frames_per_clip() const { return pipeline_->config().video_frames_per_clip(); }

void VideoClipEmbedder::add(const RgbImage* frames, std::vector<float>& rows) {
  const int t = frames_per_clip();
  const RgbImage& f0 = frames[0];
  if (!f0.data || f0.width <= 0 || f0.height <= 0 || f0.stride < 3 * f0.width)
    throw Error("video frame is empty or its stride is too small");
  ItemFormat format;
  format.kind = ItemFormat::Kind::Rgb;
  format.width = f0.width;
  format.height = f0.height;
  format.frame_bytes = 3 * static_cast<size_t>(f0.width) * f0.height;
  format.bytes = format.frame_bytes * t;
  for (int i = 0; i < t; ++i) check_frames_alike(frames[i].width, frames[i].height, f0.width, f0.height);
  uint8_t* to = pipeline_->next(format, rows);
  // Frames in parallel: one thread's copies into page-locked memory cannot keep up with the GPU.
  at::parallel_for(0, t, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      copy_rows(to + i * format.frame_bytes, frames[i].data, 3 * static_cast<size_t>(f0.width), f0.height,
                frames[i].stride);
  });
  pipeline_->commit(rows);
}

void VideoClipEmbedder::add(const I420Image* frames, YuvMatrix matrix, std::vector<float>& rows) {
  const int t = frames_per_clip();
  const I420Image& f0 = frames[0];
  if (!f0.y || !f0.u || !f0.v || f0.width <= 0 || f0.height <= 0) throw Error("I420 frame is empty");
  const int cw = (f0.width + 1) / 2, ch = (f0.height + 1) / 2;
  ItemFormat format;
  format.kind = ItemFormat::Kind::I420;
  format.width = f0.width;
  format.height = f0.height;
  format.matrix = matrix;
  format.frame_bytes = static_cast<size_t>(f0.width) * f0.height + 2 * static_cast<size_t>(cw) * ch;
  format.bytes = format.frame_bytes * t;
  for (int i = 0; i < t; ++i) {
    const I420Image& f = frames[i];
    check_frames_alike(f.width, f.height, f0.width, f0.height);
    if (f.y_stride < f.width || f.u_stride < cw || f.v_stride < cw) throw Error("I420 frame strides are too small");
  }
  uint8_t* to = pipeline_->next(format, rows);
  at::parallel_for(0, t, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const I420Image& f = frames[i];
      uint8_t* p = copy_rows(to + i * format.frame_bytes, f.y, f.width, f.height, f.y_stride);
      p = copy_rows(p, f.u, cw, ch, f.u_stride);
      copy_rows(p, f.v, cw, ch, f.v_stride);
    }
  });
  pipeline_->commit(rows);
}

void VideoClipEmbedder::finish(std::vector<float>& rows) { pipeline_->finish(rows); }

AudioWindowEmbedder::AudioWindowEmbedder(std::shared_ptr<const Model> model, const std::string& layer, int batch_size)
    : pipeline_(std::make_unique<BatchPipeline>(std::move(model), Modality::Audio, layer, batch_size)) {}

AudioWindowEmbedder::~AudioWindowEmbedder() = default;

int AudioWindowEmbedder::dim() const { return pipeline_->dim(); }

int AudioWindowEmbedder::window_samples() const {
  const ModelConfig& c = pipeline_->config();
  return (c.audio_frames_per_clip() - 1) * c.audio.hop_length + c.audio.win_length;
}

void AudioWindowEmbedder::add(const float* samples, std::vector<float>& rows) {
  ItemFormat format;
  format.kind = ItemFormat::Kind::Audio;
  format.bytes = static_cast<size_t>(window_samples()) * sizeof(float);
  std::memcpy(pipeline_->next(format, rows), samples, format.bytes);
  pipeline_->commit(rows);
}

void AudioWindowEmbedder::finish(std::vector<float>& rows) { pipeline_->finish(rows); }

}  // namespace avts::gpu
