// The feature stream between avts elements: caps and buffers.
//
//   application/x-avts-features, modality=(string){audio,video}, dim=(int)D,
//     layer=(string)L, model-id=(string)ID, hop=(guint64)ns, window=(guint64)ns
//     [, min-confidence=(double)C]   the model's calibrated minimum confidence, if it has one
//
// One buffer holds N rows of D native-endian float32 values: row i is the window that
// starts at PTS + i * hop and lasts `window`; DURATION = N * hop; DISCONT after a gap.
#pragma once

#include <gst/gst.h>

#include <string>

#include "avts/featurizer.h"
#include "avts/model.h"

#define GST_AVTS_FEATURES_MEDIA_TYPE "application/x-avts-features"

// Pad template caps of a feature stream of one modality ("audio" or "video").
#define GST_AVTS_FEATURES_TEMPLATE_CAPS(modality) \
  GST_AVTS_FEATURES_MEDIA_TYPE ", modality=(string)" modality ", dim=(int)[ 1, 2147483647 ]"

struct GstAvtsFeatureFormat {
  avts::Modality modality = avts::Modality::Audio;
  int dim = 0;
  std::string layer;
  std::string model_id;
  guint64 hop_ns = 0;
  guint64 window_ns = 0;
  double min_confidence = 0;  // 0: the model has none
};

GstCaps* gst_avts_feature_format_to_caps(const GstAvtsFeatureFormat& format);

// FALSE when the caps are not fixed feature caps with every field above.
gboolean gst_avts_feature_format_from_caps(const GstCaps* caps, GstAvtsFeatureFormat* format);

// One buffer for `rows`: data, PTS, DURATION and the DISCONT flag.
GstBuffer* gst_avts_feature_buffer_new(const avts::FeatureRows& rows);
