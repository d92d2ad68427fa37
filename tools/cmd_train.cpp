// avts train MANIFEST -o MODEL: self-supervised training on the files of a manifest, as a
// pipeline of the project's elements:
//
//   avtsdatasrc manifest=MANIFEST epochs=N seed=S ... ! avtstrain output=MODEL ...
//
// avtsdatasrc decodes the files (several at once with --decode-ahead), keeps them for later
// epochs and skips, with a warning, those that cannot be used; avtstrain trains and writes
// the model and checkpoint after every epoch. This command turns the elements' messages into
// the progress line, the warnings and the summary, and on SIGINT / SIGTERM stops the pipeline,
// which saves the trainer state (avtstrain's checkpoint on stop).
//
// Data-parallel: started by a launcher that sets RANK / WORLD_SIZE (torchrun, Slurm, a
// Kubernetes PyTorchJob), every process runs the same command; avtstrain joins the group,
// avtsdatasrc reads the rank's shard of the manifest, and only rank 0 shows progress and
// writes the model and checkpoint.
#include <gst/gst.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

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

// The progress line on stderr, from avtstrain's avts-train-progress messages: rewritten in
// place on a terminal, else one line every few seconds and one per epoch.
class ProgressLine {
 public:
  ProgressLine() : tty_(isatty(STDERR_FILENO)), start_(Clock::now()) {}

  void set_first_epoch(int epoch) { first_epoch_ = epoch; }

  void update(const GstStructure* s) {
    const auto now = Clock::now();
    const bool epoch_end = g_strcmp0(gst_structure_get_string(s, "kind"), "epoch") == 0;
    if (!epoch_end && now - last_ < std::chrono::milliseconds(tty_ ? 200 : 5000)) return;
    last_ = now;
    gint epoch = 0, epochs = 1, stage = 0;
    gint64 step = 0;
    gdouble loss = 0, epoch_loss = 0, rate = 0, run = 0;
    gst_structure_get(s, "epoch", G_TYPE_INT, &epoch, "epochs", G_TYPE_INT, &epochs, "stage", G_TYPE_INT, &stage,
                      "progress", G_TYPE_DOUBLE, &run, "step", G_TYPE_INT64, &step, "loss", G_TYPE_DOUBLE, &loss,
                      "epoch-loss", G_TYPE_DOUBLE, &epoch_loss, "pairs-per-second", G_TYPE_DOUBLE, &rate, nullptr);
    // Epochs of this invocation's work done (by files fed, as avtstrain counts), for the ETA.
    const double left = std::max(epochs - first_epoch_, 1);
    const double done = run * epochs - first_epoch_;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = done > 0 ? elapsed * (left - done) / done : NAN;
    std::fprintf(stderr, "%sepoch %d/%d%s (stage %d) step %lld loss %.4f  %.1f pairs/s  ETA %s%s", tty_ ? "\r" : "",
                 epoch + 1, epochs, epoch_end ? " done" : "", stage, static_cast<long long>(step),
                 epoch_end ? epoch_loss : loss, rate, clock_text(eta).c_str(), tty_ ? "\033[K" : "\n");
    if (epoch_end) {
      if (tty_) std::fprintf(stderr, "\n");
      gboolean validated = FALSE;
      gdouble easy = 0, hard = 0, threshold = 0;
      if (gst_structure_get(s, "validated", G_TYPE_BOOLEAN, &validated, "accuracy-easy", G_TYPE_DOUBLE, &easy,
                            "accuracy-hard", G_TYPE_DOUBLE, &hard, "threshold", G_TYPE_DOUBLE, &threshold, nullptr) &&
          validated)
        std::fprintf(stderr, "  validation: accuracy easy %.3f, hard %.3f, threshold %.4f\n", easy, hard, threshold);
    }
    std::fflush(stderr);
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  int first_epoch_ = 0;
  bool tty_;
  Clock::time_point start_, last_{};
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

// The element's message and its own detail; GStreamer puts the source location and the
// element's path on the detail's first line.
std::string error_text(GstMessage* message) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &err, &debug);
  std::string text = err ? err->message : "unknown error";
  const char* detail = debug ? std::strchr(debug, '\n') : nullptr;
  if (detail && detail[1]) text += " (" + std::string(detail + 1) + ")";
  g_clear_error(&err);
  g_free(debug);
  return text;
}

