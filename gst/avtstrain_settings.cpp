#include "avtstrain_settings.h"

#include <limits>

#include "avtsprecision.h"
#include "avtstrain_enums.h"

namespace {

std::string string_of(const GValue* value, const char* fallback = "") {
  const gchar* text = g_value_get_string(value);
  return text ? text : fallback;
}

}  // namespace

bool gst_avts_train_set_setting(TrainSettings& s, guint prop_id, const GValue* value) {
  switch (prop_id) {
    case PROP_MODEL_FILE:
      s.model_file = string_of(value);
      break;
    case PROP_PRESET:
      s.preset = string_of(value, DEFAULT_PRESET);
      break;
    case PROP_OUTPUT:
      s.output = string_of(value);
      break;
    case PROP_CHECKPOINT:
      s.checkpoint = string_of(value);
      break;
    case PROP_RESUME:
      s.resume = string_of(value);
      break;
    case PROP_COMMAND:
      s.command = string_of(value);
      break;
    case PROP_DEVICE:
      s.device = string_of(value, DEFAULT_DEVICE);
      break;
    case PROP_PRECISION:
      s.precision = avts_precision_from_enum(g_value_get_enum(value));
      break;
    case PROP_DIST_BACKEND:
      s.dist_backend = static_cast<avts::DistBackend>(g_value_get_enum(value));
      break;
    case PROP_EPOCHS:
      s.train.epochs = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_BATCH_SIZE:
      s.train.batch_size = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_LR:
      s.train.lr = g_value_get_double(value);
      break;
    case PROP_CURRICULUM:
      s.train.curriculum = static_cast<avts::Curriculum>(g_value_get_enum(value));
      break;
    case PROP_EASY_EPOCHS:
      s.train.easy_epochs = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_MIXED_EPOCHS:
      s.train.mixed_epochs = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_HARD_FRACTION:
      s.train.hard_fraction = g_value_get_double(value);
      break;
    case PROP_NEGATIVES:
      s.train.negatives_per_anchor = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_LOSS:
      s.train.loss = static_cast<avts::LossKind>(g_value_get_enum(value));
      break;
    case PROP_TEMPERATURE:
      s.train.temperature = g_value_get_double(value);
      break;
    case PROP_ZOOM:
      s.train.zoom = g_value_get_double(value);
      break;
    case PROP_DRIFT:
      s.train.drift = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_BLUR:
      s.train.blur = g_value_get_double(value);
      break;
    case PROP_NOISE_SNR:
      s.train.noise_snr_db = g_value_get_double(value);
      break;
    case PROP_OPTIMIZER:
      s.train.optimizer = static_cast<avts::OptimizerKind>(g_value_get_enum(value));
      break;
    case PROP_SCHEDULE:
      s.train.schedule = static_cast<avts::ScheduleKind>(g_value_get_enum(value));
      break;
    case PROP_WEIGHT_DECAY:
      s.train.weight_decay = g_value_get_double(value);
      break;
    case PROP_WARMUP_STEPS:
      s.train.warmup_steps = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_SEED:
      s.train.seed = g_value_get_uint64(value);
      break;
    case PROP_MAX_TRAIN_FILES:
      s.train.max_train_files = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_CHUNK:
      s.chunk = g_value_get_double(value);
      break;
    case PROP_PROGRESS_INTERVAL:
      s.progress_interval_ms = g_value_get_uint(value);
      break;
    case PROP_POST_MESSAGES:
      s.post_messages = g_value_get_boolean(value);
      break;
    default:
      return false;
  }
  return true;
}

