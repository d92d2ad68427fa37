// The training loop: files in, clips queued, batches of positives and negatives through
// both networks, the loss, the optimizer; at each epoch's end validation, the fitted
// threshold and the provenance in the model, and the output and checkpoint files.
//
// All randomness of an epoch comes from one generator seeded by (seed, epoch, rank), so a
// run resumed from the checkpoint of epoch k trains epoch k + 1 exactly as the run that was
// not interrupted, given the same files in the same order.
//
// Data-parallel runs make every optimizer step a collective one: each rank contributes its
// batch's gradient weighted by its pair count (or nothing, once its epoch's data is done) and
// a flag saying it is done; the epoch's training ends when every rank is done. So ranks with
// different amounts of data take the same steps and keep identical weights.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "autocast.h"
#include "avts/error.h"
#include "train_internal.h"

namespace avts {

using namespace train;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint64_t kTrainStream = 0x747261696e;  // "train": the epoch generator's tag

std::string fixed(double v, int digits = 4) {
  if (!std::isfinite(v)) return "nan";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

// A training file's clip slot waiting in the queue.
struct Anchor {
  std::shared_ptr<const StoredFile> file;
  int64_t slot = 0;
};

}  // namespace

struct Trainer::Impl {
  Impl(std::shared_ptr<Model> m, const TrainOptions& o)
      : model(std::move(m)), net(model->impl().net), options(o), optimizer(net, o) {
    options.validate();
    check_train_precision(model->impl().precision, model->impl().device.str());
    for (const auto& p : net->named_parameters())
      // The contrastive loss never reaches the fusion head: leaving it out of the gradient
      // exchange keeps it untouched by the optimizer, as in a single process.
      if (options.loss == LossKind::CrossEntropy || p.key().rfind("fusion.", 0) != 0) trained.push_back(p.value());
    if (options.distributed.joins_group()) {
      group = std::make_unique<ProcessGroup>(options.distributed, model->impl().device);
      broadcast_state(/*parameters=*/true);
    }
    start_epoch();
  }

  int rank() const { return group ? group->rank() : 0; }

  const ModelConfig& config() const { return model->impl().config; }
  Stage stage() const { return stage_for_epoch(options, config(), epoch); }
  int64_t anchors_per_step() const { return options.batch_size / 2; }

  void start_epoch() {
    rng = seeded_rng({options.seed, static_cast<uint64_t>(epoch), kTrainStream, static_cast<uint64_t>(rank())});
    bank.clear();
    queue.clear();
    files_this_epoch = 0;
    hard_fallbacks = 0;
    epoch_pairs = 0;
    epoch_steps = 0;
    epoch_loss_sum = 0;
    train_seconds = 0;
  }

  int add_file(TrainingFile&& file) {
    const Split split =
        file.split() == Split::Auto
            ? (auto_is_validation(file.id(), options.validation_fraction) ? Split::Validation : Split::Train)
            : file.split();
    std::shared_ptr<const StoredFile> stored = store(std::move(file), config());
    const int64_t slots = anchor_slots(*stored);
    if (slots == 0) return 0;
    if (split == Split::Validation) {
      if (validation.count(stored->id) || static_cast<int>(validation.size()) < options.max_validation_files)
        validation[stored->id] = stored;
      return static_cast<int>(slots);
    }
    // The bank: the latest files, one entry per id.
    bank.erase(std::remove_if(bank.begin(), bank.end(), [&](const auto& f) { return f->id == stored->id; }),
               bank.end());
    bank.push_back(stored);
    if (static_cast<int>(bank.size()) > options.max_train_files) bank.erase(bank.begin());
    ++files_this_epoch;
    for (int64_t s = 0; s < slots; ++s) queue.push_back({stored, s});
    while (static_cast<int64_t>(queue.size()) >= options.queue_batches * anchors_per_step() && bank.size() >= 2)
      train_step(/*has_work=*/true);
    return static_cast<int>(slots);
  }

