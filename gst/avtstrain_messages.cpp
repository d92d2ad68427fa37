#include "avtstrain_messages.h"

GstStructure* gst_avts_train_progress_structure(const avts::TrainProgress& p, double progress, int percent,
                                                const std::string& output) {
  const bool epoch_end = p.kind == avts::TrainProgress::Kind::Epoch;
  GstStructure* s = gst_structure_new(
      "avts-train-progress", "kind", G_TYPE_STRING, epoch_end ? "epoch" : "step", "epoch", G_TYPE_INT, p.epoch,
      "epochs", G_TYPE_INT, p.epochs, "stage", G_TYPE_INT, p.stage, "step", G_TYPE_INT64, static_cast<gint64>(p.step),
      "lr", G_TYPE_DOUBLE, p.lr, "loss", G_TYPE_DOUBLE, p.loss, "epoch-loss", G_TYPE_DOUBLE, p.epoch_loss, "pairs",
      G_TYPE_INT64, static_cast<gint64>(p.epoch_pairs), "pairs-per-second", G_TYPE_DOUBLE, p.pairs_per_second,
      "train-files", G_TYPE_INT, p.train_files, "hard-fallbacks", G_TYPE_INT, p.hard_fallbacks, "percent", G_TYPE_INT,
      percent, "progress", G_TYPE_DOUBLE, progress, nullptr);
  if (epoch_end) {
    const avts::ValidationReport& v = p.validation;
    gst_structure_set(s, "validated", G_TYPE_BOOLEAN, p.validated ? TRUE : FALSE, "validation-clips", G_TYPE_INT,
                      v.clips, "accuracy-easy", G_TYPE_DOUBLE, v.accuracy_easy, "accuracy-hard", G_TYPE_DOUBLE,
                      v.accuracy_hard, "auc-easy", G_TYPE_DOUBLE, v.auc_easy, "auc-hard", G_TYPE_DOUBLE, v.auc_hard,
                      "threshold", G_TYPE_DOUBLE, v.threshold, "output", G_TYPE_STRING, output.c_str(), nullptr);
  }
  return s;
}

std::string gst_avts_train_progress_text(const avts::TrainProgress& p) {
  char text[160];
  if (p.kind == avts::TrainProgress::Kind::Epoch)
    g_snprintf(text, sizeof text, "epoch %d/%d done: loss %.4f, %.1f pairs/s, model written", p.epoch + 1, p.epochs,
               p.epoch_loss, p.pairs_per_second);
  else
    g_snprintf(text, sizeof text, "epoch %d/%d (stage %d): step %" G_GINT64_FORMAT ", loss %.4f, %.1f pairs/s",
               p.epoch + 1, p.epochs, p.stage, static_cast<gint64>(p.step), p.loss, p.pairs_per_second);
  return text;
}

GstStructure* gst_avts_train_done_structure(const avts::Trainer& trainer, const std::string& output,
                                            const std::string& checkpoint, guint skipped) {
  const std::string id = trainer.model()->id();
  return gst_structure_new("avts-train-done", "epochs", G_TYPE_INT, trainer.epoch(), "steps", G_TYPE_INT64,
                           static_cast<gint64>(trainer.step()), "output", G_TYPE_STRING, output.c_str(), "checkpoint",
                           G_TYPE_STRING, checkpoint.c_str(), "model-id", G_TYPE_STRING, id.c_str(), "threshold",
                           G_TYPE_DOUBLE, trainer.model()->config().threshold, "skipped", G_TYPE_UINT, skipped,
                           nullptr);
}

GstStructure* gst_avts_train_stopped_structure(const avts::Trainer& trainer, const std::string& checkpoint,
                                               bool saved) {
  return gst_structure_new("avts-train-stopped", "epoch", G_TYPE_INT, trainer.epoch(), "epochs", G_TYPE_INT,
                           trainer.options().epochs, "step", G_TYPE_INT64, static_cast<gint64>(trainer.step()),
                           "checkpoint", G_TYPE_STRING, checkpoint.c_str(), "saved", G_TYPE_BOOLEAN,
                           saved ? TRUE : FALSE, "world-size", G_TYPE_INT, trainer.options().distributed.world_size,
                           nullptr);
}
