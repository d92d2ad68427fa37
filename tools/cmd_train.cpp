// avts train MANIFEST -o MODEL: self-supervised training on the files of a manifest. Each
// file is decoded by uridecodebin into mono float audio at the model's rate and RGB video,
// collected into a TrainingFile and handed to the trainer; files that cannot be used are
// skipped with a warning and counted, never stopping the run.
//
// Data-parallel: started by a launcher that sets RANK / WORLD_SIZE (torchrun, Slurm, a
// Kubernetes PyTorchJob), every process runs the same command; each trains on its shard of
// the manifest and only rank 0 shows progress and writes the model and checkpoint.
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <set>

#include "avts/decoded_cache.h"
#include "avts/error.h"
#include "avts/manifest.h"
#include "avts/model.h"
#include "avts/train.h"
#include "commands.h"
#include "interrupt.h"
#include "media_pipeline.h"
#include "options.h"

namespace avts {

namespace {

using Clock = std::chrono::steady_clock;

// The appsinks' streaming threads push into the file under one lock.
struct Collector {
  std::mutex lock;
  TrainingFile* file = nullptr;
};

GstFlowReturn on_audio(GstAppSink* sink, gpointer user_data) {
  auto* c = static_cast<Collector*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (GST_BUFFER_PTS_IS_VALID(buf) && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    std::lock_guard<std::mutex> guard(c->lock);
    c->file->push_audio(static_cast<int64_t>(GST_BUFFER_PTS(buf)), reinterpret_cast<const float*>(map.data),
                        map.size / sizeof(float));
    gst_buffer_unmap(buf, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

GstFlowReturn on_video(GstAppSink* sink, gpointer user_data) {
  auto* c = static_cast<Collector*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  GstVideoInfo info;
  GstVideoFrame frame;
  if (GST_BUFFER_PTS_IS_VALID(buf) && gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
      gst_video_frame_map(&frame, &info, buf, GST_MAP_READ)) {
    RgbImage image;
    image.data = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
    image.width = GST_VIDEO_FRAME_WIDTH(&frame);
    image.height = GST_VIDEO_FRAME_HEIGHT(&frame);
    image.stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    const int64_t duration = GST_BUFFER_DURATION_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_DURATION(buf)) : -1;
    {
      std::lock_guard<std::mutex> guard(c->lock);
      c->file->push_video(static_cast<int64_t>(GST_BUFFER_PTS(buf)), image, duration);
    }
    gst_video_frame_unmap(&frame);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

// Decodes `entry` into a TrainingFile in the formats the trainer takes. Throws avts::Error
// when the file is missing, does not decode, or lacks a track.
TrainingFile decode(const ModelConfig& config, const ManifestEntry& entry) {
  TrainingFile file(config, entry.input, entry.split);
  Collector collector;
  collector.file = &file;
  MediaPipeline pipeline(entry.input);
  pipeline.add_branch("audio", {make_element("audioconvert"), make_element("audioresample"),
                                make_caps_filter("audio/x-raw,format=F32LE,channels=1,rate=" +
                                            std::to_string(config.audio.sample_rate)),
                                make_app_sink(on_audio, &collector)});
  // Frames keep their size: the training file resizes them on the way in.
  pipeline.add_branch("video", {make_element("videoconvert"), make_caps_filter("video/x-raw,format=RGB"),
                                make_app_sink(on_video, &collector)});
  pipeline.run([](double) { throw_if_interrupted(); });  // a stop request ends a long decode
  return file;
}

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%02ld:%02ld", s / 60, s % 60);
  return text;
}

// The progress line on stderr: rewritten in place on a terminal, else one line every few
// seconds and one per epoch.
class ProgressLine {
 public:
  ProgressLine(int first_epoch, int epochs, size_t files)
      : first_epoch_(first_epoch), epochs_(epochs), files_(std::max<size_t>(files, 1)),
        tty_(isatty(STDERR_FILENO)), start_(Clock::now()) {}

  void set_file(int epoch, size_t index) { epoch_ = epoch, file_ = index; }

  void update(const TrainProgress& p) {
    const auto now = Clock::now();
    const bool epoch_end = p.kind == TrainProgress::Kind::Epoch;
    if (!epoch_end && now - last_ < std::chrono::milliseconds(tty_ ? 200 : 5000)) return;
    last_ = now;
    // Share of this invocation's work done, by files fed, for the ETA.
    const double done = epoch_end ? p.epoch + 1 - first_epoch_
                                  : epoch_ - first_epoch_ + static_cast<double>(file_) / static_cast<double>(files_);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = done > 0 ? elapsed * ((epochs_ - first_epoch_) - done) / done : NAN;
    std::fprintf(stderr, "%sepoch %d/%d%s (stage %d) step %lld loss %.4f  %.1f pairs/s  ETA %s%s",
                 tty_ ? "\r" : "", p.epoch + 1, p.epochs, epoch_end ? " done" : "", p.stage, static_cast<long long>(p.step),
                 epoch_end ? p.epoch_loss : p.loss, p.pairs_per_second, clock_text(eta).c_str(),
                 tty_ ? "\033[K" : "\n");
    if (epoch_end) {
      if (tty_) std::fprintf(stderr, "\n");
      if (p.validated)
        std::fprintf(stderr, "  validation: accuracy easy %.3f, hard %.3f, threshold %.4f\n",
                     p.validation.accuracy_easy, p.validation.accuracy_hard, p.validation.threshold);
    }
    std::fflush(stderr);
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  int first_epoch_, epochs_;
  size_t files_;
  bool tty_;
  Clock::time_point start_, last_{};
  int epoch_ = 0;
  size_t file_ = 0;
};

std::string command_line(int argc, char** argv) {
  std::string out = "avts";
  for (int i = 0; i < argc; ++i) out += std::string(" ") + argv[i];
  return out;
}

// "avts train", or "avts train (rank R)" in a data-parallel run, where every rank writes to
// the launcher's log.
std::string speaker(const DistributedOptions& d) {
  return d.world_size > 1 ? "avts train (rank " + std::to_string(d.rank) + ")" : "avts train";
}

// After SIGINT / SIGTERM: the trainer state as it is between two files (weights, optimiser,
// epoch, step) goes to the checkpoint; a resumed run trains the interrupted epoch again from
// its first file, from these weights. The model file stays the last finished epoch's.
// Data-parallel, the ranks stop at different points (one may be waiting for the others in a
// step), so none saves: the checkpoint rank 0 wrote after the last finished epoch is the one
// every rank resumes from.
int stop_training(const Trainer& trainer, const std::string& checkpoint, int signal) {
  const DistributedOptions& d = trainer.options().distributed;
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  if (d.world_size > 1) {
    if (trainer.epoch() == 0)
      std::fprintf(stderr, "%s: stopped by %s in epoch 1, before any checkpoint was written\n",
                   speaker(d).c_str(), signal_name(signal));
    else
      std::fprintf(stderr,
                   "%s: stopped by %s in epoch %d/%d; continue every rank with the same command and --resume %s "
                   "(written by rank 0 after epoch %d)\n",
                   speaker(d).c_str(), signal_name(signal), trainer.epoch() + 1, trainer.options().epochs,
                   checkpoint.c_str(), trainer.epoch());
    return 128 + signal;
  }
  trainer.save_checkpoint(checkpoint);
  std::fprintf(stderr,
               "avts train: stopped by %s in epoch %d/%d at step %lld; saved the trainer state to %s. "
               "Continue with the same command and --resume %s\n",
               signal_name(signal), trainer.epoch() + 1, trainer.options().epochs,
               static_cast<long long>(trainer.step()), checkpoint.c_str(), checkpoint.c_str());
  return 128 + signal;  // the shell's convention for "ended by this signal"
}

}  // namespace

int cmd_train(int argc, char** argv) {
  const std::string command = command_line(argc, argv);
  gchar *output = nullptr, *preset = nullptr, *curriculum = nullptr, *loss = nullptr,
        *optimizer = nullptr, *device = nullptr, *resume = nullptr, *checkpoint = nullptr, *init = nullptr,
        *precision = nullptr;
  gchar* schedule = nullptr;
  gint epochs = 0, batch = 0, easy_epochs = -1, mixed_epochs = -1, warmup_steps = -1, cache_mb = 4096, negatives = 0;
  gint decode_ahead = 1;
  gint64 seed = -1;
  gdouble lr = 0, weight_decay = -1, hard_fraction = -1, temperature = 0;
  const GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Model file to write (required)", "MODEL"},
      {"preset", 0, 0, G_OPTION_ARG_STRING, &preset, "avts-compact (default) or avts-mc3-18", "NAME"},
      {"init", 0, 0, G_OPTION_ARG_FILENAME, &init,
       "Start from this model file (its configuration and weights) instead of a fresh --preset model", "MODEL"},
      {"epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epochs to train (default 30)", "N"},
      {"batch-size", 0, 0, G_OPTION_ARG_INT, &batch, "Pairs per step, even (default 32)", "N"},
      {"lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate (default 0.01)", "LR"},
      {"curriculum", 0, 0, G_OPTION_ARG_STRING, &curriculum,
       "paper (default), paper-fine, none or easy-only", "NAME"},
      {"easy-epochs", 0, 0, G_OPTION_ARG_INT, &easy_epochs, "Epochs of curriculum stage 1 (default 10)", "N"},
      {"mixed-epochs", 0, 0, G_OPTION_ARG_INT, &mixed_epochs,
       "paper-fine: epochs of stage 2 before the fine-shift stage 3 (default 15)", "N"},
      {"hard-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &hard_fraction,
       "Share of hard negatives among the negatives of stages 2 and 3 (default 0.25)", "F"},
      {"negatives", 0, 0, G_OPTION_ARG_INT, &negatives,
       "Negatives per anchor clip: the video network runs once for all of them (default 1)", "N"},
      {"weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay, "Weight decay (default 0.0001)", "W"},
      {"schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "Learning-rate schedule: cosine (default), step or constant", "NAME"},
      {"warmup-steps", 0, 0, G_OPTION_ARG_INT, &warmup_steps, "Steps of linear learning-rate warm-up (default 0)", "N"},
      {"cache-mb", 0, 0, G_OPTION_ARG_INT, &cache_mb,
       "Keep decoded files (resized) in up to this much memory so later epochs skip decoding "
       "(default 4096; 0: decode every epoch)", "MB"},
      {"decode-ahead", 0, 0, G_OPTION_ARG_INT, &decode_ahead,
       "Decode this many files ahead of the one being trained on, on threads of their own (default 1; "
       "0: decode each file when its turn comes)", "N"},
      {"loss", 0, 0, G_OPTION_ARG_STRING, &loss,
       "contrastive (default), cross-entropy or multi-way (each clip against its positive and all its negatives)", "NAME"},
      {"temperature", 0, 0, G_OPTION_ARG_DOUBLE, &temperature, "Softmax temperature of the multi-way loss (default 0.1)", "T"},
      {"optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, "sgd (default) or adamw", "NAME"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of weights, sampling and augmentation (default 1)", "N"},
      {"device", 0, 0, G_OPTION_ARG_STRING, &device, "cpu (default), cuda or cuda:N", "DEV"},
      {"precision", 0, 0, G_OPTION_ARG_STRING, &precision,
       "float32 (default); on CUDA also bfloat16 autocast (weights and optimiser stay float32)", "P"},
      {"checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
       "Trainer state written after every epoch (default MODEL.ckpt)", "PATH"},
      {"resume", 0, 0, G_OPTION_ARG_FILENAME, &resume, "Continue the run saved in this checkpoint", "CHECKPOINT"},
      {}};
  parse_options(argc, argv, "MANIFEST",
                "Train an AVTS model, self-supervised, on the media files listed in MANIFEST "
                "(one path or URI per line, optionally followed by a split tag: train or val). "
                "SIGINT or SIGTERM saves the checkpoint and stops (exit code 130 / 143); --resume continues. "
                "Started by torchrun, Slurm or a Kubernetes PyTorchJob (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, "
                "MASTER_PORT), it trains data-parallel, each process on its shard of MANIFEST; rank 0 writes the files.",
                entries);
  const std::string out = take_string(output), dev_arg = take_string(device), resume_path = take_string(resume);
  const std::string precision_arg = take_string(precision);
  const std::string preset_arg = take_string(preset), init_path = take_string(init);
  std::string checkpoint_path = take_string(checkpoint);
  const std::string curriculum_name_arg = take_string(curriculum), loss_arg = take_string(loss),
                    optimizer_arg = take_string(optimizer), schedule_arg = take_string(schedule);
  if (argc != 2) throw Error("expected one manifest file");
  if (out.empty()) throw Error("--output is required");
  const std::string preset_name = preset_arg.empty() ? "avts-compact" : preset_arg;
  if (checkpoint_path.empty()) checkpoint_path = out + ".ckpt";
  std::string dev = dev_arg.empty() ? "cpu" : dev_arg;

  TrainOptions options;
  if (seed >= 0) options.seed = static_cast<uint64_t>(seed);
  if (epochs > 0) options.epochs = epochs;
  if (batch > 0) options.batch_size = batch;
  if (lr > 0) options.lr = lr;
  if (easy_epochs >= 0) options.easy_epochs = easy_epochs;
  if (mixed_epochs >= 0) options.mixed_epochs = mixed_epochs;
  if (hard_fraction >= 0) options.hard_fraction = hard_fraction;
  if (negatives > 0) options.negatives_per_anchor = negatives;
  if (weight_decay >= 0) options.weight_decay = weight_decay;
  if (temperature > 0) options.temperature = temperature;
  if (warmup_steps >= 0) options.warmup_steps = warmup_steps;
  if (!schedule_arg.empty()) options.schedule = parse_schedule(schedule_arg);
  if (!curriculum_name_arg.empty()) options.curriculum = parse_curriculum(curriculum_name_arg);
  if (!loss_arg.empty()) options.loss = parse_loss(loss_arg);
  if (!optimizer_arg.empty()) options.optimizer = parse_optimizer(optimizer_arg);
  if (epochs < 0 || batch < 0 || lr < 0) throw Error("--epochs, --batch-size and --lr must be positive");
  if (decode_ahead < 0 || decode_ahead > 64) throw Error("--decode-ahead must be in 0..64");
  options.output = out;  // written atomically after every epoch
  options.checkpoint = checkpoint_path;
  options.command = command;
  options.distributed = DistributedOptions::from_environment();
  options.validate();
  const DistributedOptions& dist = options.distributed;
  const bool leader = dist.rank == 0;  // shows progress, writes the files
  // Each rank of a machine on its own GPU, as torchrun's LOCAL_RANK says.
  if (dist.world_size > 1 && dev == "cuda") dev = "cuda:" + std::to_string(dist.local_rank);
  const std::string who = speaker(dist);
  const Precision train_precision = precision_arg.empty() ? Precision::Float32 : parse_precision(precision_arg);
  if (train_precision == Precision::Float16)
    throw Error("--precision float16 cannot train (it would need loss scaling): use bfloat16 or float32");
  if (train_precision != Precision::Float32 && dev.rfind("cuda", 0) != 0)
    throw Error(std::string("--precision ") + precision_name(train_precision) + " needs --device cuda");

  Manifest manifest = read_manifest(argv[1]);
  if (manifest.entries.empty()) throw Error("manifest '" + std::string(argv[1]) + "' lists no media files");
  if (dist.world_size > 1) {
    if (manifest.entries.size() < static_cast<size_t>(dist.world_size))
      throw Error("manifest '" + std::string(argv[1]) + "' lists " + std::to_string(manifest.entries.size()) +
                  " media files for " + std::to_string(dist.world_size) + " ranks: each rank needs files of its own");
    manifest.entries = manifest_shard(manifest.entries, dist.rank, dist.world_size);
    if (!leader) manifest.bad_lines.clear();  // every rank reads them: rank 0 reports them
  }
  for (const std::string& bad : manifest.bad_lines)
    std::fprintf(stderr, "%s: warning: skipping %s line %s\n", who.c_str(), argv[1], bad.c_str());

  std::unique_ptr<Trainer> trainer;
  if (!resume_path.empty()) {
    trainer = Trainer::resume(resume_path, options, dev);
    if (!preset_arg.empty() && preset_arg != trainer->model()->config().preset)
      throw Error("--preset " + preset_arg + " does not match the checkpoint's model (" +
                  trainer->model()->config().preset + ")");
  } else if (!init_path.empty()) {
    if (!preset_arg.empty()) throw Error("--init and --preset exclude each other: the model file brings its preset");
    // Fine-tuning: the trainer records this run's command and data in the provenance.
    trainer = std::make_unique<Trainer>(Model::load(init_path, dev), options);
  } else {
    ModelConfig config = ModelConfig::preset_config(preset_name);
    config.provenance["created-by"] = command;
    trainer = std::make_unique<Trainer>(Model::create(config, options.seed, dev), options);
  }
  trainer->model()->set_precision(train_precision);  // autocast in every step from now on
  const ModelConfig& config = trainer->model()->config();

  std::vector<ManifestEntry> train_files, validation_files;
  for (const ManifestEntry& e : manifest.entries)
    (e.split == Split::Validation ? validation_files : train_files).push_back(e);
  const size_t inputs = manifest.entries.size() + manifest.bad_lines.size();
  std::set<std::string> skipped;  // inputs, each counted once however often it is met
  for (const std::string& bad : manifest.bad_lines) skipped.insert("line " + bad);

  const int first_epoch = trainer->epoch();
  ProgressLine progress(first_epoch, options.epochs, manifest.entries.size());
  if (leader) trainer->set_progress([&](const TrainProgress& p) { progress.update(p); });
  // Decoded files are kept (resized, 8-bit) up to --cache-mb so that later epochs do not
  // decode them again.
  DecodedCache<TrainingFile> cache(static_cast<size_t>(std::max(0, cache_mb)) << 20);
  // The decoding threads' own copy: the trainer updates the model's (its threshold).
  const ModelConfig front_end = config;
  // A file's decode, started early on a worker thread (--decode-ahead) or, when the file is
  // skipped or cached, not at all (an empty future).
  const auto start_decode = [&](const ManifestEntry& e) {
    if (skipped.count(e.input) || cache.find(e.input)) return std::future<TrainingFile>();
    return std::async(decode_ahead > 0 ? std::launch::async : std::launch::deferred,
                      [&front_end, e] { return decode(front_end, e); });
  };
  const auto decoded = [&](const ManifestEntry& e, std::future<TrainingFile>& pending) {
    if (const TrainingFile* hit = cache.find(e.input)) return hit->copy();
    TrainingFile file = pending.valid() ? pending.get() : decode(front_end, e);
    if (cache.fits(file.bytes())) cache.insert(e.input, file.copy(), file.bytes());
    return file;
  };
  // Feeds one file to the trainer; a file that cannot be used is skipped from then on.
  const auto feed = [&](const ManifestEntry& e, std::future<TrainingFile>& pending) {
    throw_if_interrupted();  // between two files the trainer state is consistent
    if (skipped.count(e.input)) return;
    std::string why;
    try {
      if (trainer->add_file(decoded(e, pending)) > 0) return;
      why = "shorter than one clip (" + std::to_string(std::lround(config.clip_seconds * 1000)) + " ms)";
    } catch (const DistributedError&) {
      throw;  // the run's fault, not the file's
    } catch (const Error& err) {
      why = err.what();
    }
    std::fprintf(stderr, "%s: warning: skipping %s: %s\n", who.c_str(), e.input.c_str(), why.c_str());
    skipped.insert(e.input);
  };
  // Feeds `files` in their order while the next --decode-ahead of them decode on worker
  // threads, so that decoding overlaps training; the order, and so the run, does not depend
  // on how fast the decodes are.
  const auto feed_all = [&](const std::vector<ManifestEntry>& files, int epoch, size_t& index) {
    std::deque<std::future<TrainingFile>> ahead;  // files[i], files[i + 1], ...
    size_t started = 0;
    for (size_t i = 0; i < files.size(); ++i) {
      for (; started < files.size() && started <= i + static_cast<size_t>(decode_ahead); ++started)
        ahead.push_back(start_decode(files[started]));
      std::future<TrainingFile> pending = std::move(ahead.front());
      ahead.pop_front();
      progress.set_file(epoch, index++);
      feed(files[i], pending);
    }
  };

  TrainProgress last;
  bool trained = false;
  InterruptGuard interrupts;
  try {
    while (!trainer->finished()) {
      const int epoch = trainer->epoch();
      size_t index = 0;
      // Validation files stay in the trainer: they are decoded in the first epoch only.
      if (!trained)
        feed_all(validation_files, epoch, index);
      else
        index = validation_files.size();
      // A fresh order every epoch, the same on a resumed run.
      const std::vector<ManifestEntry> order =
          epoch_order(train_files, epoch, options.seed, /*shuffle=*/true, /*with_validation=*/false);
      feed_all(order, epoch, index);
      throw_if_interrupted();
      last = trainer->end_epoch();
      trained = true;
    }
  } catch (const Interrupted& stop) {
    return stop_training(*trainer, checkpoint_path, stop.signal);
  } catch (const DistributedError&) {
    // A launcher signals every rank: one that stopped first leaves the others' step failing.
    if (interrupted()) return stop_training(*trainer, checkpoint_path, interrupted());
    throw;
  }
  if (!trained && leader) trainer->model()->save(out);  // resumed a finished run: write it anyway

  const double seconds = progress.elapsed();
  std::printf("trained %d epochs (%d in this run), %lld steps, in %.1f s\n", trainer->epoch(),
              trainer->epoch() - first_epoch, static_cast<long long>(trainer->step()), seconds);
  if (trained && last.validated)
    std::printf("validation: %d clips, accuracy easy %.3f, hard %.3f, AUC easy %.3f, hard %.3f, threshold %.4f\n",
                last.validation.clips, last.validation.accuracy_easy, last.validation.accuracy_hard,
                last.validation.auc_easy, last.validation.auc_hard, last.validation.threshold);
  else
    std::printf("validation: none (no validation files); threshold not fitted\n");
  if (dist.world_size > 1)
    std::printf("files: %zu inputs in the shard of rank %d of %d, %zu skipped\n", inputs, dist.rank,
                dist.world_size, skipped.size());
  else
    std::printf("files: %zu inputs, %zu skipped\n", inputs, skipped.size());
  if (leader)
    std::printf("wrote %s (id %s) and checkpoint %s\n", out.c_str(), trainer->model()->id().c_str(),
                checkpoint_path.c_str());
  else
    std::printf("model (id %s) written by rank 0\n", trainer->model()->id().c_str());
  return kExitOk;
}

}  // namespace avts
