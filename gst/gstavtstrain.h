// avtstrain: decoded audio and video in, a self-supervised AVTS model file out.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AVTS_TRAIN (gst_avts_train_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsTrain, gst_avts_train, GST, AVTS_TRAIN, GstElement)

GST_ELEMENT_REGISTER_DECLARE(avtstrain);

G_END_DECLS
