/**
 * SECTION:element-avtssyncbin
 * @title: avtssyncbin
 *
 * Passes audio and video through while it measures, and with correct=true cancels, their lip-
 * sync offset.
 *
 * ## Details
 * Audio (audio_sink -> audio_src) and video (video_sink -> video_src) pass through unchanged
 * while, inside, a tee of each feeds avtsaudiofeat and avtsvideofeat (model-file, device,
 * audio-hop, video-hop) and avtssync (standard, max-offset, context, interval,
 * tolerance-early, tolerance-late, min-confidence, hold, hysteresis). Its 'avts-sync' reports
 * (offset-ms: POSITIVE = AUDIO EARLY, confidence, probability, status ok / warn / fail /
 * inconclusive, ...) and the 'avts-sync-summary' at EOS reach the application's bus. With
 * correct=true the bin cancels the measured offset by delaying the early stream (a pad offset
 * on audio_src or video_src: the running time moves, buffers are untouched), slewing at most
 * correction-rate ms per second, acting only on stable-reports sure, agreeing reports, and
 * holding while reports are inconclusive; each change is an 'avts-sync-correction' message
 * (applied-ms, target-ms, settled, running-time). Live pipelines: put a queue after each src
 * pad (a delayed stream waits there) and set leaky=true so that slow analysis never holds back
 * the pass-through. An input that never starts (no audio or no video track) is ended when the
 * other input ends, so the analysis still finishes. Inner elements are named audio-tee,
 * audio-queue, audio-convert, audio-features, video-tee, video-queue, video-convert,
 * video-rgb, video-features, sync and reports.
 *
 * ## Example pipeline
 * |[
 * gst-launch-1.0 -m uridecodebin uri=file:///path/clip.mp4 name=d avtssyncbin name=s \
 * model-file=model.avts correct=true d. ! queue ! audioconvert ! s.audio_sink d. ! queue ! \
 * videoconvert ! s.video_sink s.audio_src ! queue ! audioconvert ! autoaudiosink s.video_src ! \
 * queue ! videoconvert ! autovideosink
 * ]|
 */
// avtssyncbin: a pass-through lip-sync monitor and corrector.
//
//   audio_sink -> audio-tee ----------------------------------------------------------> audio_src
//                          \-> audio-queue -> audio-convert -> audio-features ------> sync.audio_sink
//   video_sink -> video-tee ----------------------------------------------------------> video_src
//                          \-> video-queue -> video-convert -> video-rgb -> face-track -> video-features
//                                                                                  -> sync.video_sink
//   (face-track, avtsfacetrack, passes the frames through untouched unless face-track=true)
//   sync (avtssync) -> reports (fakesink)
//
// The analysis taps the streams before any correction, so the correction that cancels a
// measured offset is the offset itself (avts::SyncCorrector decides when and how fast).
// It is applied as a pad offset on the src ghost pads: buffers are never touched, their
// running time moves (audio delayed for a positive correction, video for a negative one).
#include "gstavtssyncbin.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include <gst/base/gstbasetransform.h>

#include "avts/sync_corrector.h"
#include "gstavtsaudiofeat.h"
#include "gstavtssync.h"
#include "gstavtsvideofeat.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_sync_bin_debug);
#define GST_CAT_DEFAULT gst_avts_sync_bin_debug

#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_CORRECT FALSE
#define DEFAULT_LEAKY FALSE
// The analysis queues hold this much media: enough for the feature elements' windows and
// batches to line up for avtssync, bounded so that memory is too.
#define ANALYSIS_QUEUE_TIME (3 * GST_SECOND)
// The pad offsets follow the slewing correction in steps of this many ms (and land exactly).
#define OFFSET_STEP_MS 1.0

enum {
  PROP_0,
  PROP_POST_MESSAGES,
  PROP_CORRECT,
  PROP_CORRECTION_RATE,
  PROP_MIN_PROBABILITY,
  PROP_STABLE_REPORTS,
  PROP_CORRECTION_DEADBAND,
  PROP_CORRECTION,
  PROP_LEAKY,
  PROP_FACE_TRACK,
  PROP_FIRST_PROXY,  // the children's properties follow, in kProxies order
};

