// Batched feature extraction on a GPU, for corpora: clips of decoded frames or windows of
// audio samples in host memory -> the embeddings (or a pooled layer) of a model on a CUDA
// device, with the front end on the GPU too (avts/gpu.h) and the model's precision
// (Model::set_precision).
//
// Batches are pipelined through two slots of page-locked memory: while the GPU runs batch k,
// the caller fills batch k + 1, whose bytes then go up on a copy stream of their own. So the
// rows of a batch come back when the next batch goes in, or at finish(). Built with the
// `cuda` option (AVTS_HAVE_CUDA); one thread at a time per object.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "avts/gpu.h"
#include "avts/model.h"
#include "avts/video_prep.h"

namespace avts::gpu {

class BatchPipeline;

// Clips of video_frames_per_clip() decoded frames -> rows. The frames of one clip (and of one
// batch) share a size; a clip of another size or format starts a new batch.
class VideoClipEmbedder {
 public:
  // Throws avts::Error when the model is not on a CUDA device, the layer is unknown or the
  // batch size is below 1.
  VideoClipEmbedder(std::shared_ptr<const Model> model, const std::string& layer = "embedding", int batch_size = 32);
  ~VideoClipEmbedder();

  int dim() const;
  int frames_per_clip() const;

  // Adds one clip (frames_per_clip() frames); appends to `rows` the rows that are done, dim()
  // floats per clip, in the order the clips were added.
  void add(const RgbImage* frames, std::vector<float>& rows);
  void add(const I420Image* frames, YuvMatrix matrix, std::vector<float>& rows);
  // Runs what is queued and appends every remaining row.
  void finish(std::vector<float>& rows);

 private:
  std::unique_ptr<BatchPipeline> pipeline_;
};

// Windows of window_samples() mono samples at the model's rate -> rows.
class AudioWindowEmbedder {
 public:
  AudioWindowEmbedder(std::shared_ptr<const Model> model, const std::string& layer = "embedding", int batch_size = 64);
  ~AudioWindowEmbedder();

  int dim() const;
  // Samples that make audio_frames_per_clip() log-mel frames: (frames - 1) * hop + win.
  int window_samples() const;

  void add(const float* samples, std::vector<float>& rows);
  void finish(std::vector<float>& rows);

 private:
  std::unique_ptr<BatchPipeline> pipeline_;
};

}  // namespace avts::gpu
