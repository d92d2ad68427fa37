// The `precision` property of the elements that run a network (avtsaudiofeat, avtsvideofeat,
// avtstrain): a GEnum whose values are avts::Precision's, so gst-inspect lists them and
// gst-launch checks them.
#pragma once

#include <glib-object.h>

#include "avts/model.h"

#define GST_TYPE_AVTS_PRECISION (gst_avts_precision_get_type())
GType gst_avts_precision_get_type(void);

inline avts::Precision avts_precision_from_enum(gint value) { return static_cast<avts::Precision>(value); }

#define AVTS_PRECISION_DOC                                                                         \
  "Arithmetic of the network: float32, or autocast to bfloat16 / float16 (convolutions and "       \
  "matrix products in the lower precision, as torch.autocast does). bfloat16 also runs on the "    \
  "CPU (faster on CPUs with AVX512-BF16 or AMX); float16 needs device=cuda, and asking for it on " \
  "the CPU is an error when the model is loaded."