bool gst_avts_train_get_setting(const TrainSettings& s, guint prop_id, GValue* value) {
  const auto set_string = [value](const std::string& v) { g_value_set_string(value, v.empty() ? nullptr : v.c_str()); };
  switch (prop_id) {
    case PROP_MODEL_FILE:
      set_string(s.model_file);
      break;
    case PROP_PRESET:
      set_string(s.preset);
      break;
    case PROP_OUTPUT:
      set_string(s.output);
      break;
    case PROP_CHECKPOINT:
      set_string(s.checkpoint);
      break;
    case PROP_RESUME:
      set_string(s.resume);
      break;
    case PROP_COMMAND:
      set_string(s.command);
      break;
    case PROP_DEVICE:
      set_string(s.device);
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, static_cast<gint>(s.precision));
      break;
    case PROP_DIST_BACKEND:
      g_value_set_enum(value, static_cast<gint>(s.dist_backend));
      break;
    case PROP_EPOCHS:
      g_value_set_uint(value, static_cast<guint>(s.train.epochs));
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint(value, static_cast<guint>(s.train.batch_size));
      break;
    case PROP_LR:
      g_value_set_double(value, s.train.lr);
      break;
    case PROP_CURRICULUM:
      g_value_set_enum(value, static_cast<gint>(s.train.curriculum));
      break;
    case PROP_EASY_EPOCHS:
      g_value_set_uint(value, static_cast<guint>(s.train.easy_epochs));
      break;
    case PROP_MIXED_EPOCHS:
      g_value_set_uint(value, static_cast<guint>(s.train.mixed_epochs));
      break;
    case PROP_HARD_FRACTION:
      g_value_set_double(value, s.train.hard_fraction);
      break;
    case PROP_NEGATIVES:
      g_value_set_uint(value, static_cast<guint>(s.train.negatives_per_anchor));
      break;
    case PROP_LOSS:
      g_value_set_enum(value, static_cast<gint>(s.train.loss));
      break;
    case PROP_TEMPERATURE:
      g_value_set_double(value, s.train.temperature);
      break;
    case PROP_ZOOM:
      g_value_set_double(value, s.train.zoom);
      break;
    case PROP_DRIFT:
      g_value_set_uint(value, static_cast<guint>(s.train.drift));
      break;
    case PROP_BLUR:
      g_value_set_double(value, s.train.blur);
      break;
    case PROP_NOISE_SNR:
      g_value_set_double(value, s.train.noise_snr_db);
      break;
    case PROP_OPTIMIZER:
      g_value_set_enum(value, static_cast<gint>(s.train.optimizer));
      break;
    case PROP_SCHEDULE:
      g_value_set_enum(value, static_cast<gint>(s.train.schedule));
      break;
    case PROP_WEIGHT_DECAY:
      g_value_set_double(value, s.train.weight_decay);
      break;
    case PROP_WARMUP_STEPS:
      g_value_set_uint(value, static_cast<guint>(s.train.warmup_steps));
      break;
    case PROP_SEED:
      g_value_set_uint64(value, s.train.seed);
      break;
    case PROP_MAX_TRAIN_FILES:
      g_value_set_uint(value, static_cast<guint>(s.train.max_train_files));
      break;
    case PROP_CHUNK:
      g_value_set_double(value, s.chunk);
      break;
    case PROP_PROGRESS_INTERVAL:
      g_value_set_uint(value, s.progress_interval_ms);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean(value, s.post_messages);
      break;
    default:
      return false;
  }
  return true;
}

