#include "gstavtsfeatureextractor.h"

#include <string>

#include "avts/error.h"
#include "avts/model.h"
#include "avtsprecision.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_feature_extractor_debug);
#define GST_CAT_DEFAULT gst_avts_feature_extractor_debug

enum {
  PROP_0,
  PROP_MODEL_FILE,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_LAYER,
  PROP_HOP,
  PROP_BATCH_SIZE,
};

#define DEFAULT_DEVICE "cpu"
#define DEFAULT_LAYER "embedding"

struct GstAvtsFeatureExtractorState {
  // Properties, under the object lock.
  std::string model_file;
  std::string device = DEFAULT_DEVICE;
  avts::Precision precision = avts::Precision::Float32;
  std::string layer = DEFAULT_LAYER;
  guint hop_ms = 0;
  guint batch_size = 0;

  // Set by state changes (application thread), read by the streaming thread.
  std::shared_ptr<const avts::Model> model;
  std::string loaded_file, loaded_device;
  avts::Precision loaded_precision = avts::Precision::Float32;
  GstAvtsFeatureFormat format;
  GstAvtsFeaturizerInfo info;
  guint configured_batch_size = 1;

  // Streaming thread.
  GstSegment segment;
  GstClockTime next_pts = GST_CLOCK_TIME_NONE;  // where a buffer without PTS starts
  bool have_caps = false;
};

G_DEFINE_ABSTRACT_TYPE(GstAvtsFeatureExtractor, gst_avts_feature_extractor, GST_TYPE_ELEMENT)

static void gst_avts_feature_extractor_set_property(GObject* object, guint prop_id, const GValue* value,
                                                    GParamSpec* pspec) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(object);
  GstAvtsFeatureExtractorState* st = self->state;
  const gchar* text = nullptr;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      text = g_value_get_string(value);
      st->model_file = text ? text : "";
      break;
    case PROP_DEVICE:
      text = g_value_get_string(value);
      st->device = text ? text : DEFAULT_DEVICE;
      break;
    case PROP_PRECISION:
      st->precision = avts_precision_from_enum(g_value_get_enum(value));
      break;
    case PROP_LAYER:
      text = g_value_get_string(value);
      st->layer = text ? text : DEFAULT_LAYER;
      break;
    case PROP_HOP:
      st->hop_ms = g_value_get_uint(value);
      break;
    case PROP_BATCH_SIZE:
      st->batch_size = g_value_get_uint(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_feature_extractor_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(object);
  GstAvtsFeatureExtractorState* st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      g_value_set_string(value, st->model_file.empty() ? nullptr : st->model_file.c_str());
      break;
    case PROP_DEVICE:
      g_value_set_string(value, st->device.c_str());
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, static_cast<gint>(st->precision));
      break;
    case PROP_LAYER:
      g_value_set_string(value, st->layer.c_str());
      break;
    case PROP_HOP:
      g_value_set_uint(value, st->hop_ms);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint(value, st->batch_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

// Loads the model named by model-file / device / precision, unless that one is loaded already.
static gboolean load_model(GstAvtsFeatureExtractor* self) {
  GstAvtsFeatureExtractorState* st = self->state;
  GST_OBJECT_LOCK(self);
  const std::string file = st->model_file;
  const std::string device = st->device;
  const avts::Precision precision = st->precision;
  GST_OBJECT_UNLOCK(self);

  if (file.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No model file set"),
                      ("Set the model-file property to an AVTS model file (see 'avts train' / 'avts init')."));
    return FALSE;
  }
  if (st->model && file == st->loaded_file && device == st->loaded_device && precision == st->loaded_precision)
    return TRUE;
  st->model.reset();
  if (!g_file_test(file.c_str(), G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Could not load model file '%s': no such file.", file.c_str()),
                      ("Check the model-file property."));
    return FALSE;
  }
  try {
    GST_INFO_OBJECT(self, "loading model '%s' on %s", file.c_str(), device.c_str());
    std::shared_ptr<avts::Model> model = avts::Model::load(file, device);
    model->set_precision(precision);
    st->model = std::move(model);
  } catch (const avts::ModelFileError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Could not load model file '%s'.", file.c_str()), ("%s", e.what()));
    return FALSE;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Could not load model file '%s' on device '%s': %s", file.c_str(), device.c_str(), e.what()),
                      ("%s", e.what()));
    return FALSE;
  }
  st->loaded_file = file;
  st->loaded_device = device;
  st->loaded_precision = precision;
  return TRUE;
}