// avtsdatasrc ! avtstrain, owned; stopped and freed on destruction.
class TrainPipeline {
 public:
  TrainPipeline() {
    pipeline_ = gst_pipeline_new("avts-train");
    source_ = make_element("avtsdatasrc", "data");
    trainer_ = make_element("avtstrain", "train");
    gst_bin_add_many(GST_BIN(pipeline_), source_, trainer_, nullptr);
    for (const char* media : {"audio", "video"})
      if (!gst_element_link_pads(source_, (std::string(media) + "_src").c_str(), trainer_,
                                 (std::string(media) + "_sink").c_str()))
        throw Error(std::string("cannot link avtsdatasrc to avtstrain (") + media + ")");
    bus_ = gst_element_get_bus(pipeline_);
  }
  ~TrainPipeline() {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(bus_);
    gst_object_unref(pipeline_);
  }
  TrainPipeline(const TrainPipeline&) = delete;
  TrainPipeline& operator=(const TrainPipeline&) = delete;

  GstElement* source() const { return source_; }
  GstElement* trainer() const { return trainer_; }

  // Goes to `state`; an element's error becomes avts::Error.
  void set_state(GstState state) {
    if (gst_element_set_state(pipeline_, state) != GST_STATE_CHANGE_FAILURE) return;
    GstMessage* m = gst_bus_pop_filtered(bus_, GST_MESSAGE_ERROR);
    if (!m) throw Error("the training pipeline did not start");
    const std::string text = error_text(m);
    gst_message_unref(m);
    throw Error(text);
  }

  // The next message, waiting up to `ms`; nullptr if none.
  GstMessage* pop(int ms) {
    return gst_bus_timed_pop_filtered(
        bus_, static_cast<GstClockTime>(ms) * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_ELEMENT));
  }

 private:
  GstElement* pipeline_ = nullptr;
  GstElement* source_ = nullptr;
  GstElement* trainer_ = nullptr;
  GstBus* bus_ = nullptr;
};

// g_object_set keeps a property's old value (with a warning) when the new one is outside the
// property's range, which would train with a setting other than the one asked for: the
// options are checked against avtstrain's ranges first.
void check_range(GstElement* e, const char* property, double value, const char* option) {
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), property);
  double low = 0, high = 0;
  if (G_IS_PARAM_SPEC_DOUBLE(spec)) {
    low = G_PARAM_SPEC_DOUBLE(spec)->minimum, high = G_PARAM_SPEC_DOUBLE(spec)->maximum;
  } else if (G_IS_PARAM_SPEC_UINT(spec)) {
    low = G_PARAM_SPEC_UINT(spec)->minimum, high = G_PARAM_SPEC_UINT(spec)->maximum;
  } else {
    return;
  }
  if (value < low || value > high) {
    char text[160];
    std::snprintf(text, sizeof text, "%s %g is outside the range avtstrain takes (%g to %g)", option, value, low, high);
    throw Error(text);
  }
}

guint uint_property(GstElement* e, const char* name) {
  guint v = 0;
  g_object_get(e, name, &v, nullptr);
  return v;
}

// After SIGINT / SIGTERM: the pipeline stops; avtstrain saves the trainer state as it is
// between two files (weights, optimizer, epoch, step) to the checkpoint, and a resumed run
// trains the interrupted epoch again from its first file. The model file stays the last
// finished epoch's. Data-parallel, the ranks stop at different points (one may be waiting for
// the others in a step), so none saves: the checkpoint rank 0 wrote after the last finished
// epoch is the one every rank resumes from.
int stop_training(TrainPipeline& pipeline, const DistributedOptions& d, const std::string& checkpoint, int signal) {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  pipeline.set_state(GST_STATE_READY);  // avtstrain posts avts-train-stopped on the way
  gint epoch = -1, epochs = 0;
  gint64 step = 0;
  gboolean saved = FALSE;
  while (GstMessage* m = pipeline.pop(0)) {
    const GstStructure* s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "avts-train-stopped"))
      gst_structure_get(s, "epoch", G_TYPE_INT, &epoch, "epochs", G_TYPE_INT, &epochs, "step", G_TYPE_INT64, &step,
                        "saved", G_TYPE_BOOLEAN, &saved, nullptr);
    gst_message_unref(m);
  }
  const char* name = signal_name(signal);
  if (epoch < 0)
    std::fprintf(stderr, "%s: stopped by %s before training began; nothing to save\n", speaker(d).c_str(), name);
  else if (saved)
    std::fprintf(stderr,
                 "avts train: stopped by %s in epoch %d/%d at step %lld; saved the trainer state to %s. "
                 "Continue with the same command and --resume %s\n",
                 name, epoch + 1, epochs, static_cast<long long>(step), checkpoint.c_str(), checkpoint.c_str());
  else if (epoch == 0)
    std::fprintf(stderr, "%s: stopped by %s in epoch 1, before any checkpoint was written\n", speaker(d).c_str(), name);
  else
    std::fprintf(stderr,
                 "%s: stopped by %s in epoch %d/%d; continue every rank with the same command and --resume %s "
                 "(written by rank 0 after epoch %d)\n",
                 speaker(d).c_str(), name, epoch + 1, epochs, checkpoint.c_str(), epoch);
  return 128 + signal;  // the shell's convention for "ended by this signal"
}

}  // namespace