void gst_avts_train_install_settings(GObjectClass* gobject_class) {
  const avts::TrainOptions defaults;
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MODEL_FILE,
      g_param_spec_string("model-file", "Model file",
                          "AVTS model file to start from (fine-tuning: its preset and weights). Empty: a freshly "
                          "initialised model of 'preset'. Loaded at NULL->READY; a missing or damaged file is an "
                          "error that names it.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_PRESET,
      g_param_spec_string("preset", "Preset",
                          "Architecture of the model trained from scratch when model-file is empty: avts-compact "
                          "(small, real-time on a CPU) or avts-mc3-18 (the paper's MC3-18 video network).",
                          DEFAULT_PRESET, flags));
  g_object_class_install_property(
      gobject_class, PROP_OUTPUT,
      g_param_spec_string("output", "Output",
                          "Model file to write (required). Written atomically after every epoch, with the decision "
                          "threshold fitted on the validation files; EOS reaches the bus only after the last write.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_CHECKPOINT,
      g_param_spec_string("checkpoint", "Checkpoint",
                          "Trainer state (weights, optimizer, epoch, step) written after every epoch, and when "
                          "the pipeline stops before the last epoch is trained (not in a data-parallel run), for "
                          "resume. Empty: none.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_RESUME,
      g_param_spec_string("resume", "Resume",
                          "Checkpoint of a run to go on with (its model, optimizer, epoch and step); the settings "
                          "that define the run (seed, loss, batch size, curriculum, optimizer, schedule, ...) must "
                          "be the saved ones, epochs says where the whole run ends. Set avtsdatasrc's first-epoch "
                          "to the epochs the checkpoint has completed (the 'epoch' property once READY). Excludes "
                          "model-file.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_COMMAND,
      g_param_spec_string("command", "Command",
                          "What the model's provenance records as the command that trained it. Empty: "
                          "\"avtstrain (element 'NAME')\".",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the networks train: \"cpu\", \"cuda\" or \"cuda:N\" (the CUDA ones need avts built "
                          "against a CUDA LibTorch).",
                          DEFAULT_DEVICE, flags));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision",
                        "Arithmetic of the training steps on a CUDA device: float32, or bfloat16 autocast "
                        "(the weights and the optimizer stay float32). float16 is refused (it would need loss "
                        "scaling); bfloat16 training needs device=cuda.",
                        GST_TYPE_AVTS_PRECISION, static_cast<gint>(avts::Precision::Float32), flags));
  g_object_class_install_property(
      gobject_class, PROP_DIST_BACKEND,
      g_param_spec_enum("dist-backend", "Distributed backend",
                        "How the ranks of a data-parallel run (RANK, WORLD_SIZE) exchange gradients: gloo (through "
                        "the host), nccl (GPU to GPU; avts built against a CUDA LibTorch with NCCL), auto (nccl on a "
                        "GPU when avts has it, else gloo). A backend named explicitly joins its group even alone.",
                        GST_TYPE_AVTS_TRAIN_DIST_BACKEND, static_cast<gint>(avts::DistBackend::Auto), flags));
  g_object_class_install_property(
      gobject_class, PROP_EPOCHS,
      g_param_spec_uint("epochs", "Epochs",
                        "Epochs to train; they set the learning-rate schedule and the curriculum. 0: as many as "
                        "the stream brings (avtsdatasrc's epochs; 1 for a stream without its marks). When the "
                        "trainer is done before the stream, upstream is told EOS.",
                        0, G_MAXINT, 0, flags));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Audio/video pairs per optimizer step, half in sync and half out of sync (even).", 2, 65536,
                        static_cast<guint>(defaults.batch_size), flags));
  g_object_class_install_property(
      gobject_class, PROP_LR,
      g_param_spec_double("lr", "Learning rate", "Peak learning rate of the optimizer (see schedule and warmup-steps).",
                          1e-9, 100.0, defaults.lr, flags));
  g_object_class_install_property(
      gobject_class, PROP_CURRICULUM,
      g_param_spec_enum("curriculum", "Curriculum",
                        "Which negatives are trained when: paper (easy only for easy-epochs, then 25 % hard), "
                        "paper-fine (then a fine stage of small shifts), none (mixed from the start), easy-only.",
                        GST_TYPE_AVTS_TRAIN_CURRICULUM, static_cast<gint>(defaults.curriculum), flags));
  g_object_class_install_property(
      gobject_class, PROP_EASY_EPOCHS,
      g_param_spec_uint("easy-epochs", "Easy epochs",
                        "Length in epochs of curriculum stage 1 (easy negatives only: audio of another file).", 0,
                        G_MAXINT, static_cast<guint>(defaults.easy_epochs), flags));
  g_object_class_install_property(
      gobject_class, PROP_MIXED_EPOCHS,
      g_param_spec_uint("mixed-epochs", "Mixed epochs",
                        "curriculum=paper-fine: epochs of stage 2 (easy and hard negatives) before the fine-shift "
                        "stage 3.",
                        0, G_MAXINT, static_cast<guint>(defaults.mixed_epochs), flags));
  g_object_class_install_property(
      gobject_class, PROP_HARD_FRACTION,
      g_param_spec_double("hard-fraction", "Hard fraction",
                          "Share of hard negatives (the same file's audio, shifted) among the negatives of stages "
                          "2 and 3; the paper's mix is 0.25.",
                          0.0, 1.0, defaults.hard_fraction, flags));
  g_object_class_install_property(
      gobject_class, PROP_NEGATIVES,
      g_param_spec_uint("negatives", "Negatives",
                        "Negatives drawn for each video clip (the video network runs once for all of them).", 1, 64,
                        static_cast<guint>(defaults.negatives_per_anchor), flags));
  g_object_class_install_property(
      gobject_class, PROP_LOSS,
      g_param_spec_enum("loss", "Loss",
                        "contrastive (on the embedding distance, margin 0.99), cross-entropy (on the fusion "
                        "head) or multi-way (softmax over the distances of a clip's positive and negatives, "
                        "temperature 0.1).",
                        GST_TYPE_AVTS_TRAIN_LOSS, static_cast<gint>(defaults.loss), flags));
  g_object_class_install_property(
      gobject_class, PROP_TEMPERATURE,
      g_param_spec_double("temperature", "Temperature", "Softmax temperature of the multi-way loss.", 1e-3, 2.0,
                          defaults.temperature, flags));
  g_object_class_install_property(
      gobject_class, PROP_ZOOM,
      g_param_spec_double("zoom", "Zoom",
                          "Augmentation: each training clip's crop zoomed in by a factor drawn log-uniformly in "
                          "[1, zoom] (1: never), so that the model also learns mouths larger than its footage's.",
                          1.0, 4.0, defaults.zoom, flags));
  g_object_class_install_property(
      gobject_class, PROP_DRIFT,
      g_param_spec_uint("drift", "Drift",
                        "Augmentation: each training clip's crop moves by up to this many pixels (of the model's "
                        "frames) from one frame to the next, as a head or a camera does (0: never).",
                        0, 16, static_cast<guint>(defaults.drift), flags));
  g_object_class_install_property(
      gobject_class, PROP_BLUR,
      g_param_spec_double("blur", "Blur",
                          "Augmentation: half of the training clips blurred by a Gaussian of a sigma drawn uniformly "
                          "up to this many pixels (of the model's frames), as soft or upscaled footage is (0: never).",
                          0.0, 4.0, defaults.blur, flags));
  g_object_class_install_property(
      gobject_class, PROP_NOISE_SNR,
      g_param_spec_double("noise-snr", "Noise SNR",
                          "Augmentation: half of the training audio clips get coloured noise at a signal-to-noise "
                          "ratio drawn uniformly from this to 30 dB above it (dB; inf: never).",
                          -10.0, std::numeric_limits<double>::infinity(), defaults.noise_snr_db, flags));
  g_object_class_install_property(
      gobject_class, PROP_OPTIMIZER,
      g_param_spec_enum("optimizer", "Optimizer",
                        "sgd (stochastic gradient descent with momentum 0.9, the paper's) or adamw (Adam with "
                        "decoupled weight decay).",
                        GST_TYPE_AVTS_TRAIN_OPTIMIZER, static_cast<gint>(defaults.optimizer), flags));
  g_object_class_install_property(
      gobject_class, PROP_SCHEDULE,
      g_param_spec_enum("schedule", "Schedule",
                        "Learning-rate schedule over the epochs: cosine decay from lr, step (times 0.1 every 10 "
                        "epochs) or constant.",
                        GST_TYPE_AVTS_TRAIN_SCHEDULE, static_cast<gint>(defaults.schedule), flags));
  g_object_class_install_property(
      gobject_class, PROP_WEIGHT_DECAY,
      g_param_spec_double("weight-decay", "Weight decay",
                          "Weight decay of the optimizer (L2 for sgd, decoupled for adamw); 0 turns it off.", 0.0, 1.0,
                          defaults.weight_decay, flags));
  g_object_class_install_property(
      gobject_class, PROP_WARMUP_STEPS,
      g_param_spec_uint("warmup-steps", "Warm-up steps", "Steps over which the learning rate ramps up linearly.", 0,
                        G_MAXINT, static_cast<guint>(defaults.warmup_steps), flags));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed",
                          "Seed of the initial weights (with preset), the sampling of pairs and the augmentation: "
                          "the same seed and input give the same model.",
                          0, G_MAXUINT64, defaults.seed, flags));
  g_object_class_install_property(
      gobject_class, PROP_MAX_TRAIN_FILES,
      g_param_spec_uint("max-train-files", "Maximum training files",
                        "Training files held in memory at once (the bank the easy negatives come from; the oldest "
                        "leaves first). Bounds memory however long the stream.",
                        2, 100000, static_cast<guint>(defaults.max_train_files), flags));
  g_object_class_install_property(
      gobject_class, PROP_CHUNK,
      g_param_spec_double("chunk", "Chunk (s)",
                          "For a stream without avtsdatasrc's file marks (a plain file, a live feed): the length "
                          "in seconds of the pieces it is cut into, each one a training file (easy negatives need "
                          "two; none is kept for validation, so the decision threshold is not fitted). At least "
                          "one clip (1 s).",
                          1.0, 86400.0, DEFAULT_CHUNK, flags));
  g_object_class_install_property(
      gobject_class, PROP_PROGRESS_INTERVAL,
      g_param_spec_uint("progress-interval", "Progress interval (ms)",
                        "Least time in milliseconds between two step progress messages (every epoch has its own "
                        "message anyway). 0: a message after every optimizer step.",
                        0, G_MAXUINT, DEFAULT_PROGRESS_INTERVAL_MS, flags));
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post 'avts-train-progress' element messages (steps and epochs). PROGRESS messages, "
                           "warnings and 'avts-train-done' are posted either way.",
                           DEFAULT_POST_MESSAGES, flags));
}

