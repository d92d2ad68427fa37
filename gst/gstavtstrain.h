// avtstrain: decoded audio and video in, a self-supervised AVTS model file out.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AVTS_TRAIN (gst_avts_train_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsTrain, gst_avts_train, GST, AVTS_TRAIN, GstElement)

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

GST_ELEMENT_REGISTER_DECLARE(avtstrain);

G_END_DECLS