// A property of the bin that is one of its children's, under the bin's name.
struct ProxiedProperty {
  const char* name;
  const char* child_property;
  bool audio_features, video_features, sync;
};

static const ProxiedProperty kProxies[] = {
    {"model-file", "model-file", true, true, false},
    {"device", "device", true, true, false},
    {"precision", "precision", true, true, false},
    {"audio-hop", "hop", true, false, false},
    {"video-hop", "hop", false, true, false},
    {"standard", "standard", false, false, true},
    {"max-offset", "max-offset", false, false, true},
    {"context", "context", false, false, true},
    {"interval", "interval", false, false, true},
    {"tolerance-early", "tolerance-early", false, false, true},
    {"tolerance-late", "tolerance-late", false, false, true},
    {"min-confidence", "min-confidence", false, false, true},
    {"hold", "hold", false, false, true},
    {"hysteresis", "hysteresis", false, false, true},
};
static constexpr guint kProxyCount = G_N_ELEMENTS(kProxies);

struct SyncBinState {
  GstElement *audio_tee = nullptr, *audio_queue = nullptr, *audio_features = nullptr;
  GstElement *video_tee = nullptr, *video_queue = nullptr, *video_features = nullptr;
  GstElement* face_track = nullptr;
  GstElement* sync = nullptr;
  GstPad *audio_sink = nullptr, *video_sink = nullptr;  // the bin's ghost pads
  GstPad *audio_src = nullptr, *video_src = nullptr;
  std::vector<std::string> missing;  // factories not installed

  std::mutex lock;  // guards what follows (application, audio and report threads)
  bool post_messages = DEFAULT_POST_MESSAGES;
  bool correct = DEFAULT_CORRECT;
  bool leaky = DEFAULT_LEAKY;
  avts::SyncCorrectorOptions options;
  avts::SyncCorrector corrector;
  GstSegment audio_segment;                               // of the audio going out
  GstClockTime audio_running_time = GST_CLOCK_TIME_NONE;  // of the latest audio going out
  double offset_ms = 0;                                   // the correction the src pads' offsets hold now
  GstClockTime last_post = GST_CLOCK_TIME_NONE;           // running time of the last progress message
};

struct _GstAvtsSyncBin {
  GstBin parent;
  SyncBinState* state;
};

