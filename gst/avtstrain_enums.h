// avtstrain's enum property types. Their values are lib's (avts::Curriculum, avts::LossKind,
// ...), so a property's value casts straight to the trainer's option.
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define GST_TYPE_AVTS_TRAIN_CURRICULUM (gst_avts_train_curriculum_get_type())
#define GST_TYPE_AVTS_TRAIN_LOSS (gst_avts_train_loss_get_type())
#define GST_TYPE_AVTS_TRAIN_OPTIMIZER (gst_avts_train_optimizer_get_type())
#define GST_TYPE_AVTS_TRAIN_SCHEDULE (gst_avts_train_schedule_get_type())
#define GST_TYPE_AVTS_TRAIN_DIST_BACKEND (gst_avts_train_dist_backend_get_type())
GType gst_avts_train_curriculum_get_type(void);
GType gst_avts_train_loss_get_type(void);
GType gst_avts_train_optimizer_get_type(void);
GType gst_avts_train_schedule_get_type(void);
GType gst_avts_train_dist_backend_get_type(void);

G_END_DECLS