  // Up to one batch of anchors, drawn at random from the queue.
  std::vector<Anchor> take_batch() {
    const int64_t n = std::min<int64_t>(anchors_per_step(), static_cast<int64_t>(queue.size()));
    std::vector<Anchor> batch;
    for (int64_t i = 0; i < n; ++i) {
      const auto k = std::uniform_int_distribution<size_t>(0, queue.size() - 1)(rng);
      std::swap(queue[k], queue.back());
      batch.push_back(std::move(queue.back()));
      queue.pop_back();
    }
    return batch;
  }

  CutAugmentation augmentation() const { return {options.flip, options.zoom, options.drift}; }

  double draw_gain() {
    return options.gain_db > 0 ? std::uniform_real_distribution<double>(-options.gain_db, options.gain_db)(rng) : 0.0;
  }

  // A training audio clip with its gain and, half of the time when asked for, noise.
  torch::Tensor training_audio(const StoredFile& file, int64_t start) {
    const double log_offset = config().audio.log_offset;
    torch::Tensor x = audio_clip(file, start, draw_gain(), log_offset);
    if (std::isfinite(options.noise_snr_db) && std::bernoulli_distribution(0.5)(rng))
      x = add_noise(x, options.noise_snr_db + std::uniform_real_distribution<double>(0.0, 30.0)(rng), log_offset, rng);
    return x;
  }

  // A training video clip as `cut` places it, half of the time blurred when asked for.
  torch::Tensor training_video(const StoredFile& file, const VideoCut& cut) {
    torch::Tensor x = video_cut(file, cut, config().video.crop);
    if (options.blur > 0 && std::bernoulli_distribution(0.5)(rng))
      x = blur_cut(x, std::uniform_real_distribution<double>(0.0, options.blur)(rng));
    return x;
  }

  // One optimizer step on a batch from the queue: each anchor's video clip against its
  // positive and its negative audio, so positives and negatives are 1:1. Data-parallel, the
  // step is collective and `has_work` false joins it without a batch. Returns whether every
  // rank is out of work (then no step was taken).
  bool train_step(bool has_work) {
    const auto started = std::chrono::steady_clock::now();
    optimizer.zero_grad();
    int64_t pairs = 0;
    double loss_sum = 0;
    if (has_work) {
      const torch::Tensor loss = batch_loss();
      loss.backward();
      pairs = (1 + options.negatives_per_anchor) * last_batch_anchors;
      loss_sum = loss.item<double>() * pairs;
    }
    bool all_done = !has_work;
    if (group) all_done = average_gradients(pairs, loss_sum, !has_work);
    if (pairs == 0) return all_done;  // (summed over ranks)

    if (options.grad_clip_norm > 0) torch::nn::utils::clip_grad_norm_(trained, options.grad_clip_norm);
    const double lr = learning_rate(options, epoch, step);
    optimizer.step(lr);
    net->eval();  // between steps the model serves Model::embed()

    ++step;
    ++epoch_steps;
    epoch_loss_sum += loss_sum / pairs;
    epoch_pairs += pairs;
    total_pairs += pairs;
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (progress) {
      TrainProgress p = report(TrainProgress::Kind::Step);
      p.lr = lr;
      p.loss = loss_sum / pairs;
      progress(p);
    }
    return false;
  }