G_DEFINE_TYPE(GstAvtsSyncBin, gst_avts_sync_bin, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE(avtssyncbin, "avtssyncbin", GST_RANK_NONE, GST_TYPE_AVTS_SYNC_BIN);

static GstStaticPadTemplate audio_sink_template =
    GST_STATIC_PAD_TEMPLATE("audio_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("audio/x-raw"));
static GstStaticPadTemplate video_sink_template =
    GST_STATIC_PAD_TEMPLATE("video_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));
static GstStaticPadTemplate audio_src_template =
    GST_STATIC_PAD_TEMPLATE("audio_src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("audio/x-raw"));
static GstStaticPadTemplate video_src_template =
    GST_STATIC_PAD_TEMPLATE("video_src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));

// ---------------------------------------------------------------- correction

// Points both src pads' offsets at `correction_ms` (positive: audio later; negative: video later).
static void set_pad_offsets(SyncBinState* st, double correction_ms) {
  const auto ns = [](double ms) { return static_cast<gint64>(std::llround(std::max(ms, 0.0) * GST_MSECOND)); };
  gst_pad_set_offset(st->audio_src, ns(correction_ms));
  gst_pad_set_offset(st->video_src, ns(-correction_ms));
}

static GstMessage* correction_message(GstAvtsSyncBin* self, const avts::SyncCorrector& c, GstClockTime running_time) {
  GstStructure* s = gst_structure_new(
      "avts-sync-correction", "applied-ms", G_TYPE_DOUBLE, c.applied_ms(), "target-ms", G_TYPE_DOUBLE, c.target_ms(),
      "settled", G_TYPE_BOOLEAN, c.settled() ? TRUE : FALSE, "running-time", GST_TYPE_CLOCK_TIME, running_time, "sign",
      G_TYPE_STRING, "positive = audio delayed, negative = video delayed", nullptr);
  return gst_message_new_element(GST_OBJECT(self), s);
}

// Fresh corrector from the properties, no correction applied (READY <-> PAUSED).
static void restart_correction(GstAvtsSyncBin* self) {
  SyncBinState* st = self->state;
  std::lock_guard<std::mutex> guard(st->lock);
  st->corrector = avts::SyncCorrector(st->options);  // the property ranges keep the options valid
  st->corrector.set_enabled(st->correct);
  gst_segment_init(&st->audio_segment, GST_FORMAT_TIME);
  st->audio_running_time = GST_CLOCK_TIME_NONE;
  st->offset_ms = 0;
  st->last_post = GST_CLOCK_TIME_NONE;
  set_pad_offsets(st, 0);
}

// The audio going out reached `running_time`: slew the correction and move the pad offsets.
static void advance_correction(GstAvtsSyncBin* self, GstClockTime running_time) {
  SyncBinState* st = self->state;
  GstMessage* message = nullptr;
  {
    std::lock_guard<std::mutex> guard(st->lock);
    st->audio_running_time = running_time;
    const double applied = st->corrector.advance(static_cast<int64_t>(running_time));
    const bool settled = st->corrector.settled();
    if (applied == st->offset_ms || (std::abs(applied - st->offset_ms) < OFFSET_STEP_MS && !settled)) return;
    const bool starting = !GST_CLOCK_TIME_IS_VALID(st->last_post);
    st->offset_ms = applied;
    set_pad_offsets(st, applied);
    GST_LOG_OBJECT(self, "correction %.1f ms (target %.1f ms)", applied, st->corrector.target_ms());
    // Messages: when a move starts, every second of it, and when it lands.
    if (starting || settled || running_time >= st->last_post + GST_SECOND) {
      message = correction_message(self, st->corrector, running_time);
      st->last_post = settled ? GST_CLOCK_TIME_NONE : running_time;
    }
  }
  if (message) gst_element_post_message(GST_ELEMENT(self), message);
}

static GstPadProbeReturn on_audio_out(GstPad*, GstPadProbeInfo* info, gpointer user_data) {
  auto* self = GST_AVTS_SYNC_BIN(user_data);
  SyncBinState* st = self->state;
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
      std::lock_guard<std::mutex> guard(st->lock);
      gst_event_copy_segment(event, &st->audio_segment);
    }
    return GST_PAD_PROBE_OK;
  }
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    pts = GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    if (gst_buffer_list_length(list) > 0) pts = GST_BUFFER_PTS(gst_buffer_list_get(list, 0));
  }
  if (!GST_CLOCK_TIME_IS_VALID(pts)) return GST_PAD_PROBE_OK;
  GstClockTime running_time;
  {
    std::lock_guard<std::mutex> guard(st->lock);
    if (st->audio_segment.format != GST_FORMAT_TIME) return GST_PAD_PROBE_OK;
    running_time = gst_segment_to_running_time(&st->audio_segment, GST_FORMAT_TIME, pts);
  }
  if (GST_CLOCK_TIME_IS_VALID(running_time)) advance_correction(self, running_time);
  return GST_PAD_PROBE_OK;
}

// The analysis needs both inputs to end. An input that never started (a file without an
// audio or a video track) would hold it, and the pipeline's EOS, forever: when one input
// ends, an input that never started ends too (its reports are then inconclusive).
static GstPadProbeReturn on_input_event(GstPad* pad, GstPadProbeInfo* info, gpointer user_data) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
  auto* self = GST_AVTS_SYNC_BIN(user_data);
  GstPad* other = pad == self->state->audio_sink ? self->state->video_sink : self->state->audio_sink;
  GstEvent* started = gst_pad_get_sticky_event(other, GST_EVENT_STREAM_START, 0);
  if (started) {
    gst_event_unref(started);
    return GST_PAD_PROBE_OK;
  }
  GST_INFO_OBJECT(self, "%s ended and %s never started: ending it", GST_PAD_NAME(pad), GST_PAD_NAME(other));
  gchar* stream_id = g_strdup_printf("%s/%s-absent", GST_OBJECT_NAME(self), GST_PAD_NAME(other));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_send_event(other, gst_event_new_stream_start(stream_id));
  gst_pad_send_event(other, gst_event_new_segment(&segment));
  gst_pad_send_event(other, gst_event_new_eos());
  g_free(stream_id);
  return GST_PAD_PROBE_OK;
}

// A string field that may also be an enum (its nick).
static std::string string_field(const GstStructure* s, const char* field) {
  const GValue* v = gst_structure_get_value(s, field);
  if (!v) return "";
  if (G_VALUE_HOLDS_STRING(v)) return g_value_get_string(v) ? g_value_get_string(v) : "";
  if (G_VALUE_HOLDS_ENUM(v)) {
    GEnumClass* klass = G_ENUM_CLASS(g_type_class_peek(G_VALUE_TYPE(v)));
    const GEnumValue* e = klass ? g_enum_get_value(klass, g_value_get_enum(v)) : nullptr;
    return e ? e->value_nick : "";
  }
  return "";
}

// An avts-sync report of the inner avtssync, as the corrector sees it.
static avts::SyncReport report_of(const GstStructure* s) {
  avts::SyncReport r;
  gst_structure_get_double(s, "offset-ms", &r.offset_ms);
  gst_structure_get_double(s, "confidence", &r.confidence);
  gst_structure_get_double(s, "probability", &r.probability);
  gboolean out_of_range = FALSE;
  gst_structure_get_boolean(s, "out-of-range", &out_of_range);
  r.out_of_range = out_of_range;
  gst_structure_get_int(s, "windows", &r.windows);
  const std::string status = string_field(s, "status");
  r.status = status == "ok"     ? avts::SyncStatus::Ok
             : status == "warn" ? avts::SyncStatus::Warn
             : status == "fail" ? avts::SyncStatus::Fail
                                : avts::SyncStatus::Inconclusive;
  return r;
}

// Reports of the inner avtssync feed the corrector, then go up (unless post-messages=false).
static void gst_avts_sync_bin_handle_message(GstBin* bin, GstMessage* message) {
  auto* self = GST_AVTS_SYNC_BIN(bin);
  SyncBinState* st = self->state;
  const GstStructure* s = gst_message_get_structure(message);
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT && GST_MESSAGE_SRC(message) == GST_OBJECT(st->sync) && s &&
      (gst_structure_has_name(s, "avts-sync") || gst_structure_has_name(s, "avts-sync-summary"))) {
    GstMessage* correction = nullptr;
    bool forward;
    {
      std::lock_guard<std::mutex> guard(st->lock);
      forward = st->post_messages;
      if (gst_structure_has_name(s, "avts-sync") && st->corrector.report(report_of(s))) {
        GST_INFO_OBJECT(self, "correction target %.1f ms", st->corrector.target_ms());
        correction = correction_message(self, st->corrector, st->audio_running_time);
      }
    }
    if (forward)
      GST_BIN_CLASS(gst_avts_sync_bin_parent_class)->handle_message(bin, message);
    else
      gst_message_unref(message);
    if (correction) gst_element_post_message(GST_ELEMENT(self), correction);
    return;
  }
  GST_BIN_CLASS(gst_avts_sync_bin_parent_class)->handle_message(bin, message);
}

