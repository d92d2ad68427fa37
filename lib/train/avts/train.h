// Self-supervised training of an AVTS model (Korbar, Tran & Torresani, NeurIPS 2018): the
// networks learn to tell an in-sync audio/video pair (positive) from an out-of-sync one
// (negative), with the paper's curriculum of easy negatives (audio of another file) and then
// hard negatives (audio of the same file, shifted).
//
// Files stream in: decode one, push its audio and video into a TrainingFile, hand it to
// Trainer::add_file(), which trains as soon as clips from enough files are queued; call
// end_epoch() when the epoch's files are in. Memory stays bounded: the trainer keeps a bank
// of at most `max_train_files` training files (easy negatives come from the bank) and a
// fixed validation set. Torch-free: used by the avtstrain element and `avts train`.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "avts/config.h"
#include "avts/model.h"
#include "avts/video_prep.h"

namespace avts {

// Which set a file belongs to. Auto: validation for a stable `validation_fraction` of the
// file ids (by a hash of the id), training for the rest.
enum class Split { Auto, Train, Validation };

enum class LossKind {
  Contrastive,   // L = y d^2 + (1 - y) max(0, margin - d)^2 on d = ||v - a||
  CrossEntropy,  // two-way cross-entropy on the fusion head
  // Each anchor's video against its positive and its negatives at once: softmax over
  // -d / temperature, cross-entropy on the positive (multi-way matching, as "Perfect Match",
  // Chung et al. 2019). It trains what the offset search does, rank the true alignment first
  // among shifted ones, and has no constant-distance optimum for the embeddings to settle in.
  MultiWay,
};

enum class OptimizerKind { Sgd, AdamW };

enum class ScheduleKind {
  Constant,
  Cosine,  // lr * (1 + cos(pi * epoch / epochs)) / 2
  Step,    // lr * step_gamma ^ floor(epoch / step_epochs)
};

enum class Curriculum {
  Paper,      // stage 1 (easy negatives only) for easy_epochs, then stage 2 (easy + hard)
  PaperFine,  // as Paper, then after mixed_epochs of stage 2, stage 3 (hard shift narrowed)
  None,       // stage 2 from the start
  EasyOnly,   // stage 1 throughout
};

// How the ranks of a data-parallel run exchange gradients. Gloo goes through the host and
// works on any device; NCCL goes from GPU to GPU (a CUDA LibTorch with NCCL). Auto: NCCL
// when the model is on a GPU and this build has it, else Gloo (torch.distributed's defaults).
enum class DistBackend { Auto, Gloo, Nccl };

// Names for properties, command-line flags and provenance ("contrastive", "cross-entropy";
// "sgd", "adamw"; "constant", "cosine", "step"; "paper", "paper-fine", "none", "easy-only",
// "auto", "train", "validation"; "auto", "gloo", "nccl"). parse_* throws avts::Error listing
// the known names.
const char* split_name(Split s);
const char* loss_name(LossKind k);
const char* optimizer_name(OptimizerKind k);
const char* schedule_name(ScheduleKind k);
const char* curriculum_name(Curriculum c);
Split parse_split(const std::string& name);
LossKind parse_loss(const std::string& name);
OptimizerKind parse_optimizer(const std::string& name);
ScheduleKind parse_schedule(const std::string& name);
Curriculum parse_curriculum(const std::string& name);
const char* dist_backend_name(DistBackend b);
DistBackend parse_dist_backend(const std::string& name);

// Data-parallel training over several processes and machines (PyTorch distributed: c10d
// over Gloo or NCCL). Each rank trains on its own files (its shard of the corpus); at every
// step the gradients are averaged over all ranks, so the weights stay the same everywhere;
// BatchNorm statistics are taken from rank 0 at each epoch's end, validation pools every
// rank's validation pairs, and only rank 0 writes the model and checkpoint files. Every rank
// makes the same calls (end_epoch, validate) in the same order. World size 1 with the Auto
// backend: one process, no communication; a backend named explicitly joins its group even
// alone, as torch.distributed does (a check of the launch and of the backend). Gloo binds to
// the interface in GLOO_SOCKET_IFNAME if set, as PyTorch does; NCCL reads its own NCCL_*
// variables.
struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;                     // this rank's GPU on its machine: device "cuda:<local_rank>"
  std::string master_addr = "127.0.0.1";  // rank 0 hosts the rendezvous (a TCP store) here
  int master_port = 29500;
  int timeout_s = 1800;  // how long a rank waits for the others
  // torchrun's static rendezvous (--master_addr / --master_port) hosts the TCP store in its
  // own agent: then every rank joins it as a client, under the key prefix of the launch
  // attempt, as PyTorch's workers do (TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT).
  bool agent_store = false;
  int restart_count = 0;
  DistBackend backend = DistBackend::Auto;