  // The loss of a batch drawn from the queue, in training mode.
  torch::Tensor batch_loss() {
    const std::vector<Anchor> anchors = take_batch();
    last_batch_anchors = static_cast<int64_t>(anchors.size());
    const Stage s = stage();
    const ModelConfig& c = config();
    const int64_t k = options.negatives_per_anchor;
    std::vector<torch::Tensor> videos, positives, negatives;
    for (const Anchor& a : anchors) {
      const int64_t start = draw_anchor_start(*a.file, a.slot, rng);
      std::vector<Sample> samples;  // drawn first: the random sequence of one negative is the paper's
      for (int64_t j = 0; j < k; ++j) {
        samples.push_back(draw_sample(s, a.file, start, bank, rng));
        hard_fallbacks += samples.back().hard_fallback;
      }
      VideoCut cut = options.random_crop ? random_cut(*a.file, start, c.video.crop, augmentation(), rng)
                                         : centre_cut(*a.file, start, c.video.crop);
      if (!options.random_crop && options.flip) cut.flip = std::bernoulli_distribution(0.5)(rng);
      videos.push_back(training_video(*a.file, cut));
      positives.push_back(training_audio(*a.file, a.file->audio_start(start)));
      for (const Sample& sample : samples)
        negatives.push_back(training_audio(*sample.negative.file, sample.negative.start));
    }
    const auto n = static_cast<int64_t>(anchors.size());
    const torch::Device device = model->impl().device;
    const torch::Tensor video = normalise_video(torch::stack(videos).to(device), c.video);  // bytes travel
    // Audio rows: the positives, then block j = negative j of every anchor, lined up with
    // the repeated video rows.
    std::vector<torch::Tensor> audio_rows = positives;
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < n; ++i) audio_rows.push_back(negatives[i * k + j]);
    const torch::Tensor audio = torch::stack(audio_rows).to(device);
    const torch::Tensor y = torch::cat({torch::ones({n}), torch::zeros({n * k})}).to(device);
    // Positives and negatives weigh half of the loss each, whatever k.
    const torch::Tensor w = torch::cat({torch::full({n}, 0.5 / n), torch::full({n * k}, 0.5 / (n * k))}).to(device);

    net->train();
    const auto [ve, a] = embed(video, audio);
    if (options.loss == LossKind::MultiWay) return multi_way_loss(ve, a, 1 + k, options.temperature);
    const torch::Tensor v = ve.repeat({1 + k, 1});
    return options.loss == LossKind::Contrastive ? contrastive_loss(v, a, y, options.margin, w)
                                                 : fusion_cross_entropy(net->fusion->forward(v, a), y, w);
  }

  // Both networks' embeddings in the model's precision, returned as float32 for the losses.
  std::pair<torch::Tensor, torch::Tensor> embed(const torch::Tensor& video, const torch::Tensor& audio) {
    const Model::Impl& m = model->impl();
    const AutocastGuard autocast(m.device, m.precision);
    return {net->video->forward(video).embedding.to(torch::kFloat32),
            net->audio->forward(audio).embedding.to(torch::kFloat32)};
  }

  // Sums every rank's pair-weighted gradient, pair count, loss and "done" flag; leaves the
  // average gradient in the parameters and the totals in `pairs` and `loss_sum`. Returns
  // whether every rank is done.
  bool average_gradients(int64_t& pairs, double& loss_sum, bool done) {
    // Gathered where the group works: the host for Gloo, the GPU for NCCL.
    const torch::TensorOptions on_group = torch::TensorOptions().device(group->device());
    std::vector<torch::Tensor> parts;
    for (const auto& p : trained)
      parts.push_back(p.grad().defined() ? p.grad().detach().flatten().to(group->device()) * static_cast<double>(pairs)
                                         : torch::zeros({p.numel()}, on_group));
    parts.push_back(torch::tensor({static_cast<float>(pairs), static_cast<float>(loss_sum), done ? 1.0f : 0.0f})
                        .to(group->device()));
    torch::Tensor flat = torch::cat(parts);
    group->all_reduce_sum(flat);
    const int64_t n = flat.numel();
    const torch::Tensor totals = flat.narrow(0, n - 3, 3).to(torch::kCPU);
    pairs = std::llround(totals[0].item<double>());
    loss_sum = totals[1].item<double>();
    const bool all_done = std::llround(totals[2].item<double>()) == group->size();
    if (pairs > 0) {
      int64_t offset = 0;
      for (auto& p : trained) {
        // A tensor of its own (not a view of `flat`): the optimizer resets gradients in place.
        p.mutable_grad() = (flat.narrow(0, offset, p.numel()).view_as(p) / static_cast<double>(pairs)).to(p.device());
        offset += p.numel();
      }
    }
    return all_done;
  }