// ---------------------------------------------------------------- properties

static std::vector<GstElement*> proxy_targets(SyncBinState* st, const ProxiedProperty& p) {
  std::vector<GstElement*> targets;
  if (p.audio_features && st->audio_features) targets.push_back(st->audio_features);
  if (p.video_features && st->video_features) targets.push_back(st->video_features);
  if (p.sync && st->sync) targets.push_back(st->sync);
  return targets;
}

static void set_leaky(SyncBinState* st, bool leaky) {
  for (GstElement* queue : {st->audio_queue, st->video_queue})
    if (queue) gst_util_set_object_arg(G_OBJECT(queue), "leaky", leaky ? "downstream" : "no");
}

static void gst_avts_sync_bin_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_SYNC_BIN(object);
  SyncBinState* st = self->state;
  if (prop_id >= PROP_FIRST_PROXY && prop_id < PROP_FIRST_PROXY + kProxyCount) {
    const ProxiedProperty& p = kProxies[prop_id - PROP_FIRST_PROXY];
    for (GstElement* child : proxy_targets(st, p)) g_object_set_property(G_OBJECT(child), p.child_property, value);
    return;
  }
  std::lock_guard<std::mutex> guard(st->lock);
  switch (prop_id) {
    case PROP_POST_MESSAGES:
      st->post_messages = g_value_get_boolean(value);
      break;
    case PROP_CORRECT:
      st->correct = g_value_get_boolean(value);
      st->corrector.set_enabled(st->correct);
      break;
    case PROP_CORRECTION_RATE:
      st->options.max_rate_ms_per_s = g_value_get_double(value);
      break;
    case PROP_MIN_PROBABILITY:
      st->options.min_probability = g_value_get_double(value);
      break;
    case PROP_STABLE_REPORTS:
      st->options.stable_reports = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_CORRECTION_DEADBAND:
      st->options.deadband_ms = g_value_get_double(value);
      break;
    case PROP_LEAKY:
      st->leaky = g_value_get_boolean(value);
      set_leaky(st, st->leaky);
      break;
    case PROP_FACE_TRACK:
      if (st->face_track)
        gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(st->face_track), !g_value_get_boolean(value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_avts_sync_bin_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_SYNC_BIN(object);
  SyncBinState* st = self->state;
  if (prop_id >= PROP_FIRST_PROXY && prop_id < PROP_FIRST_PROXY + kProxyCount) {
    const ProxiedProperty& p = kProxies[prop_id - PROP_FIRST_PROXY];
    const std::vector<GstElement*> targets = proxy_targets(st, p);
    if (!targets.empty()) g_object_get_property(G_OBJECT(targets.front()), p.child_property, value);
    return;
  }
  std::lock_guard<std::mutex> guard(st->lock);
  switch (prop_id) {
    case PROP_POST_MESSAGES:
      g_value_set_boolean(value, st->post_messages);
      break;
    case PROP_CORRECT:
      g_value_set_boolean(value, st->correct);
      break;
    case PROP_CORRECTION_RATE:
      g_value_set_double(value, st->options.max_rate_ms_per_s);
      break;
    case PROP_MIN_PROBABILITY:
      g_value_set_double(value, st->options.min_probability);
      break;
    case PROP_STABLE_REPORTS:
      g_value_set_uint(value, static_cast<guint>(st->options.stable_reports));
      break;
    case PROP_CORRECTION_DEADBAND:
      g_value_set_double(value, st->options.deadband_ms);
      break;
    case PROP_CORRECTION:
      g_value_set_double(value, st->offset_ms);
      break;
    case PROP_LEAKY:
      g_value_set_boolean(value, st->leaky);
      break;
    case PROP_FACE_TRACK:
      g_value_set_boolean(value,
                          st->face_track && !gst_base_transform_is_passthrough(GST_BASE_TRANSFORM(st->face_track)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

// The bin's copy of a child's property: same type, range, default and documentation.
static GParamSpec* copy_param_spec(GParamSpec* p, const char* name) {
  const auto flags =
      static_cast<GParamFlags>((p->flags & (G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | GST_PARAM_MUTABLE_PAUSED |
                                            GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE)) |
                               G_PARAM_STATIC_STRINGS);  // the child's strings live as long as its class: for good
  const gchar* nick = g_param_spec_get_nick(p);
  const gchar* blurb = g_param_spec_get_blurb(p);
  if (G_IS_PARAM_SPEC_STRING(p))
    return g_param_spec_string(name, nick, blurb, G_PARAM_SPEC_STRING(p)->default_value, flags);
  if (G_IS_PARAM_SPEC_UINT(p)) {
    GParamSpecUInt* u = G_PARAM_SPEC_UINT(p);
    return g_param_spec_uint(name, nick, blurb, u->minimum, u->maximum, u->default_value, flags);
  }
  if (G_IS_PARAM_SPEC_INT(p)) {
    GParamSpecInt* i = G_PARAM_SPEC_INT(p);
    return g_param_spec_int(name, nick, blurb, i->minimum, i->maximum, i->default_value, flags);
  }
  if (G_IS_PARAM_SPEC_DOUBLE(p)) {
    GParamSpecDouble* d = G_PARAM_SPEC_DOUBLE(p);
    return g_param_spec_double(name, nick, blurb, d->minimum, d->maximum, d->default_value, flags);
  }
  if (G_IS_PARAM_SPEC_BOOLEAN(p))
    return g_param_spec_boolean(name, nick, blurb, G_PARAM_SPEC_BOOLEAN(p)->default_value, flags);
  if (G_IS_PARAM_SPEC_ENUM(p))
    return g_param_spec_enum(name, nick, blurb, p->value_type, G_PARAM_SPEC_ENUM(p)->default_value, flags);
  g_error("avtssyncbin: cannot proxy property '%s' of type %s", p->name, g_type_name(p->value_type));
  return nullptr;
}

static void install_proxied_properties(GObjectClass* gobject_class) {
  GObjectClass* audio = G_OBJECT_CLASS(g_type_class_ref(GST_TYPE_AVTS_AUDIO_FEAT));
  GObjectClass* video = G_OBJECT_CLASS(g_type_class_ref(GST_TYPE_AVTS_VIDEO_FEAT));
  GObjectClass* sync = G_OBJECT_CLASS(g_type_class_ref(GST_TYPE_AVTS_SYNC));
  for (guint i = 0; i < kProxyCount; ++i) {
    const ProxiedProperty& p = kProxies[i];
    GObjectClass* owner = p.audio_features ? audio : p.video_features ? video : sync;
    GParamSpec* spec = g_object_class_find_property(owner, p.child_property);
    g_assert(spec != nullptr);
    g_object_class_install_property(gobject_class, PROP_FIRST_PROXY + i, copy_param_spec(spec, p.name));
  }
  // The classes stay referenced: the copies use their strings.
}

// ---------------------------------------------------------------- construction

static GstElement* add_child(GstAvtsSyncBin* self, const char* factory, const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (!e) {
    self->state->missing.push_back(factory);
    return nullptr;
  }
  gst_bin_add(GST_BIN(self), e);
  return e;
}

// `tee`'s pass-through branch becomes the ghost pad `name`.
static GstPad* add_src_ghost(GstAvtsSyncBin* self, GstElement* tee, const char* name, GstStaticPadTemplate* templ) {
  GstPadTemplate* pad_templ = gst_static_pad_template_get(templ);
  GstPad* ghost = gst_ghost_pad_new_no_target_from_template(name, pad_templ);
  gst_object_unref(pad_templ);
  if (tee) {
    GstPad* tee_src = gst_element_request_pad_simple(tee, "src_%u");
    gst_ghost_pad_set_target(GST_GHOST_PAD(ghost), tee_src);
    gst_object_unref(tee_src);
  }
  gst_element_add_pad(GST_ELEMENT(self), ghost);
  return ghost;
}

static GstPad* add_sink_ghost(GstAvtsSyncBin* self, GstElement* tee, const char* name, GstStaticPadTemplate* templ) {
  GstPadTemplate* pad_templ = gst_static_pad_template_get(templ);
  GstPad* ghost = gst_ghost_pad_new_no_target_from_template(name, pad_templ);
  gst_object_unref(pad_templ);
  if (tee) {
    GstPad* tee_sink = gst_element_get_static_pad(tee, "sink");
    gst_ghost_pad_set_target(GST_GHOST_PAD(ghost), tee_sink);
    gst_object_unref(tee_sink);
  }
  gst_element_add_pad(GST_ELEMENT(self), ghost);
  gst_pad_add_probe(ghost, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_input_event, self, nullptr);
  return ghost;
}

static void link_chain(std::initializer_list<GstElement*> chain) {
  GstElement* previous = nullptr;
  for (GstElement* e : chain) {
    if (!e) return;  // a missing element: reported at NULL -> READY
    if (previous && !gst_element_link(previous, e))
      GST_ERROR("cannot link %s to %s", GST_ELEMENT_NAME(previous), GST_ELEMENT_NAME(e));
    previous = e;
  }
}

static void gst_avts_sync_bin_init(GstAvtsSyncBin* self) {
  SyncBinState* st = self->state = new SyncBinState();
  st->corrector.set_enabled(st->correct);
  gst_segment_init(&st->audio_segment, GST_FORMAT_TIME);

  st->audio_tee = add_child(self, "tee", "audio-tee");
  st->audio_queue = add_child(self, "queue", "audio-queue");
  GstElement* audio_convert = add_child(self, "audioconvert", "audio-convert");
  st->audio_features = add_child(self, "avtsaudiofeat", "audio-features");
  st->video_tee = add_child(self, "tee", "video-tee");
  st->video_queue = add_child(self, "queue", "video-queue");
  GstElement* video_convert = add_child(self, "videoconvert", "video-convert");
  GstElement* video_rgb = add_child(self, "capsfilter", "video-rgb");
  st->face_track = add_child(self, "avtsfacetrack", "face-track");
  if (st->face_track) gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(st->face_track), TRUE);
  st->video_features = add_child(self, "avtsvideofeat", "video-features");
  st->sync = add_child(self, "avtssync", "sync");
  GstElement* reports = add_child(self, "fakesink", "reports");

  for (GstElement* queue : {st->audio_queue, st->video_queue})
    if (queue)
      g_object_set(queue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                   static_cast<guint64>(ANALYSIS_QUEUE_TIME), nullptr);
  if (video_rgb) {
    GstCaps* rgb = gst_caps_from_string("video/x-raw,format=RGB");
    g_object_set(video_rgb, "caps", rgb, nullptr);
    gst_caps_unref(rgb);
  }
  // The reports are the messages: the sink neither waits for the clock nor holds preroll,
  // so the analysis never delays the pass-through or the pipeline's state changes.
  if (reports) g_object_set(reports, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, nullptr);

  link_chain({st->audio_tee, st->audio_queue, audio_convert, st->audio_features});
  link_chain({st->video_tee, st->video_queue, video_convert, video_rgb, st->face_track, st->video_features});
  if (st->audio_features && st->sync) gst_element_link_pads(st->audio_features, "src", st->sync, "audio_sink");
  if (st->video_features && st->sync) gst_element_link_pads(st->video_features, "src", st->sync, "video_sink");
  link_chain({st->sync, reports});

  st->audio_sink = add_sink_ghost(self, st->audio_tee, "audio_sink", &audio_sink_template);
  st->video_sink = add_sink_ghost(self, st->video_tee, "video_sink", &video_sink_template);
  st->audio_src = add_src_ghost(self, st->audio_tee, "audio_src", &audio_src_template);
  st->video_src = add_src_ghost(self, st->video_tee, "video_src", &video_src_template);
  // On the tee's pass-through pad (audio_src's target): the audio going out paces the
  // correction's slew.
  if (st->audio_tee) {
    GstPad* target = gst_ghost_pad_get_target(GST_GHOST_PAD(st->audio_src));
    gst_pad_add_probe(target,
                      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                                   GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                      on_audio_out, self, nullptr);
    gst_object_unref(target);
  }
}

static GstStateChangeReturn gst_avts_sync_bin_change_state(GstElement* element, GstStateChange transition) {
  auto* self = GST_AVTS_SYNC_BIN(element);
  SyncBinState* st = self->state;
  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!st->missing.empty()) {
        std::string names;
        for (const std::string& m : st->missing) names += (names.empty() ? "" : ", ") + m;
        GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Missing GStreamer element(s): %s.", names.c_str()),
                          ("avtssyncbin needs tee, queue, audioconvert, videoconvert, capsfilter, fakesink "
                           "(GStreamer core and base plugins) and the avts plugin's elements."));
        return GST_STATE_CHANGE_FAILURE;
      }
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      restart_correction(self);
      break;
    default:
      break;
  }
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_avts_sync_bin_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) restart_correction(self);
  return ret;
}