  // As torchrun sets them (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), else as
  // Slurm does (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID); one process when neither is set.
  // Throws avts::Error on malformed values. The backend stays Auto.
  static DistributedOptions from_environment();
  // Whether this build has c10d with that backend: Gloo (Debian: libgloo-dev at build time),
  // NCCL (a CUDA LibTorch built with it, and nccl.h at build time); Auto: either.
  static bool available(DistBackend backend = DistBackend::Gloo);
  // Throws avts::Error when the backend cannot serve a model on `device` ("cpu", "cuda",
  // "cuda:N"): NCCL in a build without it, or for a model on the CPU.
  void check_backend(const std::string& device) const;
  // Whether the trainer joins a process group: several ranks, or a backend named explicitly.
  bool joins_group() const { return world_size > 1 || backend != DistBackend::Auto; }
  // The device this rank trains on: "cuda" becomes "cuda:<local_rank>" when several ranks
  // run, so that each rank of a machine has a GPU of its own (NCCL needs that). Any other
  // name is returned as it is.
  std::string rank_device(const std::string& device) const;
};

struct TrainOptions {
  uint64_t seed = 1;  // sampling, augmentation and validation pairs
  int epochs = 30;
  int batch_size = 32;  // pairs per step, half positives and half negatives (even)

  LossKind loss = LossKind::Contrastive;
  double margin = 0.99;      // eta of the contrastive loss
  double temperature = 0.1;  // of the multi-way loss's softmax over distances (in [0, 2])

  Curriculum curriculum = Curriculum::Paper;
  int easy_epochs = 10;         // length of stage 1
  int mixed_epochs = 15;        // length of stage 2 when stage 3 follows (PaperFine)
  double hard_fraction = 0.25;  // share of hard negatives among the negatives of stages 2, 3
  // Negatives drawn for each anchor's video clip (each easy or hard per the stage's mix).
  // The video network, the costly one, runs once per anchor whatever the count; positives
  // and negatives weigh half of the loss each.
  int negatives_per_anchor = 1;
  double hard_shift_min_s = 0.5;  // |shift| of hard negatives in stage 2 (and validation)
  double hard_shift_max_s = 2.0;
  double fine_shift_min_s = 0.08;  // stage 3: 2 to 10 frames at 25 fps
  double fine_shift_max_s = 0.4;

  OptimizerKind optimizer = OptimizerKind::Sgd;
  double lr = 0.01;
  double momentum = 0.9;  // SGD
  double weight_decay = 1e-4;
  ScheduleKind schedule = ScheduleKind::Cosine;
  int step_epochs = 10;  // Step schedule
  double step_gamma = 0.1;
  int warmup_steps = 0;       // lr ramps up linearly over the first steps
  double grad_clip_norm = 0;  // clip the global gradient norm to this; 0 = no clipping

  bool random_crop = true;  // training clips: random crop (validation: centre crop)
  bool flip = true;         // and horizontal flip with probability 1/2
  double zoom = 1.0;        // and zoomed in by a factor drawn log-uniformly in [1, zoom] (1: never)
  int drift = 0;            // and moved by up to this many pixels (of the model's frames) per frame
  double blur = 0;          // and, half of them, blurred by a Gaussian of sigma up to this (pixels; 0: never)
  double gain_db = 6.0;     // audio gain drawn uniformly in [-gain_db, gain_db]
  // Half of the audio clips get noise at a signal-to-noise ratio drawn uniformly in
  // [noise_snr_db, noise_snr_db + 30] dB (infinity: never).
  double noise_snr_db = std::numeric_limits<double>::infinity();

