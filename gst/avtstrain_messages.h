// avtstrain's element messages, built from the trainer's values (the element posts them):
//   avts-train-progress  after a step (at most every progress-interval) and after each epoch
//   avts-train-done      the run is over and the model written (just before EOS)
//   avts-train-stopped   the pipeline stopped before the last epoch
#pragma once

#include <gst/gst.h>

#include <string>

#include "avts/train.h"

// `progress`: the share of the whole run done (0..1), `percent` the same in whole percent.
GstStructure* gst_avts_train_progress_structure(const avts::TrainProgress& p, double progress, int percent,
                                                const std::string& output);
// One line for GST_MESSAGE_PROGRESS.
std::string gst_avts_train_progress_text(const avts::TrainProgress& p);
GstStructure* gst_avts_train_done_structure(const avts::Trainer& trainer, const std::string& output,
                                            const std::string& checkpoint, guint skipped);
GstStructure* gst_avts_train_stopped_structure(const avts::Trainer& trainer, const std::string& checkpoint, bool saved);
