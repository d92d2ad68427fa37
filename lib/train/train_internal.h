// Internal to lib/: the trainer's parts, LibTorch-facing, one concept per source file:
//   train_clips.cpp       stored files (log-mel frames + resized video) and clip tensors
//   train_sampler.cpp     anchors, positives, easy and hard negatives, curriculum stages,
//                         fixed validation pairs
//   train_loss.cpp        contrastive and cross-entropy losses
//   train_metrics.cpp     threshold fit, balanced accuracy, ROC AUC
//   train_validation.cpp  the validation pairs scored, and the report on them
//   train_optimizer.cpp   optimizer, learning-rate schedule, optimizer state by name
//   train_checkpoint.cpp  the trainer-state file
//   train_options.cpp     option names, validation, JSON
//   train_distributed.cpp the process group of data-parallel training (c10d, Gloo or NCCL)
//   train_trainer.cpp     the loop
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "avts/nets.h"
#include "avts/train.h"

namespace avts::train {

using Rng = std::mt19937_64;
// A generator seeded from several 64-bit values (seed, epoch, a file's id hash, ...).
Rng seeded_rng(std::initializer_list<uint64_t> values);
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// ---- Stored files (train_clips.cpp) ----

// A file ready for sampling. Video frame j is at time j / fps; the audio clip under the
// video clip starting at frame j starts at log-mel frame audio_start(j).
struct StoredFile {
  std::string id;
  torch::Tensor logmel;          // A x n_mels float, frame k starts k * hop samples after video frame 0
  torch::Tensor video;           // V x H x W x 3 uint8, H, W >= crop (short side = resize)
  int video_clip = 0;            // video frames per clip
  int audio_clip = 0;            // log-mel frames per clip
  double audio_per_video = 4.0;  // log-mel frames per video frame