  int max_train_files = 32;          // bank of training files held in memory
  int max_validation_files = 64;     // validation files held (later ones are not used)
  double validation_fraction = 0.1;  // for Split::Auto
  int validation_clips_per_file = 4;
  int queue_batches = 4;  // steps wait until this many batches of clips are queued

  DistributedOptions distributed;

  std::string output;      // model file written after every epoch ("" = none)
  std::string checkpoint;  // trainer state written after every epoch ("" = none)
  std::string command;     // how the run was started, for the provenance

  // Throws avts::Error naming the first option out of range.
  void validate() const;
  std::string to_json() const;
};

// One decoded media file, collected for training: push audio and video as they are decoded
// (in PTS order), then hand it to Trainer::add_file(). Video is resampled to the model's
// frame rate by PTS and resized (short side = the model's `resize`) on the way in, so only
// the resized frames are kept.
class TrainingFile {
 public:
  TrainingFile(const ModelConfig& config, std::string id, Split split = Split::Auto);
  ~TrainingFile();
  TrainingFile(TrainingFile&&) noexcept;
  TrainingFile& operator=(TrainingFile&&) noexcept;

  const std::string& id() const;
  Split split() const;

  // Mono float samples at the model's sample rate; `pts_ns` is the time of samples[0].
  // Gaps are filled with silence and overlaps dropped (1 ms tolerance). A forward jump met by
  // a video jump of the same size (within 1 s) is the container's clock jumping: both are
  // closed when the file is stored.
  void push_audio(int64_t pts_ns, const float* samples, size_t n);
  // An RGB frame of any size; `duration_ns` (< 0: unknown) tells how far the last frame
  // reaches. Frames whose PTS goes back are dropped.
  // `region`, when given, is the part of this frame to look at instead of the model's (a
  // face's mouth, as avtsvideofeat takes it).
  void push_video(int64_t pts_ns, const RgbImage& frame, int64_t duration_ns = -1, const FrameRegion* region = nullptr);

  double audio_seconds() const;  // pushed so far
  int video_frames() const;      // model-rate frames so far