int cmd_train(int argc, char** argv) {
  const std::string command = command_line(argc, argv);
  gchar *output = nullptr, *preset = nullptr, *curriculum = nullptr, *loss = nullptr, *optimizer = nullptr,
        *device = nullptr, *resume = nullptr, *checkpoint = nullptr, *init = nullptr, *precision = nullptr;
  gchar *schedule = nullptr, *dist_backend = nullptr;
  gint epochs = 0, batch = 0, easy_epochs = -1, mixed_epochs = -1, warmup_steps = -1, cache_mb = 4096, negatives = 0;
  gint decode_ahead = 1, drift = G_MININT;  // G_MININT, NaN: not given
  gint64 seed = -1;
  gdouble lr = 0, weight_decay = -1, hard_fraction = -1, temperature = 0, zoom = std::nan("");
  gdouble blur = std::nan(""), noise_snr = std::nan("");
  const GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Model file to write (required)", "MODEL"},
      {"preset", 0, 0, G_OPTION_ARG_STRING, &preset, "avts-compact (default) or avts-mc3-18", "NAME"},
      {"init", 0, 0, G_OPTION_ARG_FILENAME, &init,
       "Start from this model file (its configuration and weights) instead of a fresh --preset model", "MODEL"},
      {"epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epochs to train (default 30)", "N"},
      {"batch-size", 0, 0, G_OPTION_ARG_INT, &batch, "Pairs per step, even (default 32)", "N"},
      {"lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Learning rate (default 0.01)", "LR"},
      {"curriculum", 0, 0, G_OPTION_ARG_STRING, &curriculum, "paper (default), paper-fine, none or easy-only", "NAME"},
      {"easy-epochs", 0, 0, G_OPTION_ARG_INT, &easy_epochs, "Epochs of curriculum stage 1 (default 10)", "N"},
      {"mixed-epochs", 0, 0, G_OPTION_ARG_INT, &mixed_epochs,
       "paper-fine: epochs of stage 2 before the fine-shift stage 3 (default 15)", "N"},
      {"hard-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &hard_fraction,
       "Share of hard negatives among the negatives of stages 2 and 3 (default 0.25)", "F"},
      {"negatives", 0, 0, G_OPTION_ARG_INT, &negatives,
       "Negatives per anchor clip: the video network runs once for all of them (default 1)", "N"},
      {"weight-decay", 0, 0, G_OPTION_ARG_DOUBLE, &weight_decay, "Weight decay (default 0.0001)", "W"},
      {"schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "Learning-rate schedule: cosine (default), step or constant",
       "NAME"},
      {"warmup-steps", 0, 0, G_OPTION_ARG_INT, &warmup_steps, "Steps of linear learning-rate warm-up (default 0)", "N"},
      {"cache-mb", 0, 0, G_OPTION_ARG_INT, &cache_mb,
       "Keep decoded files in up to this much memory so later epochs skip decoding; frames are kept as "
       "decoded (a 3 s clip at 360x288 takes 23 MB) (default 4096; 0: decode every epoch)",
       "MB"},
      {"decode-ahead", 0, 0, G_OPTION_ARG_INT, &decode_ahead,
       "Decode this many files at once, on threads of their own, ahead of the one being trained on (default 1)", "N"},
      {"loss", 0, 0, G_OPTION_ARG_STRING, &loss,
       "contrastive (default), cross-entropy or multi-way (each clip against its positive and all its negatives)",
       "NAME"},
      {"temperature", 0, 0, G_OPTION_ARG_DOUBLE, &temperature,
       "Softmax temperature of the multi-way loss (default 0.1)", "T"},
      {"zoom", 0, 0, G_OPTION_ARG_DOUBLE, &zoom,
       "Zoom each training clip's crop in by a random factor up to Z (default 1: never), for mouths larger than "
       "the training footage's",
       "Z"},
      {"drift", 0, 0, G_OPTION_ARG_INT, &drift,
       "Move each training clip's crop by up to N pixels (of the model's frames) per frame, as a head or camera "
       "does (default 0: never)",
       "N"},
      {"blur", 0, 0, G_OPTION_ARG_DOUBLE, &blur,
       "Blur half of the training clips by a Gaussian of sigma up to S pixels (of the model's frames), as soft or "
       "upscaled footage is (default 0: never)",
       "S"},
      {"noise-snr", 0, 0, G_OPTION_ARG_DOUBLE, &noise_snr,
       "Add coloured noise to half of the training audio clips at an SNR drawn from DB to DB + 30 dB (default: never)",
       "DB"},
      {"optimizer", 0, 0, G_OPTION_ARG_STRING, &optimizer, "sgd (default) or adamw", "NAME"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of weights, sampling and augmentation (default 1)", "N"},
      {"device", 0, 0, G_OPTION_ARG_STRING, &device, "cpu (default), cuda or cuda:N", "DEV"},
      {"precision", 0, 0, G_OPTION_ARG_STRING, &precision,
       "float32 (default); on CUDA also bfloat16 autocast (weights and optimizer stay float32)", "P"},
      {"dist-backend", 0, 0, G_OPTION_ARG_STRING, &dist_backend,
       "How data-parallel ranks exchange gradients: auto (default: nccl on GPUs when avts has it, else gloo), "
       "gloo or nccl",
       "NAME"},
      {"checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
       "Trainer state written after every epoch (default MODEL.ckpt)", "PATH"},
      {"resume", 0, 0, G_OPTION_ARG_FILENAME, &resume,
       "Continue the run saved in this checkpoint (its model: --init and --preset are not used)", "CHECKPOINT"},
      {}};
  parse_options(
      argc, argv, "MANIFEST",
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
                    optimizer_arg = take_string(optimizer), schedule_arg = take_string(schedule),
                    dist_backend_arg = take_string(dist_backend);
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
  if (!std::isnan(zoom)) options.zoom = zoom;  // out of range: validate() says so
  if (drift != G_MININT) options.drift = drift;
  if (!std::isnan(blur)) options.blur = blur;
  if (!std::isnan(noise_snr)) options.noise_snr_db = noise_snr;
  if (warmup_steps >= 0) options.warmup_steps = warmup_steps;
  if (!schedule_arg.empty()) options.schedule = parse_schedule(schedule_arg);
  if (!curriculum_name_arg.empty()) options.curriculum = parse_curriculum(curriculum_name_arg);
  if (!loss_arg.empty()) options.loss = parse_loss(loss_arg);
  if (!optimizer_arg.empty()) options.optimizer = parse_optimizer(optimizer_arg);
  if (epochs < 0 || batch < 0 || lr < 0) throw Error("--epochs, --batch-size and --lr must be positive");
  if (decode_ahead < 1 || decode_ahead > 64) throw Error("--decode-ahead must be in 1..64");
  options.output = out;  // written atomically after every epoch
  options.checkpoint = checkpoint_path;
  options.command = command;
  options.distributed = DistributedOptions::from_environment();
  if (!dist_backend_arg.empty()) options.distributed.backend = parse_dist_backend(dist_backend_arg);
  options.validate();
  const DistributedOptions& dist = options.distributed;
  const bool leader = dist.rank == 0;  // shows progress, writes the files
  // Each rank of a machine on its own GPU, as torchrun's LOCAL_RANK says.
  dev = dist.rank_device(dev);
  dist.check_backend(dev);
  const std::string who = speaker(dist);
  const Precision train_precision = precision_arg.empty() ? Precision::Float32 : parse_precision(precision_arg);
  check_train_precision(train_precision, dev);  // before any file is decoded

  Manifest manifest = read_manifest(argv[1]);
  if (manifest.entries.empty()) throw Error("manifest '" + std::string(argv[1]) + "' lists no media files");
  if (dist.world_size > 1) {
    if (manifest.entries.size() < static_cast<size_t>(dist.world_size))
      throw Error("manifest '" + std::string(argv[1]) + "' lists " + std::to_string(manifest.entries.size()) +
                  " media files for " + std::to_string(dist.world_size) + " ranks: each rank needs files of its own");
    manifest.entries = manifest_shard(manifest.entries, dist.rank, dist.world_size);
  }
  // Every rank's avtsdatasrc reads the manifest: rank 0 reports its bad lines.
  const std::string bad_line_prefix = std::string(argv[1]) + " line ";
  const size_t bad_lines = leader ? manifest.bad_lines.size() : 0;
  const size_t inputs = manifest.entries.size() + bad_lines;

  TrainPipeline pipeline;
  GstElement* source = pipeline.source();
  GstElement* train = pipeline.trainer();
  g_object_set(source, "manifest", argv[1], "epochs", static_cast<guint>(options.epochs), "shuffle", TRUE, "seed",
               static_cast<guint64>(options.seed), "shard", static_cast<guint>(dist.rank), "num-shards",
               static_cast<guint>(dist.world_size), "cache-size", static_cast<guint>(std::max(0, cache_mb)), "decoders",
               static_cast<guint>(decode_ahead), nullptr);
  check_range(train, "lr", options.lr, "--lr");
  check_range(train, "temperature", options.temperature, "--temperature");
  check_range(train, "zoom", options.zoom, "--zoom");
  check_range(train, "drift", options.drift, "--drift");
  check_range(train, "blur", options.blur, "--blur");
  check_range(train, "noise-snr", options.noise_snr_db, "--noise-snr");
  check_range(train, "weight-decay", options.weight_decay, "--weight-decay");
  check_range(train, "batch-size", options.batch_size, "--batch-size");
  // Frames go to the trainer whole: its front end takes the region and resizes them, as the
  // feature elements do at inference.
  g_object_set(train, "output", out.c_str(), "checkpoint", checkpoint_path.c_str(), "command", command.c_str(),
               "device", dev.c_str(), "epochs", static_cast<guint>(options.epochs), "batch-size",
               static_cast<guint>(options.batch_size), "lr", options.lr, "curriculum",
               static_cast<gint>(options.curriculum), "easy-epochs", static_cast<guint>(options.easy_epochs),
               "mixed-epochs", static_cast<guint>(options.mixed_epochs), "hard-fraction", options.hard_fraction,
               "negatives", static_cast<guint>(options.negatives_per_anchor), "loss", static_cast<gint>(options.loss),
               "temperature", options.temperature, "zoom", options.zoom, "drift", static_cast<guint>(options.drift),
               "blur", options.blur, "noise-snr", options.noise_snr_db, "optimizer",
               static_cast<gint>(options.optimizer), "schedule", static_cast<gint>(options.schedule), "weight-decay",
               options.weight_decay, "warmup-steps", static_cast<guint>(options.warmup_steps), "seed",
               static_cast<guint64>(options.seed), "progress-interval", 200u, nullptr);
  set_precision(train, precision_name(train_precision));
  g_object_set(train, "dist-backend", static_cast<gint>(dist.backend), nullptr);
  if (!resume_path.empty()) {
    // The checkpoint brings the model: a recipe may keep its --init or --preset when resuming.
    g_object_set(train, "resume", resume_path.c_str(), nullptr);
  } else if (!init_path.empty()) {
    if (!preset_arg.empty()) throw Error("--init and --preset exclude each other: the model file brings its preset");
    g_object_set(train, "model-file", init_path.c_str(), nullptr);  // fine-tuning
  } else {
    g_object_set(train, "preset", preset_name.c_str(), nullptr);
  }

  InterruptGuard interrupts;
  pipeline.set_state(GST_STATE_READY);  // loads the model (or the checkpoint: how far it got)
  const int first_epoch = static_cast<int>(uint_property(train, "epoch"));
  // A model that looks at the mouth of a face trains on the faces the tracker finds.
  gchar* framing = nullptr;
  g_object_get(train, "framing", &framing, nullptr);
  g_object_set(source, "face-track", g_strcmp0(framing, "face") == 0, nullptr);
  g_free(framing);
  // A run resumed after its last epoch gets one epoch of files that avtstrain refuses at once.
  g_object_set(source, "first-epoch", static_cast<guint>(std::min(first_epoch, options.epochs - 1)), nullptr);
  ProgressLine progress;
  progress.set_first_epoch(first_epoch);
  pipeline.set_state(GST_STATE_PLAYING);

  std::unique_ptr<GstStructure, decltype(&gst_structure_free)> last_epoch(nullptr, gst_structure_free),
      done(nullptr, gst_structure_free);
  for (bool eos = false; !eos;) {
    if (const int signal = interrupted()) return stop_training(pipeline, dist, checkpoint_path, signal);
    GstMessage* m = pipeline.pop(100);
    if (!m) continue;
    std::unique_ptr<GstMessage, decltype(&gst_message_unref)> guard(m, gst_message_unref);
    const GstStructure* s = gst_message_get_structure(m);
    switch (GST_MESSAGE_TYPE(m)) {
      case GST_MESSAGE_EOS:
        eos = true;
        break;
      case GST_MESSAGE_ERROR: {
        // A launcher signals every rank: one that stopped first leaves the others' step failing.
        if (const int signal = interrupted()) return stop_training(pipeline, dist, checkpoint_path, signal);
        throw Error(error_text(m));
      }
      case GST_MESSAGE_WARNING: {
        const GstStructure* details = nullptr;
        gst_message_parse_warning_details(m, &details);
        const char* input = details ? gst_structure_get_string(details, "input") : nullptr;
        const char* reason = details ? gst_structure_get_string(details, "reason") : nullptr;
        if (input && reason) {
          if (leader || std::string(input).rfind(bad_line_prefix, 0) != 0)
            std::fprintf(stderr, "%s: warning: skipping %s: %s\n", who.c_str(), input, reason);
        } else {
          GError* err = nullptr;
          gst_message_parse_warning(m, &err, nullptr);
          std::fprintf(stderr, "%s: warning: %s\n", who.c_str(), err ? err->message : "(unknown)");
          g_clear_error(&err);
        }
        break;
      }
      case GST_MESSAGE_ELEMENT:
        if (GST_MESSAGE_SRC(m) != GST_OBJECT(train)) break;
        if (gst_structure_has_name(s, "avts-train-progress")) {
          if (leader) progress.update(s);
          if (g_strcmp0(gst_structure_get_string(s, "kind"), "epoch") == 0) last_epoch.reset(gst_structure_copy(s));
        } else if (gst_structure_has_name(s, "avts-train-done")) {
          done.reset(gst_structure_copy(s));
        }
        break;
      default:
        break;
    }
  }
  const guint skipped = uint_property(source, "skipped") + uint_property(train, "skipped") -
                        static_cast<guint>(manifest.bad_lines.size() - bad_lines);
  pipeline.set_state(GST_STATE_NULL);
  if (!done) throw Error("the training pipeline ended without writing the model");

  gint epochs_done = 0;
  gint64 steps = 0;
  gst_structure_get(done.get(), "epochs", G_TYPE_INT, &epochs_done, "steps", G_TYPE_INT64, &steps, nullptr);
  const char* model_id = gst_structure_get_string(done.get(), "model-id");
  std::printf("trained %d epochs (%d in this run), %lld steps, in %.1f s\n", epochs_done, epochs_done - first_epoch,
              static_cast<long long>(steps), progress.elapsed());
  gboolean validated = FALSE;
  gint clips = 0;
  gdouble easy = 0, hard = 0, auc_easy = 0, auc_hard = 0, threshold = 0;
  if (last_epoch &&
      gst_structure_get(last_epoch.get(), "validated", G_TYPE_BOOLEAN, &validated, "validation-clips", G_TYPE_INT,
                        &clips, "accuracy-easy", G_TYPE_DOUBLE, &easy, "accuracy-hard", G_TYPE_DOUBLE, &hard,
                        "auc-easy", G_TYPE_DOUBLE, &auc_easy, "auc-hard", G_TYPE_DOUBLE, &auc_hard, "threshold",
                        G_TYPE_DOUBLE, &threshold, nullptr) &&
      validated)
    std::printf("validation: %d clips, accuracy easy %.3f, hard %.3f, AUC easy %.3f, hard %.3f, threshold %.4f\n",
                clips, easy, hard, auc_easy, auc_hard, threshold);
  else
    std::printf("validation: none (no validation files); threshold not fitted\n");
  if (dist.world_size > 1)
    std::printf("files: %zu inputs in the shard of rank %d of %d, %u skipped\n", inputs, dist.rank, dist.world_size,
                skipped);
  else
    std::printf("files: %zu inputs, %u skipped\n", inputs, skipped);
  if (leader)
    std::printf("wrote %s (id %s) and checkpoint %s\n", out.c_str(), model_id ? model_id : "?",
                checkpoint_path.c_str());
  else
    std::printf("model (id %s) written by rank 0\n", model_id ? model_id : "?");
  return kExitOk;
}

}  // namespace avts
