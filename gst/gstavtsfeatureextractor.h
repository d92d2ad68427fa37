// GstAvtsFeatureExtractor: abstract base of avtsaudiofeat and avtsvideofeat.
//
// It owns what the two share: the sink and src pads, the model-file / device / layer /
// hop / batch-size properties, loading the model at NULL->READY, the feature caps, turning
// FeatureRows into buffers, timestamps of buffers without PTS, and the events (EOS drains,
// FLUSH_STOP resets). A subclass converts its media and drives its featurizer.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <vector>

#include "avts/featurizer.h"
#include "featurecaps.h"

G_BEGIN_DECLS

#define GST_TYPE_AVTS_FEATURE_EXTRACTOR (gst_avts_feature_extractor_get_type())
#define GST_AVTS_FEATURE_EXTRACTOR(obj) \
  (G_TYPE_CHECK_INSTANCE_CAST((obj), GST_TYPE_AVTS_FEATURE_EXTRACTOR, GstAvtsFeatureExtractor))
#define GST_AVTS_FEATURE_EXTRACTOR_CLASS(klass) \
  (G_TYPE_CHECK_CLASS_CAST((klass), GST_TYPE_AVTS_FEATURE_EXTRACTOR, GstAvtsFeatureExtractorClass))
#define GST_AVTS_FEATURE_EXTRACTOR_GET_CLASS(obj) \
  (G_TYPE_INSTANCE_GET_CLASS((obj), GST_TYPE_AVTS_FEATURE_EXTRACTOR, GstAvtsFeatureExtractorClass))

typedef struct _GstAvtsFeatureExtractor GstAvtsFeatureExtractor;
typedef struct _GstAvtsFeatureExtractorClass GstAvtsFeatureExtractorClass;
struct GstAvtsFeatureExtractorState;  // C++ state, private to the base

struct _GstAvtsFeatureExtractor {
  GstElement parent;

  GstPad* sinkpad;
  GstPad* srcpad;

  /*< private >*/
  GstAvtsFeatureExtractorState* state;
};

// What a configured featurizer produces; the subclass fills it in configure().
struct GstAvtsFeaturizerInfo {
  int dim = 0;
  GstClockTime hop = 0;
  GstClockTime window = 0;
  GstClockTime lookahead = 0;  // media needed past a window's end before it can be emitted
};

struct _GstAvtsFeatureExtractorClass {
  GstElementClass parent_class;

  avts::Modality modality;

  // Builds the featurizer for `model` and `options` (on the application thread, READY).
  // Throws avts::Error when the options do not fit the model.
  GstAvtsFeaturizerInfo (*configure)(GstAvtsFeatureExtractor* self, std::shared_ptr<const avts::Model> model,
                                     const avts::FeaturizerOptions& options);
  // New sink caps (already accepted by the template). FALSE: not negotiated.
  gboolean (*set_caps)(GstAvtsFeatureExtractor* self, GstCaps* caps);
  // How long `buffer` lasts, GST_CLOCK_TIME_NONE if unknown (for buffers without PTS).
  GstClockTime (*buffer_duration)(GstAvtsFeatureExtractor* self, GstBuffer* buffer);
  // Feeds one buffer whose media starts at `pts`; may throw avts::Error.
  void (*process)(GstAvtsFeatureExtractor* self, GstBuffer* buffer, GstClockTime pts,
                  std::vector<avts::FeatureRows>& rows);
  // End of stream: everything still pending.
  void (*drain)(GstAvtsFeatureExtractor* self, std::vector<avts::FeatureRows>& rows);
  // Flush: forget pending media.
  void (*reset)(GstAvtsFeatureExtractor* self);
  // READY: drop the featurizer and per-stream state.
  void (*stop)(GstAvtsFeatureExtractor* self);
  // New TIME segment: windows of the next grid start at origin_ns + k * hop.
  void (*set_grid_origin)(GstAvtsFeatureExtractor* self, int64_t origin_ns);
};

GType gst_avts_feature_extractor_get_type(void);

// Installs model-file, device, layer, hop and batch-size with the subclass' defaults;
// called from the subclass' class_init.
void gst_avts_feature_extractor_class_install_properties(GstAvtsFeatureExtractorClass* klass, guint default_hop_ms,
                                                         guint default_batch_size, const gchar* hop_blurb);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(GstAvtsFeatureExtractor, gst_object_unref)

G_END_DECLS