// Builds the subclass' featurizer from the loaded model and the current properties.
static gboolean configure(GstAvtsFeatureExtractor* self) {
  GstAvtsFeatureExtractorClass* klass = GST_AVTS_FEATURE_EXTRACTOR_GET_CLASS(self);
  GstAvtsFeatureExtractorState* st = self->state;
  avts::FeaturizerOptions options;
  GST_OBJECT_LOCK(self);
  options.layer = st->layer;
  options.hop_ns = static_cast<int64_t>(st->hop_ms) * GST_MSECOND;
  options.batch_size = static_cast<int>(st->batch_size);
  GST_OBJECT_UNLOCK(self);

  try {
    st->info = klass->configure(self, st->model, options);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()),
                      ("layer '%s', hop %" G_GINT64_FORMAT " ms, batch-size %d, model file '%s'", options.layer.c_str(),
                       options.hop_ns / GST_MSECOND, options.batch_size, st->loaded_file.c_str()));
    return FALSE;
  }
  st->format.modality = klass->modality;
  st->format.dim = st->info.dim;
  st->format.layer = options.layer;
  st->format.model_id = st->model->id();
  st->format.hop_ns = st->info.hop;
  st->format.window_ns = st->info.window;
  st->format.min_confidence = st->model->config().min_confidence;
  st->configured_batch_size = options.batch_size;
  return TRUE;
}

static void reset_stream(GstAvtsFeatureExtractor* self) {
  GstAvtsFeatureExtractorState* st = self->state;
  gst_segment_init(&st->segment, GST_FORMAT_TIME);
  st->next_pts = GST_CLOCK_TIME_NONE;
}

static GstFlowReturn push_rows(GstAvtsFeatureExtractor* self, const std::vector<avts::FeatureRows>& rows) {
  for (const avts::FeatureRows& r : rows) {
    GstBuffer* buffer = gst_avts_feature_buffer_new(r);
    GST_LOG_OBJECT(self, "%d rows at %" GST_TIME_FORMAT "%s", r.n, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)),
                   r.discont ? " (discont)" : "");
    const GstFlowReturn ret = gst_pad_push(self->srcpad, buffer);
    if (ret != GST_FLOW_OK) return ret;
  }
  return GST_FLOW_OK;
}

static GstFlowReturn gst_avts_feature_extractor_chain(GstPad* /*pad*/, GstObject* parent, GstBuffer* buffer) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(parent);
  GstAvtsFeatureExtractorClass* klass = GST_AVTS_FEATURE_EXTRACTOR_GET_CLASS(self);
  GstAvtsFeatureExtractorState* st = self->state;

  if (!st->have_caps) {
    gst_buffer_unref(buffer);
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (nullptr), ("Data arrived before caps."));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  // A buffer without PTS continues where the previous one ended; the first one starts
  // at the segment start.
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts)) {
    if (GST_CLOCK_TIME_IS_VALID(st->next_pts))
      pts = st->next_pts;
    else
      pts = st->segment.format == GST_FORMAT_TIME ? st->segment.start : 0;
  }
  const GstClockTime duration = klass->buffer_duration(self, buffer);
  st->next_pts = GST_CLOCK_TIME_IS_VALID(duration) ? pts + duration : GST_CLOCK_TIME_NONE;

  std::vector<avts::FeatureRows> rows;
  try {
    klass->process(self, buffer, pts, rows);
  } catch (const std::exception& e) {
    gst_buffer_unref(buffer);
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Feature extraction failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  gst_buffer_unref(buffer);
  return push_rows(self, rows);
}

