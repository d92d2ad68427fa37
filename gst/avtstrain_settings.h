// avtstrain's read-write properties: the settings they hold, the properties themselves (installed,
// set and read here; the element adds its read-only counters after them), and what the settings
// ask of the library (the run's options, where it starts).
#pragma once

#include <gst/gst.h>

#include <string>

#include "avts/model.h"
#include "avts/train.h"

#define DEFAULT_PRESET "avts-compact"
#define DEFAULT_DEVICE "cpu"
#define DEFAULT_CHUNK 10.0
#define DEFAULT_PROGRESS_INTERVAL_MS 1000
#define DEFAULT_POST_MESSAGES TRUE

enum {
  PROP_0,
  PROP_MODEL_FILE,
  PROP_PRESET,
  PROP_OUTPUT,
  PROP_CHECKPOINT,
  PROP_RESUME,
  PROP_COMMAND,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_DIST_BACKEND,
  PROP_EPOCHS,
  PROP_BATCH_SIZE,
  PROP_LR,
  PROP_CURRICULUM,
  PROP_EASY_EPOCHS,
  PROP_MIXED_EPOCHS,
  PROP_HARD_FRACTION,
  PROP_NEGATIVES,
  PROP_LOSS,
  PROP_TEMPERATURE,
  PROP_ZOOM,
  PROP_DRIFT,
  PROP_BLUR,
  PROP_NOISE_SNR,
  PROP_OPTIMIZER,
  PROP_SCHEDULE,
  PROP_WEIGHT_DECAY,
  PROP_WARMUP_STEPS,
  PROP_SEED,
  PROP_MAX_TRAIN_FILES,
  PROP_CHUNK,
  PROP_PROGRESS_INTERVAL,
  PROP_POST_MESSAGES,
  PROP_SETTINGS_END,  // the element's read-only properties follow
};

struct TrainSettings {
  std::string model_file, preset = DEFAULT_PRESET, output, checkpoint, resume, command, device = DEFAULT_DEVICE;
  avts::Precision precision = avts::Precision::Float32;
  avts::DistBackend dist_backend = avts::DistBackend::Auto;
  avts::TrainOptions train;  // epochs 0: from the stream
  gdouble chunk = DEFAULT_CHUNK;
  guint progress_interval_ms = DEFAULT_PROGRESS_INTERVAL_MS;
  gboolean post_messages = DEFAULT_POST_MESSAGES;

  TrainSettings() { train.epochs = 0; }
};

// Installs the properties PROP_0 + 1 .. PROP_SETTINGS_END - 1 (mutable in READY at most).
void gst_avts_train_install_settings(GObjectClass* gobject_class);
// Sets / reads one setting; false when prop_id is not one of them.
bool gst_avts_train_set_setting(TrainSettings& s, guint prop_id, const GValue* value);
bool gst_avts_train_get_setting(const TrainSettings& s, guint prop_id, GValue* value);

// What the settings ask of the library.
// Names the model a run starts from (model-file, resume, preset, device, precision, seed):
// when it changes, the element loads the model again.
std::string gst_avts_train_model_source(const TrainSettings& s);
// The trainer's options (epochs 0: from the stream); `element` names the run's command when
// the settings give none.
avts::TrainOptions gst_avts_train_options(const TrainSettings& s, const char* element);
// The launcher's ranks (RANK, WORLD_SIZE...) and the backend chosen.
avts::DistributedOptions gst_avts_train_distributed_options(const TrainSettings& s);
// Where the run starts (lib's start_run): on the GPU the rank's LOCAL_RANK names when several
// ranks run. `distributed`: a resumed run joins its data-parallel group. Throws avts::Error.
avts::StartedRun gst_avts_train_open_run(const TrainSettings& s, const char* element, bool distributed);
