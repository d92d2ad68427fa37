// A loaded AVTS model: the config and both networks, ready for batched inference.
// LibTorch stays behind this header so that elements and tools compile quickly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "avts/config.h"

namespace avts {

enum class Modality { Audio, Video };

const char* modality_name(Modality m);  // "audio" / "video"

// Arithmetic of the forward passes: float32, or autocast to bfloat16 / float16 as
// torch.autocast does (convolutions and matrix products in the lower precision, reductions in
// float32). On a CUDA device all three; on the CPU float32 or bfloat16 (inference only: CPUs
// with AVX512-BF16 or AMX run the networks faster in it). Training takes float32, or bfloat16
// on a CUDA device.
enum class Precision { Float32, BFloat16, Float16 };

const char* precision_name(Precision p);  // "float32" / "bfloat16" / "float16"
// Also takes "fp32", "bf16", "fp16"; throws avts::Error listing the names otherwise.
Precision parse_precision(const std::string& name);

class Model {
 public:
  // Reads a model file written by save(). Throws ModelFileError with a message naming the
  // file and the problem (missing, truncated, corrupt, not an AVTS model, weights that do
  // not match the stored config). Never runs code from the file.
  // `device` is "cpu", "cuda" or "cuda:N"; an unavailable device throws avts::Error.
  static std::shared_ptr<Model> load(const std::string& path, const std::string& device = "cpu");

  // A freshly initialised model (weights drawn from `seed`), for training and for tests.
  static std::shared_ptr<Model> create(const ModelConfig& config, uint64_t seed, const std::string& device = "cpu");

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Writes the model file atomically (temporary file in the same folder, then rename).
  // Throws avts::Error when the file cannot be written; an existing file is then untouched.
  void save(const std::string& path) const;

  const ModelConfig& config() const;
  // Content hash of the weights and config (hex, 16 characters): the feature streams'
  // model-id, equal for every copy of the same model file.
  const std::string& id() const;
  const std::string& device() const;

  // float16 needs a CUDA device: throws avts::Error on the CPU. Set it before the model is
  // shared with featurizers or a trainer.
  void set_precision(Precision precision);
  Precision precision() const;

  // Stores the sync estimator's minimum confidence calibrated for this model (config
  // min_confidence) and where it was calibrated (provenance "min-confidence-calibrated-on").
  // Throws avts::Error outside [0, 2]. save() writes it.
  void set_min_confidence(double min_confidence, const std::string& calibrated_on);

  // Layers whose output can be extracted: "embedding" (L2-normalised, embedding_dim) and
  // "layer1".."layer4" (globally average-pooled conv stages).
  static std::vector<std::string> layer_names();
  // Output width of `layer` for `modality`; throws avts::Error for an unknown layer.
  int dim(Modality modality, const std::string& layer) const;

  // Audio: `n` windows, each 1 x n_mels x audio_frames_per_clip() (mel-major).
  // Video: `n` clips, each 3 x video_frames_per_clip() x crop x crop (normalised).
  // Writes n x dim(modality, layer) floats to `out`. Thread-safe.
  void embed(Modality modality, const float* input, int n, const std::string& layer, float* out) const;

  // Sets LibTorch's intra-op thread count (process-wide); 0 = number of cores.
  static void set_threads(int n);

  struct Impl;  // defined in lib/, where LibTorch is visible
  Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace avts