static gboolean gst_avts_feature_extractor_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(parent);
  GstAvtsFeatureExtractorClass* klass = GST_AVTS_FEATURE_EXTRACTOR_GET_CLASS(self);
  GstAvtsFeatureExtractorState* st = self->state;

  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(event, &caps);
      gboolean ok = klass->set_caps(self, caps);
      gst_event_unref(event);
      if (!ok) {
        GST_WARNING_OBJECT(self, "cannot handle caps %" GST_PTR_FORMAT, caps);
        return FALSE;
      }
      st->have_caps = true;
      // The feature caps depend on the model only; they are sent once per stream.
      GstCaps* features = gst_avts_feature_format_to_caps(st->format);
      GstCaps* current = gst_pad_get_current_caps(self->srcpad);
      if (!current || !gst_caps_is_equal(current, features)) ok = gst_pad_set_caps(self->srcpad, features);
      if (current) gst_caps_unref(current);
      gst_caps_unref(features);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment(event, &st->segment);
      // Windows on multiples of the hop in running time (running time = pts - start + base
      // at rate 1), so that the audio and video windows of one source line up even when
      // their segments start apart (an MP4's AAC priming and B-frame delay).
      if (st->segment.format == GST_FORMAT_TIME && klass->set_grid_origin)
        klass->set_grid_origin(self, static_cast<int64_t>(st->segment.start) - static_cast<int64_t>(st->segment.base));
      break;
    case GST_EVENT_FLUSH_STOP:
      klass->reset(self);
      reset_stream(self);
      break;
    case GST_EVENT_EOS: {
      std::vector<avts::FeatureRows> rows;
      try {
        klass->drain(self, rows);
      } catch (const std::exception& e) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Feature extraction failed: %s", e.what()), (nullptr));
      }
      push_rows(self, rows);
      break;
    }
    case GST_EVENT_GAP:
      // Windows before the gap may still be pending: a gap forwarded now could promise
      // downstream that nothing comes before its end. Timestamps carry gaps instead.
      gst_event_unref(event);
      return TRUE;
    default:
      break;
  }
  return gst_pad_event_default(pad, parent, event);
}

static gboolean gst_avts_feature_extractor_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(parent);
  GstAvtsFeatureExtractorState* st = self->state;

  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    if (!gst_pad_peer_query(self->sinkpad, query)) return FALSE;
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    // A window leaves after its media, the lookahead and the rest of its batch are in.
    const GstClockTime ours = st->info.window + st->info.lookahead + (st->configured_batch_size - 1) * st->info.hop;
    GST_DEBUG_OBJECT(self, "our latency %" GST_TIME_FORMAT, GST_TIME_ARGS(ours));
    gst_query_set_latency(query, live, min + ours, GST_CLOCK_TIME_IS_VALID(max) ? max + ours : max);
    return TRUE;
  }
  return gst_pad_query_default(pad, parent, query);
}

static GstStateChangeReturn gst_avts_feature_extractor_change_state(GstElement* element, GstStateChange transition) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(element);
  GstAvtsFeatureExtractorClass* klass = GST_AVTS_FEATURE_EXTRACTOR_GET_CLASS(self);
  GstAvtsFeatureExtractorState* st = self->state;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      // Properties may have changed in READY: (re)load and configure before streaming.
      if (!load_model(self) || !configure(self)) return GST_STATE_CHANGE_FAILURE;
      reset_stream(self);
      st->have_caps = false;
      break;
    default:
      break;
  }

  const GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(gst_avts_feature_extractor_parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) return ret;

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      klass->stop(self);
      st->have_caps = false;
      break;
    case GST_STATE_CHANGE_READY_TO_NULL:
      klass->stop(self);
      st->model.reset();
      st->loaded_file.clear();
      st->loaded_device.clear();
      break;
    default:
      break;
  }
  return ret;
}