  // Rank 0's parameters (at the start) or BatchNorm statistics (after each epoch) to all.
  void broadcast_state(bool parameters) {
    torch::NoGradGuard no_grad;
    const auto tensors = parameters ? net->parameters() : net->buffers();
    for (const auto& t : tensors) {
      torch::Tensor value = t.detach();
      group->broadcast(value, 0);  // in place, through a copy when the group works elsewhere
    }
  }

  TrainProgress report(TrainProgress::Kind kind) const {
    TrainProgress p;
    p.kind = kind;
    p.epoch = epoch;
    p.epochs = options.epochs;
    p.stage = stage().number;
    p.step = step;
    p.lr = learning_rate(options, epoch, step);
    p.epoch_loss = epoch_steps > 0 ? epoch_loss_sum / epoch_steps : kNaN;
    p.loss = p.epoch_loss;
    p.epoch_pairs = epoch_pairs;
    p.pairs_per_second = train_seconds > 0 ? epoch_pairs / train_seconds : 0;
    p.train_files = files_this_epoch;
    p.hard_fallbacks = hard_fallbacks;
    return p;
  }

  // Why this rank cannot end the epoch ("" = it can); data-parallel, every rank learns
  // whether any rank cannot, so that they all stop together.
  std::string epoch_problem() {
    std::string problem;
    if (files_this_epoch == 0)
      problem = "epoch " + std::to_string(epoch + 1) + " had no training files";
    else if (bank.size() < 2)
      problem = "epoch " + std::to_string(epoch + 1) +
                " had only one training file: easy negatives need audio from at least two files";
    if (group) {
      torch::Tensor failed = torch::tensor({problem.empty() ? 0.0f : 1.0f});
      group->all_reduce_sum(failed);
      if (problem.empty() && failed.item<float>() > 0) problem = "another rank could not end its epoch";
      if (!problem.empty()) problem = "rank " + std::to_string(rank()) + ": " + problem;
    }
    return problem;
  }

  TrainProgress end_epoch() {
    // The clips left in the queue. Data-parallel, every step is collective and the ranks'
    // shards differ, so a rank may have stepped more often so far: each rank steps while it
    // has clips (and a second file for easy negatives), the others join those steps without
    // a batch, until all are out of work. Only then do the ranks' other exchanges line up.
    const auto has_work = [this] { return !queue.empty() && bank.size() >= 2; };
    if (group) {
      while (!train_step(has_work())) {
      }
    } else {
      while (has_work()) train_step(/*has_work=*/true);
    }
    if (const std::string problem = epoch_problem(); !problem.empty()) throw Error(problem);
    if (group) broadcast_state(/*parameters=*/false);

    TrainProgress p = report(TrainProgress::Kind::Epoch);
    int validation_files = static_cast<int>(validation.size());
    if (group) {
      // Counts of the whole run, for the report and the provenance.
      torch::Tensor counts = torch::tensor({static_cast<double>(p.train_files), static_cast<double>(p.hard_fallbacks),
                                            static_cast<double>(validation_files)},
                                           torch::kFloat64);
      group->all_reduce_sum(counts);
      p.train_files = static_cast<int>(counts[0].item<double>());
      p.hard_fallbacks = static_cast<int>(counts[1].item<double>());
      validation_files = static_cast<int>(counts[2].item<double>());
    }
    p.validation = validate();
    p.validated = p.validation.clips > 0;
    if (p.validated) {
      if (std::isfinite(p.validation.threshold))
        model->impl().config.threshold = std::max(p.validation.threshold, 1e-6);
    }
    net->eval();
    ++epoch;
    record_provenance(p, validation_files);
    model->impl().refresh_id();  // the weights and the config changed
    if (rank() == 0 && !options.output.empty()) model->save(options.output);
    if (rank() == 0 && !options.checkpoint.empty()) save_checkpoint(options.checkpoint);
    start_epoch();
    if (progress) progress(p);
    return p;
  }