  // A copy of what was pushed (frames are kept resized, 8-bit): later epochs can feed the
  // same file again without decoding it again. `bytes()` is what a copy holds.
  TrainingFile copy() const;
  size_t bytes() const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct ValidationReport {
  int clips = 0;       // video clips, each with a positive and its negatives
  int easy_pairs = 0;  // negatives of each kind
  int hard_pairs = 0;
  // Balanced accuracy (positives vs negatives of that kind) at the decision threshold,
  // and ROC AUC, on the score the loss trains: the distance (contrastive) or the fusion
  // head's P(out of sync) (cross-entropy). NaN when there are no pairs of that kind.
  double accuracy_easy = 0, accuracy_hard = 0;
  double auc_easy = 0, auc_hard = 0;
  // The distance threshold, fitted for the best balanced accuracy of positives against all
  // negatives; saved as the model's config.threshold. NaN when there is no validation data.
  double threshold = 0;
  double mean_distance_positive = 0, mean_distance_easy = 0, mean_distance_hard = 0;
};

struct TrainProgress {
  enum class Kind { Step, Epoch } kind = Kind::Step;
  int epoch = 0;  // 0-based epoch being trained (Epoch: the one just finished)
  int epochs = 0;
  int stage = 1;     // curriculum stage 1..3
  int64_t step = 0;  // optimizer steps since the start of the run
  double lr = 0;
  double loss = 0;              // of the latest step
  double epoch_loss = 0;        // mean over this epoch's steps
  int64_t epoch_pairs = 0;      // pairs trained this epoch (all ranks)
  double pairs_per_second = 0;  // this epoch, training time only
  int train_files = 0;          // training files added this epoch (Epoch: all ranks)
  int hard_fallbacks = 0;       // hard negatives replaced by easy ones (file too short)
  bool validated = false;       // Epoch: validation ran (there was validation data)
  ValidationReport validation;
};

// Where a manifest line without a split tag goes: validation for a stable share
// `validation_fraction` of file ids (a hash of the id), the rest training. The trainer and
// `avts eval --split` apply it alike.
bool auto_is_validation(const std::string& id, double validation_fraction);

// Training arithmetic, the one rule: float32 anywhere, bfloat16 autocast on a CUDA device
// ("cuda", "cuda:N"), float16 never (it would need loss scaling). Throws avts::Error saying
// what to use instead.
void check_train_precision(Precision precision, const std::string& device);

class Trainer;

// Where a run starts: the checkpoint `resume` (its model, epoch and step), else the model file
// `init` (fine-tuning), else a fresh model of `preset`.
struct RunStart {
  std::string resume, init, preset = "avts-compact";
  std::string device = "cpu";  // this rank's (DistributedOptions::rank_device)
  Precision precision = Precision::Float32;
  uint64_t seed = 1;       // a fresh model's weights
  std::string created_by;  // a fresh model's provenance
};

struct StartedRun {
  std::shared_ptr<Model> model;
  std::unique_ptr<Trainer> resumed;  // a resumed run's trainer (it joined its group when `options` say so)
  int first_epoch = 0;               // the epochs its checkpoint completed
};

// Checks the precision on the device, then resumes, loads or creates the model. A resumed run
// needs options.epochs (where the whole run ends) and no `init`. Throws avts::Error that
// names what is wrong (a missing or damaged file, a bad combination).
StartedRun start_run(const RunStart& start, const TrainOptions& options);

class Trainer {
 public:
  // Trains `model` in place (its weights, and its config's threshold and provenance).
  Trainer(std::shared_ptr<Model> model, const TrainOptions& options);
  // Continues the run saved in `checkpoint` (written after an epoch): weights, optimizer
  // state, epoch and step. Options that define the run (seed, loss, batch, curriculum,
  // optimizer, schedule, ...) must equal the saved ones; `epochs`, the output paths and the
  // command may change. Throws avts::Error otherwise or when the file is not readable.
  static std::unique_ptr<Trainer> resume(const std::string& checkpoint, const TrainOptions& options,
                                         const std::string& device = "cpu");
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Takes a finished file. Training files join the bank (the oldest leaves beyond
  // max_train_files; files whose clips are still queued stay alive until trained) and queue
  // their clips; whole batches are trained as soon as queue_batches batches are queued and
  // the bank holds two files. Validation files join the fixed validation set (a file with the
  // same id replaces the old one). Returns how many clips the file gives (0: shorter than one
  // clip, not used). Throws avts::Error when the file has no audio or no video, or was
  // prepared for another front end.
  int add_file(TrainingFile&& file);

  // Ends the epoch: trains what is queued, validates, fits the threshold, writes `output`
  // and `checkpoint`, and empties the bank (each epoch feeds its files again). The model's
  // id is refreshed here (not after every step). Throws avts::Error when the epoch had fewer
  // than two training files (data-parallel: on every rank, when any rank had).
  TrainProgress end_epoch();

  // Runs the validation pairs through the model (no training, no change to the model).
  // Data-parallel: pools every rank's pairs; every rank must call it.
  ValidationReport validate();

  void save_checkpoint(const std::string& path) const;

  // Called after every step and every epoch, on the thread that trains.
  void set_progress(std::function<void(const TrainProgress&)> callback);

  int epoch() const;      // epochs completed
  bool finished() const;  // epoch() >= options().epochs
  int64_t step() const;
  int stage() const;       // curriculum stage of the current epoch
  int bank_files() const;  // training files held now (at most max_train_files)
  int validation_files() const;
  const TrainOptions& options() const;
  std::shared_ptr<Model> model() const;

  struct Impl;

 private:
  explicit Trainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace avts
