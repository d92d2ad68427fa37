// Training options: names of the choices, range checks, and JSON (for provenance and for
// checking that a resumed run is the same run).
#include <cmath>
#include <nlohmann/json.hpp>

#include "avts/error.h"
#include "train_internal.h"

namespace avts {

namespace {

template <typename E, size_t N>
E parse_name(const std::string& what, const std::string& name, const std::pair<E, const char*> (&table)[N]) {
  std::string known;
  for (const auto& [value, text] : table) {
    if (name == text) return value;
    known += (known.empty() ? "" : ", ") + std::string(text);
  }
  throw Error("unknown " + what + " '" + name + "' (known: " + known + ")");
}

template <typename E, size_t N>
const char* name_of(E value, const std::pair<E, const char*> (&table)[N]) {
  for (const auto& [v, text] : table)
    if (v == value) return text;
  return "?";
}

const std::pair<Split, const char*> kSplits[] = {
    {Split::Auto, "auto"}, {Split::Train, "train"}, {Split::Validation, "validation"}};
const std::pair<LossKind, const char*> kLosses[] = {{LossKind::Contrastive, "contrastive"},
                                                    {LossKind::CrossEntropy, "cross-entropy"},
                                                    {LossKind::MultiWay, "multi-way"}};
const std::pair<OptimizerKind, const char*> kOptimizers[] = {{OptimizerKind::Sgd, "sgd"},
                                                             {OptimizerKind::AdamW, "adamw"}};
const std::pair<ScheduleKind, const char*> kSchedules[] = {
    {ScheduleKind::Constant, "constant"}, {ScheduleKind::Cosine, "cosine"}, {ScheduleKind::Step, "step"}};
const std::pair<Curriculum, const char*> kCurricula[] = {{Curriculum::Paper, "paper"},
                                                         {Curriculum::PaperFine, "paper-fine"},
                                                         {Curriculum::None, "none"},
                                                         {Curriculum::EasyOnly, "easy-only"}};
const std::pair<DistBackend, const char*> kBackends[] = {
    {DistBackend::Auto, "auto"}, {DistBackend::Gloo, "gloo"}, {DistBackend::Nccl, "nccl"}};

void require(bool ok, const std::string& what) {
  if (!ok) throw Error("invalid training option: " + what);
}

}  // namespace

const char* split_name(Split s) { return name_of(s, kSplits); }
const char* loss_name(LossKind k) { return name_of(k, kLosses); }
const char* optimizer_name(OptimizerKind k) { return name_of(k, kOptimizers); }
const char* schedule_name(ScheduleKind k) { return name_of(k, kSchedules); }
const char* curriculum_name(Curriculum c) { return name_of(c, kCurricula); }
Split parse_split(const std::string& name) { return parse_name("split", name, kSplits); }
LossKind parse_loss(const std::string& name) { return parse_name("loss", name, kLosses); }
OptimizerKind parse_optimizer(const std::string& name) { return parse_name("optimizer", name, kOptimizers); }
ScheduleKind parse_schedule(const std::string& name) { return parse_name("schedule", name, kSchedules); }
Curriculum parse_curriculum(const std::string& name) { return parse_name("curriculum", name, kCurricula); }
const char* dist_backend_name(DistBackend b) { return name_of(b, kBackends); }
DistBackend parse_dist_backend(const std::string& name) { return parse_name("distributed backend", name, kBackends); }

void TrainOptions::validate() const {
  require(epochs >= 1, "epochs must be at least 1");
  require(batch_size >= 2 && batch_size % 2 == 0,
          "batch_size must be even and at least 2 (half positives, half negatives)");
  require(std::isfinite(margin) && margin > 0, "margin must be positive");
  require(std::isfinite(temperature) && temperature > 0, "temperature must be positive");
  require(easy_epochs >= 0 && mixed_epochs >= 0, "stage lengths must not be negative");
  require(hard_fraction >= 0 && hard_fraction <= 1, "hard_fraction must be in [0, 1]");
  require(negatives_per_anchor >= 1 && negatives_per_anchor <= 64, "negatives_per_anchor must be in [1, 64]");
  require(hard_shift_min_s > 0 && hard_shift_min_s <= hard_shift_max_s,
          "need 0 < hard_shift_min_s <= hard_shift_max_s");
  require(fine_shift_min_s > 0 && fine_shift_min_s <= fine_shift_max_s,
          "need 0 < fine_shift_min_s <= fine_shift_max_s");
  require(std::isfinite(lr) && lr > 0, "lr must be positive");
  require(momentum >= 0 && momentum < 1, "momentum must be in [0, 1)");
  require(weight_decay >= 0, "weight_decay must not be negative");
  require(step_epochs >= 1, "step_epochs must be at least 1");
  require(step_gamma > 0 && step_gamma <= 1, "step_gamma must be in (0, 1]");
  require(warmup_steps >= 0, "warmup_steps must not be negative");
  require(grad_clip_norm >= 0, "grad_clip_norm must not be negative (0 = no clipping)");
  require(gain_db >= 0 && gain_db <= 40, "gain_db must be in [0, 40]");
  require(zoom >= 1 && zoom <= 4, "zoom must be in [1, 4]");
  require(drift >= 0 && drift <= 16, "drift must be in [0, 16] pixels per frame");
  require(blur >= 0 && blur <= 4, "blur must be in [0, 4] pixels");
  require(noise_snr_db >= -10, "noise_snr_db must be at least -10 dB (infinity: no noise)");
  require(max_train_files >= 2, "max_train_files must be at least 2 (easy negatives come from another file)");
  require(max_validation_files >= 0, "max_validation_files must not be negative");
  require(validation_fraction >= 0 && validation_fraction < 1, "validation_fraction must be in [0, 1)");
  require(validation_clips_per_file >= 1, "validation_clips_per_file must be at least 1");
  require(queue_batches >= 1, "queue_batches must be at least 1");
  require(distributed.world_size >= 1, "distributed.world_size must be at least 1");
  require(distributed.rank >= 0 && distributed.rank < distributed.world_size,
          "distributed.rank must be in [0, world_size)");
  require(distributed.master_port >= 1 && distributed.master_port <= 65535,
          "distributed.master_port must be in 1..65535");
  require(distributed.timeout_s >= 1, "distributed.timeout_s must be at least 1");
}

namespace {

nlohmann::json run_json(const TrainOptions& o) {
  nlohmann::json j = {
      {"seed", std::to_string(o.seed)},  // a string: JSON numbers lose 64-bit precision
      {"batch_size", o.batch_size},
      {"loss", loss_name(o.loss)},
      {"margin", o.margin},
      {"temperature", o.temperature},
      {"curriculum", curriculum_name(o.curriculum)},
      {"easy_epochs", o.easy_epochs},
      {"mixed_epochs", o.mixed_epochs},
      {"hard_fraction", o.hard_fraction},
      {"negatives_per_anchor", o.negatives_per_anchor},
      {"hard_shift_s", {o.hard_shift_min_s, o.hard_shift_max_s}},
      {"fine_shift_s", {o.fine_shift_min_s, o.fine_shift_max_s}},
      {"optimizer", optimizer_name(o.optimizer)},
      {"lr", o.lr},
      {"momentum", o.momentum},
      {"weight_decay", o.weight_decay},
      {"schedule", schedule_name(o.schedule)},
      {"step_epochs", o.step_epochs},
      {"step_gamma", o.step_gamma},
      {"warmup_steps", o.warmup_steps},
      {"grad_clip_norm", o.grad_clip_norm},
      {"random_crop", o.random_crop},
      {"flip", o.flip},
      {"gain_db", o.gain_db},
      {"max_train_files", o.max_train_files},
      {"max_validation_files", o.max_validation_files},
      {"validation_fraction", o.validation_fraction},
      {"validation_clips_per_file", o.validation_clips_per_file},
      {"queue_batches", o.queue_batches},
      {"world_size", o.distributed.world_size},
  };
  // Only where used: checkpoints of runs from before they existed still resume.
  if (o.zoom != 1.0) j["zoom"] = o.zoom;
  if (o.drift != 0) j["drift"] = o.drift;
  if (o.blur != 0) j["blur"] = o.blur;
  if (std::isfinite(o.noise_snr_db)) j["noise_snr_db"] = o.noise_snr_db;
  return j;
}

}  // namespace

std::string TrainOptions::to_json() const {
  nlohmann::json j = run_json(*this);
  j["epochs"] = epochs;
  j["output"] = output;
  j["checkpoint"] = checkpoint;
  j["command"] = command;
  return j.dump(2);
}

namespace train {

std::string run_defining_json(const TrainOptions& options) { return run_json(options).dump(); }

}  // namespace train

}  // namespace avts