  ValidationReport validate() {
    std::vector<std::shared_ptr<const StoredFile>> files;
    for (const auto& [id, f] : validation) files.push_back(f);
    const std::vector<ValidationItem> items = validation_items(files, options, config());
    int clips = static_cast<int>(items.size());
    net->eval();
    const bool fusion_scores = options.loss == LossKind::CrossEntropy;
    ValidationScores s = score_validation(
        items, config(), model->impl().device,
        [this](const torch::Tensor& v, const torch::Tensor& a) { return embed(v, a); },
        fusion_scores ? &*net->fusion : nullptr);
    if (group) {
      // Every rank's pairs, so that all fit the same threshold.
      for (auto* v : {&s.d_pos, &s.d_easy, &s.d_hard, &s.s_pos, &s.s_easy, &s.s_hard})
        *v = to_vector(group->all_gather(torch::tensor(*v, torch::kFloat64)));
      torch::Tensor n = torch::tensor({static_cast<double>(clips)}, torch::kFloat64);
      group->all_reduce_sum(n);
      clips = static_cast<int>(n.item<double>());
    }
    return validation_report(s, clips, fusion_scores);
  }

  // How the model was made, in its config: the run's options, data and validation numbers.
  void record_provenance(const TrainProgress& p, int validation_files) {
    auto& prov = model->impl().config.provenance;
    prov["trainer"] = "avts (lib/train)";
    prov["trained"] = "yes";  // also over a started-from file's "no"
    prov["seed"] = std::to_string(options.seed);
    prov["epochs"] = std::to_string(epoch);
    prov["steps"] = std::to_string(step);
    prov["loss"] = loss_name(options.loss);
    prov["curriculum"] = curriculum_name(options.curriculum);
    prov["optimizer"] = optimizer_name(options.optimizer);
    prov["batch_size"] = std::to_string(options.batch_size);
    prov["world_size"] = std::to_string(options.distributed.world_size);
    if (group) prov["distributed_backend"] = dist_backend_name(group->backend());
    prov["train_options"] = run_defining_json(options);
    prov["train_pairs"] = std::to_string(total_pairs);
    prov["train_files_last_epoch"] = std::to_string(p.train_files);
    prov["validation_files"] = std::to_string(validation_files);
    if (p.validated) {
      prov["validation_clips"] = std::to_string(p.validation.clips);
      prov["validation_accuracy_easy"] = fixed(p.validation.accuracy_easy);
      prov["validation_accuracy_hard"] = fixed(p.validation.accuracy_hard);
      prov["validation_auc_easy"] = fixed(p.validation.auc_easy);
      prov["validation_auc_hard"] = fixed(p.validation.auc_hard);
      prov["threshold_fit"] = "best balanced accuracy, validation positives vs easy and hard negatives";
    } else if (!prov.count("validation_clips")) {
      prov["threshold_fit"] = "not fitted (no validation data)";
    }
    if (!options.command.empty()) prov["command"] = options.command;
  }

  void save_checkpoint(const std::string& path) const {
    Checkpoint c;
    c.config_json = config().to_json();
    c.trainer_json = nlohmann::json{{"epoch", epoch},
                                    {"step", step},
                                    {"train_pairs", total_pairs},
                                    {"run", nlohmann::json::parse(run_defining_json(options))}}
                         .dump(2);
    c.weights = nets::state_dict(*net);
    c.optimizer = optimizer.state();
    write_checkpoint(path, c);
  }

  std::shared_ptr<Model> model;
  nets::AvtsNet net;
  TrainOptions options;
  Optimizer optimizer;
  std::function<void(const TrainProgress&)> progress;
  std::vector<torch::Tensor> trained;   // the parameters the loss reaches
  std::unique_ptr<ProcessGroup> group;  // data-parallel runs only

  int epoch = 0;  // epochs completed
  int64_t step = 0;
  int64_t total_pairs = 0;
  std::map<std::string, std::shared_ptr<const StoredFile>> validation;

  // This epoch.
  Rng rng;
  std::vector<std::shared_ptr<const StoredFile>> bank;  // oldest first
  std::vector<Anchor> queue;
  int files_this_epoch = 0;
  int hard_fallbacks = 0;
  int64_t epoch_pairs = 0;  // all ranks
  int64_t epoch_steps = 0;
  int64_t last_batch_anchors = 0;
  double epoch_loss_sum = 0;
  double train_seconds = 0;
};