static void gst_avts_sync_bin_finalize(GObject* object) {
  auto* self = GST_AVTS_SYNC_BIN(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_avts_sync_bin_parent_class)->finalize(object);
}

static void gst_avts_sync_bin_class_init(GstAvtsSyncBinClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBinClass* bin_class = GST_BIN_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_avts_sync_bin_debug, "avtssyncbin", 0, "AVTS lip-sync monitor and corrector bin");

  gobject_class->set_property = gst_avts_sync_bin_set_property;
  gobject_class->get_property = gst_avts_sync_bin_get_property;
  gobject_class->finalize = gst_avts_sync_bin_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_avts_sync_bin_change_state);
  bin_class->handle_message = GST_DEBUG_FUNCPTR(gst_avts_sync_bin_handle_message);

  const auto playing = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const avts::SyncCorrectorOptions defaults;

  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Let the inner avtssync's 'avts-sync' reports and 'avts-sync-summary' reach the "
                           "application's bus. The correction works from the reports either way.",
                           DEFAULT_POST_MESSAGES, playing));
  g_object_class_install_property(
      gobject_class, PROP_CORRECT,
      g_param_spec_boolean("correct", "Correct",
                           "Re-time the streams going out to cancel the measured offset: audio early by d ms -> the "
                           "audio leaves d ms later (its running time moves; buffers and timestamps are untouched); "
                           "audio late -> the video leaves later. Moves at most correction-rate ms per second, only "
                           "when stable-reports reports in a row are sure and agree, and holds while reports are "
                           "inconclusive. Turned off, the correction slews back to none.",
                           DEFAULT_CORRECT, playing));
  g_object_class_install_property(
      gobject_class, PROP_CORRECTION_RATE,
      g_param_spec_double("correction-rate", "Correction rate (ms/s)",
                          "Fastest change of the applied correction, in milliseconds per second of stream, so that "
                          "the correction moves smoothly instead of jumping.",
                          0.1, 1000.0, defaults.max_rate_ms_per_s, ready));
  g_object_class_install_property(
      gobject_class, PROP_MIN_PROBABILITY,
      g_param_spec_double("min-probability", "Minimum probability",
                          "A report counts towards a correction only when its probability is at least this (and it "
                          "is conclusive and in range).",
                          0.0, 1.0, defaults.min_probability, ready));
  g_object_class_install_property(
      gobject_class, PROP_STABLE_REPORTS,
      g_param_spec_uint("stable-reports", "Stable reports",
                        "Consecutive sure reports, within one video frame (40 ms) of each other, needed before the "
                        "correction target moves to their median.",
                        1, 100, static_cast<guint>(defaults.stable_reports), ready));
  g_object_class_install_property(
      gobject_class, PROP_CORRECTION_DEADBAND,
      g_param_spec_double("correction-deadband", "Correction dead band (ms)",
                          "A stable estimate within this many milliseconds of the current target does not move it "
                          "(hysteresis: the correction does not chase noise).",
                          0.0, 1000.0, defaults.deadband_ms, ready));
  g_object_class_install_property(
      gobject_class, PROP_CORRECTION,
      g_param_spec_double("correction", "Correction (ms)",
                          "The correction applied now, in milliseconds: positive = audio delayed, negative = video "
                          "delayed. Read only; also posted as 'avts-sync-correction' messages.",
                          -G_MAXDOUBLE, G_MAXDOUBLE, 0.0,
                          static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_LEAKY,
      g_param_spec_boolean("leaky", "Leaky analysis",
                           "For live sources: the analysis queues drop their oldest media when full instead of "
                           "blocking, so slow analysis never holds back the pass-through (reports then skip what "
                           "was dropped). Off (the default), files are analysed completely and exactly.",
                           DEFAULT_LEAKY, playing));
  g_object_class_install_property(
      gobject_class, PROP_FACE_TRACK,
      g_param_spec_boolean("face-track", "Face track",
                           "Find and follow faces (avtsfacetrack) and look at the mouth of the largest instead of "
                           "the model's fixed region; set it for a model whose framing is \"face\" (avts info). "
                           "Off: the frames pass the tracker untouched.",
                           FALSE, ready));
  install_proxied_properties(gobject_class);

  gst_element_class_add_static_pad_template(element_class, &audio_sink_template);
  gst_element_class_add_static_pad_template(element_class, &video_sink_template);
  gst_element_class_add_static_pad_template(element_class, &audio_src_template);
  gst_element_class_add_static_pad_template(element_class, &video_src_template);
  gst_element_class_set_static_metadata(
      element_class, "AVTS lip-sync monitor and corrector", "Filter/Analyzer/Audio/Video",
      "Passes audio and video through while it measures, and with correct=true cancels, their lip-sync "
      "offset",
      "avts project");
  gst_element_class_add_static_metadata(
      element_class, "example",
      "gst-launch-1.0 -m uridecodebin uri=file:///path/clip.mp4 name=d avtssyncbin name=s "
      "model-file=model.avts correct=true d. ! queue ! audioconvert ! s.audio_sink d. ! queue ! "
      "videoconvert ! s.video_sink s.audio_src ! queue ! audioconvert ! autoaudiosink s.video_src ! "
      "queue ! videoconvert ! autovideosink");
}