  int64_t audio_frames() const { return logmel.size(0); }
  int64_t video_frames() const { return video.size(0); }
  int64_t audio_start(int64_t video_start) const;
  // Video starts j whose video clip and audio clip both lie inside the file: 0..clip_starts()-1.
  int64_t clip_starts() const;
  // Audio clip starts inside the file: 0..audio_starts()-1.
  int64_t audio_starts() const { return std::max<int64_t>(0, audio_frames() - audio_clip + 1); }
};

// Turns a TrainingFile into a StoredFile: trims both streams to their common start, computes
// the log-mel frames. Throws avts::Error when a stream is missing.
std::shared_ptr<const StoredFile> store(TrainingFile&& file, const ModelConfig& config);

// Where a clip is cut from the stored frames.
struct VideoCut {
  int64_t start = 0;       // first video frame
  int64_t y = 0, x = 0;    // top-left of the square in the first frame
  int64_t side = 0;        // of the square, scaled to the model's crop (0: the crop itself)
  int64_t dy = 0, dx = 0;  // the square's move from one frame to the next
  bool flip = false;
};

// How training clips vary (TrainOptions' flip, zoom and drift).
struct CutAugmentation {
  bool flip = false;    // horizontal flip with probability 1/2
  double max_zoom = 1;  // a smaller square, scaled up: zoomed in by a factor log-uniform in [1, max_zoom]
  int max_drift = 0;    // the square moves by up to this many pixels per frame, as a head or camera does
};

// Centre crop as the inference front end places it.
VideoCut centre_cut(const StoredFile& file, int64_t start, int crop);
// A random place in the frame, varied as `aug` allows; the square stays inside every frame.
VideoCut random_cut(const StoredFile& file, int64_t start, int crop, const CutAugmentation& aug, Rng& rng);

// 3 x T x crop x crop, normalised with the model's mean / std.
torch::Tensor video_clip(const StoredFile& file, const VideoCut& cut, const VideoFrontEndConfig& config);
// The two halves of video_clip(), so that a batch travels to the GPU as bytes and is
// normalised there: the cut (flipped if asked) as T x crop x crop x 3 uint8, and stacked cuts
// (N x T x H x W x 3 uint8, on any device) -> N x 3 x T x H x W normalised floats there.
torch::Tensor video_cut(const StoredFile& file, const VideoCut& cut, int crop);
torch::Tensor normalise_video(const torch::Tensor& cuts, const VideoFrontEndConfig& config);
// 1 x n_mels x T (mel-major, as the audio net reads it); `gain_db` scales the waveform power
// by 10^(gain_db / 10), applied exactly to the mel energies under the log.
torch::Tensor audio_clip(const StoredFile& file, int64_t start, double gain_db, double log_offset);

// Appearance and sound unlike the training footage's (TrainOptions' blur and noise_snr_db).
// `cut` (T x H x W x C bytes) blurred by a Gaussian of `sigma` pixels in each frame.
torch::Tensor blur_cut(const torch::Tensor& cut, double sigma);
// An audio clip (1 x mels x frames of log(power + log_offset)) with coloured noise added at
// `snr_db` below its mean power: a random spectral tilt, each band and frame fluctuating as
// a mel band of noise does.
torch::Tensor add_noise(const torch::Tensor& clip, double snr_db, double log_offset, Rng& rng);

// ---- Sampling (train_sampler.cpp) ----

// What a curriculum stage draws.
struct Stage {
  int number = 1;
  double hard_fraction = 0;              // of the negatives
  int64_t shift_min = 0, shift_max = 0;  // |hard shift| in log-mel frames
};

Stage stage_for_epoch(const TrainOptions& options, const ModelConfig& config, int epoch);
// Seconds -> log-mel frames (rounded).
int64_t seconds_to_audio_frames(double seconds, const ModelConfig& config);

enum class NegativeKind { Easy, Hard };

// An audio clip: a file and a log-mel start.
struct AudioRef {
  std::shared_ptr<const StoredFile> file;
  int64_t start = 0;
};

// One training example: a video clip with its positive audio and one negative audio.
struct Sample {
  std::shared_ptr<const StoredFile> file;
  int64_t video_start = 0;
  AudioRef negative;
  NegativeKind kind = NegativeKind::Easy;
  bool hard_fallback = false;  // a hard negative was asked for but the file has no room
};

// Clips a file gives per epoch: one per clip length of valid starts (at least one when the
// file holds a clip at all).
int64_t anchor_slots(const StoredFile& file);
// A random video start inside slot `slot`.
int64_t draw_anchor_start(const StoredFile& file, int64_t slot, Rng& rng);
// A shift `delta` (log-mel frames) with shift_min <= |delta| <= shift_max that keeps the audio
// clip starting at audio_start + delta inside the file, uniform over all such shifts.
std::optional<int64_t> draw_hard_shift(const StoredFile& file, int64_t audio_start, int64_t shift_min,
                                       int64_t shift_max, Rng& rng);
// Audio of another file of the bank (a different id), at a uniform start.
AudioRef draw_easy(const std::vector<std::shared_ptr<const StoredFile>>& bank, const StoredFile& anchor, Rng& rng);
// The negative for the video clip at `video_start` of `file`, per the stage's mix.
Sample draw_sample(const Stage& stage, std::shared_ptr<const StoredFile> file, int64_t video_start,
                   const std::vector<std::shared_ptr<const StoredFile>>& bank, Rng& rng);

// A validation clip: centre-cropped video, its positive, an easy and (room permitting) a hard
// negative, the same in every epoch.
struct ValidationItem {
  std::shared_ptr<const StoredFile> file;
  int64_t video_start = 0;
  AudioRef easy;
  std::optional<int64_t> hard_start;
};

// Drawn from `seed` and the file ids only (files sorted by id), so every epoch and every
// resumed run validates on the same pairs. Easy negatives need two or more files.
std::vector<ValidationItem> validation_items(std::vector<std::shared_ptr<const StoredFile>> files,
                                             const TrainOptions& options, const ModelConfig& config);

// Stable 64-bit hash of a file id (FNV-1a), for seeds and the Auto split.
uint64_t id_hash(const std::string& id);

// ---- Losses (train_loss.cpp) ----

// Euclidean distance of each row pair: N x D, N x D -> N.
torch::Tensor pair_distance(const torch::Tensor& video, const torch::Tensor& audio);
// Mean over pairs of y d^2 + (1 - y) max(0, margin - d)^2; y = 1 for in sync (float N).
// With `weight` (float N, summing to 1): the weighted sum instead of the mean.
// Cross-entropy of each anchor's positive (audio block 0) among its `candidates` audio rows,
// on logits -d / temperature; video holds one row per anchor.
torch::Tensor multi_way_loss(const torch::Tensor& video, const torch::Tensor& audio, int64_t candidates,
                             double temperature);
torch::Tensor contrastive_loss(const torch::Tensor& video, const torch::Tensor& audio, const torch::Tensor& y,
                               double margin, const torch::Tensor& weight = {});
// Mean two-way cross-entropy on the fusion head's logits (N x 2, index 1 = in sync); with
// `weight`, the weighted sum.
torch::Tensor fusion_cross_entropy(const torch::Tensor& logits, const torch::Tensor& y,
                                   const torch::Tensor& weight = {});

// ---- Metrics (train_metrics.cpp) ----

// The threshold t maximising the balanced accuracy of "in sync if score < t" on positives
// (low scores) against negatives; the midpoint of the best gap between sorted scores.
double fit_threshold(const std::vector<double>& positives, const std::vector<double>& negatives);
// (share of positives below t + share of negatives at or above t) / 2; NaN when a side is empty.
double balanced_accuracy(const std::vector<double>& positives, const std::vector<double>& negatives, double threshold);
// Probability that a random negative scores higher than a random positive (ties count 1/2).
double roc_auc(const std::vector<double>& positives, const std::vector<double>& negatives);

// ---- Validation (train_validation.cpp) ----

// The validation pairs' scores by kind: distances d, and the score the loss trains (d, or the
// fusion head's P(out of sync) for the cross-entropy loss).
struct ValidationScores {
  std::vector<double> d_pos, d_easy, d_hard, s_pos, s_easy, s_hard;
};
// Video and audio batches -> their embeddings (float32), as the trainer computes them.
using EmbedBatch = std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor&, const torch::Tensor&)>;
// Each item's centre-cut video against its positive, easy and hard audio, in batches, without
// gradients; `fusion` (the cross-entropy loss's head, else null) gives the trained score.
ValidationScores score_validation(const std::vector<ValidationItem>& items, const ModelConfig& config,
                                  torch::Device device, const EmbedBatch& embed, nets::FusionHeadImpl* fusion);