std::string gst_avts_train_model_source(const TrainSettings& s) {
  return s.model_file + "\n" + s.resume + "\n" + s.preset + "\n" + s.device + "\n" + avts::precision_name(s.precision) +
         "\n" + std::to_string(s.train.seed);
}

avts::TrainOptions gst_avts_train_options(const TrainSettings& s, const char* element) {
  avts::TrainOptions o = s.train;
  o.output = s.output;
  o.checkpoint = s.checkpoint;
  o.command = s.command.empty() ? std::string("avtstrain (element '") + element + "')" : s.command;
  return o;
}

avts::DistributedOptions gst_avts_train_distributed_options(const TrainSettings& s) {
  avts::DistributedOptions d = avts::DistributedOptions::from_environment();
  d.backend = s.dist_backend;
  return d;
}

avts::StartedRun gst_avts_train_open_run(const TrainSettings& s, const char* element, bool distributed) {
  const avts::DistributedOptions dist = gst_avts_train_distributed_options(s);
  avts::RunStart start;
  start.resume = s.resume;
  start.init = s.model_file;
  start.preset = s.preset;
  start.device = dist.rank_device(s.device);
  start.precision = s.precision;
  start.seed = s.train.seed;
  start.created_by = "avtstrain";
  dist.check_backend(start.device);  // before any media is decoded
  avts::TrainOptions options = gst_avts_train_options(s, element);
  if (distributed) options.distributed = dist;
  return avts::start_run(start, options);
}