static void gst_avts_feature_extractor_constructed(GObject* object) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(object);
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(self);  // the subclass: it has the templates
  G_OBJECT_CLASS(gst_avts_feature_extractor_parent_class)->constructed(object);

  self->sinkpad = gst_pad_new_from_template(gst_element_class_get_pad_template(klass, "sink"), "sink");
  gst_pad_set_chain_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_avts_feature_extractor_chain));
  gst_pad_set_event_function(self->sinkpad, GST_DEBUG_FUNCPTR(gst_avts_feature_extractor_sink_event));
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

  self->srcpad = gst_pad_new_from_template(gst_element_class_get_pad_template(klass, "src"), "src");
  gst_pad_set_query_function(self->srcpad, GST_DEBUG_FUNCPTR(gst_avts_feature_extractor_src_query));
  gst_pad_use_fixed_caps(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

static void gst_avts_feature_extractor_finalize(GObject* object) {
  GstAvtsFeatureExtractor* self = GST_AVTS_FEATURE_EXTRACTOR(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_avts_feature_extractor_parent_class)->finalize(object);
}

static void gst_avts_feature_extractor_class_init(GstAvtsFeatureExtractorClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_avts_feature_extractor_debug, "avtsfeatureextractor", 0, "AVTS feature extractor base");

  gobject_class->constructed = gst_avts_feature_extractor_constructed;
  gobject_class->finalize = gst_avts_feature_extractor_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_avts_feature_extractor_change_state);

  gst_type_mark_as_plugin_api(GST_TYPE_AVTS_FEATURE_EXTRACTOR, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_AVTS_PRECISION, static_cast<GstPluginAPIFlags>(0));
}

static void gst_avts_feature_extractor_init(GstAvtsFeatureExtractor* self) {
  self->state = new GstAvtsFeatureExtractorState();
  gst_segment_init(&self->state->segment, GST_FORMAT_TIME);
}

void gst_avts_feature_extractor_class_install_properties(GstAvtsFeatureExtractorClass* klass, guint default_hop_ms,
                                                         guint default_batch_size, const gchar* hop_blurb) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  // GObject does not inherit these two: the subclass owns the properties it installs.
  gobject_class->set_property = gst_avts_feature_extractor_set_property;
  gobject_class->get_property = gst_avts_feature_extractor_get_property;
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  g_object_class_install_property(
      gobject_class, PROP_MODEL_FILE,
      g_param_spec_string("model-file", "Model file",
                          "Path of the AVTS model file (written by 'avts train' or 'avts init'). Required. "
                          "Loaded when the element goes from NULL to READY; a missing or damaged file is an "
                          "error that names the file.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the network runs: \"cpu\", \"cuda\" or \"cuda:N\" (the CUDA ones need avts "
                          "built against a CUDA LibTorch). Takes effect when the model is loaded.",
                          DEFAULT_DEVICE, flags));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision", AVTS_PRECISION_DOC " Takes effect when the model is loaded.",
                        GST_TYPE_AVTS_PRECISION, static_cast<gint>(avts::Precision::Float32), flags));
  g_object_class_install_property(
      gobject_class, PROP_LAYER,
      g_param_spec_string("layer", "Layer",
                          "Which output to extract: \"embedding\" (the L2-normalised embedding used for sync, "
                          "embedding_dim floats) or \"layer1\" .. \"layer4\" (a residual / conv stage, globally "
                          "average-pooled). The width appears as 'dim' in the src caps.",
                          DEFAULT_LAYER, flags));
  g_object_class_install_property(gobject_class, PROP_HOP,
                                  g_param_spec_uint("hop", "Hop (ms)", hop_blurb, 10, 10000, default_hop_ms,
                                                    static_cast<GParamFlags>(flags | G_PARAM_CONSTRUCT)));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Windows per forward pass of the network. Larger batches use the CPU / GPU better but "
                        "hold output back by up to (batch-size - 1) x hop; the latency query reports it.",
                        1, 1024, default_batch_size, static_cast<GParamFlags>(flags | G_PARAM_CONSTRUCT)));
}
