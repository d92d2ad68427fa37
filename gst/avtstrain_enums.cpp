#include "avtstrain_enums.h"

#include "avts/train.h"

GType gst_avts_train_curriculum_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::Curriculum::Paper),
       "The paper's: easy negatives only for easy-epochs, then 75 % easy / 25 % hard", "paper"},
      {static_cast<gint>(avts::Curriculum::PaperFine),
       "As paper, then a third stage whose hard negatives are shifted by a few frames only", "paper-fine"},
      {static_cast<gint>(avts::Curriculum::None), "Easy and hard negatives from the start", "none"},
      {static_cast<gint>(avts::Curriculum::EasyOnly), "Easy negatives only, throughout", "easy-only"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainCurriculum", values));
  return type;
}

GType gst_avts_train_loss_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::LossKind::Contrastive), "Contrastive loss on the embedding distance", "contrastive"},
      {static_cast<gint>(avts::LossKind::CrossEntropy), "Two-way cross-entropy on the fusion head", "cross-entropy"},
      {static_cast<gint>(avts::LossKind::MultiWay), "Each video clip against its positive and negatives at once",
       "multi-way"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainLoss", values));
  return type;
}

GType gst_avts_train_optimizer_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::OptimizerKind::Sgd), "SGD with momentum", "sgd"},
      {static_cast<gint>(avts::OptimizerKind::AdamW), "AdamW", "adamw"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainOptimizer", values));
  return type;
}

GType gst_avts_train_schedule_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::ScheduleKind::Cosine), "Cosine decay from lr over the epochs", "cosine"},
      {static_cast<gint>(avts::ScheduleKind::Step), "lr times 0.1 every 10 epochs", "step"},
      {static_cast<gint>(avts::ScheduleKind::Constant), "lr throughout", "constant"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainSchedule", values));
  return type;
}

GType gst_avts_train_dist_backend_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::DistBackend::Auto), "NCCL when training on a GPU and avts has it, else Gloo", "auto"},
      {static_cast<gint>(avts::DistBackend::Gloo), "Gloo: through the host, any device", "gloo"},
      {static_cast<gint>(avts::DistBackend::Nccl), "NCCL: from GPU to GPU", "nccl"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainDistBackend", values));
  return type;
}