// The threshold fitted on the distances; accuracies (at the distance threshold, or at the
// fusion score's own) and AUCs of the trained score; mean distances by kind.
ValidationReport validation_report(const ValidationScores& scores, int clips, bool fusion_scores);
// A tensor's values as doubles, on the CPU.
std::vector<double> to_vector(const torch::Tensor& t);

// ---- Optimizer (train_optimizer.cpp) ----

double learning_rate(const TrainOptions& options, int epoch, int64_t step);

// The chosen torch optimizer over the network's named parameters, with its state readable
// and writable by parameter name (for checkpoints).
class Optimizer {
 public:
  Optimizer(nets::AvtsNet& net, const TrainOptions& options);
  void zero_grad();
  void step(double lr);
  NamedTensors state() const;                  // e.g. "momentum_buffer/video.stem.0.weight"
  void load_state(const NamedTensors& state);  // throws avts::Error on a mismatch

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  OptimizerKind kind_;
};

// ---- Data parallelism (train_distributed.cpp) ----

// The ranks of one data-parallel run. Every collective must be called by every rank in the
// same order; errors (a rank gone, the timeout) become avts::Error. The collectives take
// tensors on any device: they run on device() (the host for Gloo, the model's GPU for
// NCCL), and a tensor elsewhere is copied there and back.
class ProcessGroup {
 public:
  // Joins the group: rank 0 hosts the rendezvous store. `model_device` decides the Auto
  // backend. Throws avts::Error when the others do not come within the timeout, when this
  // build lacks the backend, or when NCCL is asked for a model that is not on a GPU.
  ProcessGroup(const DistributedOptions& options, const torch::Device& model_device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  DistBackend backend() const { return backend_; }  // Gloo or Nccl, never Auto
  const torch::Device& device() const { return device_; }
  void all_reduce_sum(torch::Tensor& t);  // in place
  void broadcast(torch::Tensor& t, int root);
  // Every rank's 1-D tensor (of any length) concatenated in rank order, on t's device.
  torch::Tensor all_gather(const torch::Tensor& t);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
  DistBackend backend_ = DistBackend::Gloo;
  torch::Device device_{torch::kCPU};
};

// ---- Trainer-state file (train_checkpoint.cpp) ----

// {"format": "avts-trainer-state", "version": 1, "config": model config JSON,
//  "trainer": trainer JSON (epoch, step, options), "state_dict": weights,
//  "optimizer": optimizer state} in PyTorch's zip format, written atomically.
struct Checkpoint {
  std::string config_json;
  std::string trainer_json;
  NamedTensors weights;
  NamedTensors optimizer;
};

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Runs no code from the file; throws avts::Error naming the file and the problem.
Checkpoint read_checkpoint(const std::string& path);

// Options JSON without the entries a resumed run may change (epochs, paths, command).
std::string run_defining_json(const TrainOptions& options);

}  // namespace avts::train