Trainer::Trainer(std::shared_ptr<Model> model, const TrainOptions& options) {
  if (!model) throw Error("Trainer: no model");
  options.validate();
  impl_ = std::make_unique<Impl>(std::move(model), options);
}

Trainer::Trainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Trainer::~Trainer() = default;

namespace {

// The first run-defining option that differs, as "name: saved X, now Y".
std::string first_difference(const nlohmann::json& saved, const nlohmann::json& now) {
  for (const auto& [key, value] : now.items())
    if (!saved.contains(key) || saved.at(key) != value)
      return key + ": the checkpoint has " + (saved.contains(key) ? saved.at(key).dump() : "nothing") +
             ", the options say " + value.dump();
  return "the checkpoint has options that this avts does not know";
}

}  // namespace

std::unique_ptr<Trainer> Trainer::resume(const std::string& path, const TrainOptions& options,
                                         const std::string& device) {
  options.validate();
  const Checkpoint c = read_checkpoint(path);
  ModelConfig config;
  nlohmann::json trainer;
  try {
    config = ModelConfig::from_json(c.config_json);
    trainer = nlohmann::json::parse(c.trainer_json);
    trainer.at("epoch").get<int>();
    trainer.at("step").get<int64_t>();
  } catch (const std::exception& e) {
    throw Error("trainer checkpoint '" + path + "' is corrupt: " + e.what());
  }
  const nlohmann::json now = nlohmann::json::parse(run_defining_json(options));
  if (trainer.value("run", nlohmann::json()) != now)
    throw Error("trainer checkpoint '" + path + "' belongs to a different run (" +
                first_difference(trainer.value("run", nlohmann::json::object()), now) + ")");

  auto model = Model::create(config, 0, device);
  {
    // The saved weights replace the initial ones, every tensor once with its shape.
    std::map<std::string, torch::Tensor> wanted;
    for (auto& [name, t] : nets::state_dict(*model->impl().net)) wanted.emplace(name, t);
    if (wanted.size() != c.weights.size())
      throw Error("trainer checkpoint '" + path + "' does not hold the weights of its model config");
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : c.weights) {
      const auto it = wanted.find(name);
      if (it == wanted.end() || !it->second.sizes().equals(t.sizes()) || it->second.scalar_type() != t.scalar_type())
        throw Error("trainer checkpoint '" + path + "': tensor '" + name + "' does not fit the model");
      it->second.copy_(t);
    }
    model->impl().refresh_id();
  }
  auto impl = std::make_unique<Impl>(model, options);
  impl->epoch = trainer.at("epoch").get<int>();
  impl->step = trainer.at("step").get<int64_t>();
  impl->total_pairs = trainer.value("train_pairs", int64_t{0});
  try {
    impl->optimizer.load_state(c.optimizer);
  } catch (const Error& e) {
    throw Error("trainer checkpoint '" + path + "': " + e.what());
  }
  impl->start_epoch();
  return std::unique_ptr<Trainer>(new Trainer(std::move(impl)));
}

int Trainer::add_file(TrainingFile&& file) { return impl_->add_file(std::move(file)); }
TrainProgress Trainer::end_epoch() { return impl_->end_epoch(); }
ValidationReport Trainer::validate() { return impl_->validate(); }
void Trainer::save_checkpoint(const std::string& path) const { impl_->save_checkpoint(path); }
void Trainer::set_progress(std::function<void(const TrainProgress&)> callback) {
  impl_->progress = std::move(callback);
}
int Trainer::epoch() const { return impl_->epoch; }
bool Trainer::finished() const { return impl_->epoch >= impl_->options.epochs; }
int64_t Trainer::step() const { return impl_->step; }
int Trainer::stage() const { return impl_->stage().number; }
int Trainer::bank_files() const { return static_cast<int>(impl_->bank.size()); }
int Trainer::validation_files() const { return static_cast<int>(impl_->validation.size()); }
const TrainOptions& Trainer::options() const { return impl_->options; }
std::shared_ptr<Model> Trainer::model() const { return impl_->model; }

}  // namespace avts
