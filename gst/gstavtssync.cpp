/**
 * SECTION:element-avtssync
 * @title: avtssync
 *
 * A/V-sync (lip-sync) monitor: takes the audio and video feature streams of one AVTS model
 * (from avtsaudiofeat and avtsvideofeat), aligns them by running time and reports how far
 * the audio is from the video, every `interval`, against a broadcast tolerance.
 *
 * SIGN: a positive offset means the AUDIO is EARLY (leads the video).
 *
 * Each report goes out three ways: an element message `avts-sync`, one src buffer holding
 * the same fields as a JSON object and a newline (so `avtssync ! filesink` writes JSON
 * lines), and at EOS a whole-stream `avts-sync-summary` message and a last JSON line with
 * "summary": true.
 *
 * ## The `avts-sync` message (one per report)
 * - timestamp, running-time (#GstClockTime): start of the interval reported, in running time
 * - stream-time (#GstClockTime): the same instant in the video pad's stream time
 * - duration (#GstClockTime): the interval
 * - offset-ms (double): positive = audio early; argmin of the distance curve averaged over
 *   the video windows of the last `context` ms, refined below one audio hop
 * - confidence (double): median minus minimum of that curve; probability (double): a
 *   logistic of it, 0.5 at min-confidence
 * - status (string): ok, warn, fail or inconclusive (confidence below min-confidence);
 *   standard (string): the tolerance judged against
 * - out-of-range (boolean): the minimum is at +-max-offset; offset-ms is the edge, not an estimate
 * - sign (string), audio-hop-ms (double), windows (int): video windows averaged
 *
 * ## The `avts-sync-summary` message (at EOS)
 * The whole stream's offset-ms, confidence, probability, out-of-range, status, standard, sign
 * and audio-hop-ms as above, from the mean curve of every window judged, and:
 * - timestamp, duration (#GstClockTime): first report's start, span of the reports
 * - spread-ms (double): interquartile range of the confident reports' offsets;
 *   drift-ms-per-min (double): their slope; steps (int): jumps of the offset
 * - windows, windows-skipped (int64): video windows judged, and skipped for lack of audio
 * - reports (int), inconclusive-share (double)
 * - curve (#GstValueArray of double): the mean distance curve, point k at offset
 *   curve-first-offset-ms - k * curve-hop-ms (doubles); window-minima (#GstValueArray of
 *   int64): per point, the windows whose own curve has its minimum there
 *
 * ## Details
 * The streams are aligned by running time. For every video window the distances to the audio
 * windows within max-offset form a curve; curves are averaged over `context`, and every
 * `interval` a report is judged against the chosen broadcast standard, with hysteresis (the
 * fields above). Latency: interval + max-offset on top of the feature elements'. Live: a
 * stalled input is judged missing at the deadline, never waited for.
 *
 * ## Example pipeline
 * |[
 * gst-launch-1.0 -m uridecodebin uri=file:///clip.mp4 name=d \
 *     d. ! audioconvert ! audioresample ! avtsaudiofeat model-file=model.avts ! sync.audio_sink \
 *     d. ! videoconvert ! video/x-raw,format=RGB ! avtsvideofeat model-file=model.avts ! sync.video_sink \
 *     avtssync name=sync standard=ebu-r37 ! filesink location=sync.jsonl
 * ]|
 */
#include "gstavtssync.h"

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "avts/error.h"
#include "avts/sync.h"
#include "featurecaps.h"
#include "structurejson.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_sync_debug);
#define GST_CAT_DEFAULT gst_avts_sync_debug

enum {
  PROP_0,
  PROP_INTERVAL,
  PROP_MAX_OFFSET,
  PROP_CONTEXT,
  PROP_STANDARD,
  PROP_TOLERANCE_EARLY,
  PROP_TOLERANCE_LATE,
  PROP_MIN_CONFIDENCE,
  PROP_HOLD,
  PROP_HYSTERESIS,
  PROP_POST_MESSAGES,
};

#define DEFAULT_INTERVAL_MS 1000
#define DEFAULT_MAX_OFFSET_MS 600
#define DEFAULT_CONTEXT_MS 5000
#define DEFAULT_STANDARD avts::SyncStandard::EbuR37
#define DEFAULT_TOLERANCE_EARLY_MS 40
#define DEFAULT_TOLERANCE_LATE_MS 60
#define DEFAULT_MIN_CONFIDENCE 0.1
#define DEFAULT_HOLD 3
#define DEFAULT_HYSTERESIS_MS 10
#define DEFAULT_POST_MESSAGES TRUE

#define REPORT_CAPS "text/x-raw, format=(string)utf8"

static GstStaticPadTemplate audio_sink_template = GST_STATIC_PAD_TEMPLATE(
    "audio_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_AVTS_FEATURES_TEMPLATE_CAPS("audio")));
static GstStaticPadTemplate video_sink_template = GST_STATIC_PAD_TEMPLATE(
    "video_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_AVTS_FEATURES_TEMPLATE_CAPS("video")));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(REPORT_CAPS));

// The standard property: same values, same order as avts::SyncStandard.
GType gst_avts_sync_standard_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::SyncStandard::EbuR37), "EBU R37: audio at most 40 ms early and 60 ms late", "ebu-r37"},
      {static_cast<gint>(avts::SyncStandard::ItuBt1359),
       "ITU-R BT.1359 detectability: audio at most 45 ms early and 125 ms late", "itu-bt1359"},
      {static_cast<gint>(avts::SyncStandard::ItuBt1359Accept),
       "ITU-R BT.1359 acceptability: audio at most 90 ms early and 185 ms late", "itu-bt1359-accept"},
      {static_cast<gint>(avts::SyncStandard::AtscIs191), "ATSC IS-191: audio at most 15 ms early and 45 ms late",
       "atsc-is191"},
      {static_cast<gint>(avts::SyncStandard::Custom), "Custom: tolerance-early and tolerance-late", "custom"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstAvtsSyncStandard", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

struct Settings {
  guint interval_ms = DEFAULT_INTERVAL_MS;
  guint max_offset_ms = DEFAULT_MAX_OFFSET_MS;
  guint context_ms = DEFAULT_CONTEXT_MS;
  avts::SyncStandard standard = DEFAULT_STANDARD;
  guint tolerance_early_ms = DEFAULT_TOLERANCE_EARLY_MS;
  guint tolerance_late_ms = DEFAULT_TOLERANCE_LATE_MS;
  gdouble min_confidence = DEFAULT_MIN_CONFIDENCE;
  bool min_confidence_set = false;  // by the application: the model's calibrated value does not apply
  guint hold = DEFAULT_HOLD;
  guint hysteresis_ms = DEFAULT_HYSTERESIS_MS;
  gboolean post_messages = DEFAULT_POST_MESSAGES;
};

struct PadStream {
  GstAvtsFeatureFormat format;
  bool have_format = false;
  bool ended = false;  // told the estimator
};

struct SyncState {
  Settings settings;  // under the object lock

  // From start() on, used by the aggregate thread.
  avts::SyncOptions options;
  std::unique_ptr<avts::OffsetEstimator> estimator;
  PadStream audio, video;
  bool finished = false;
};

struct _GstAvtsSync {
  GstAggregator parent;
  GstAggregatorPad* audio_pad;
  GstAggregatorPad* video_pad;
  SyncState* state;
};

G_DEFINE_TYPE(GstAvtsSync, gst_avts_sync, GST_TYPE_AGGREGATOR)
GST_ELEMENT_REGISTER_DEFINE(avtssync, "avtssync", GST_RANK_NONE, GST_TYPE_AVTS_SYNC)

static avts::SyncOptions options_from(const Settings& s) {
  avts::SyncOptions o;
  o.interval_ns = static_cast<int64_t>(s.interval_ms) * GST_MSECOND;
  o.max_offset_ns = static_cast<int64_t>(s.max_offset_ms) * GST_MSECOND;
  o.context_ns = static_cast<int64_t>(s.context_ms) * GST_MSECOND;
  o.tolerance = s.standard == avts::SyncStandard::Custom
                    ? avts::SyncTolerance::custom(s.tolerance_early_ms, s.tolerance_late_ms)
                    : avts::SyncTolerance::of(s.standard);
  o.min_confidence = s.min_confidence;
  o.hold = static_cast<int>(s.hold);
  o.hysteresis_ms = s.hysteresis_ms;
  return o;
}

// What avtssync adds to the upstream latency: a report for [T - interval, T) needs the
// video up to T and the audio up to the last window's t + max-offset. The feature elements
// already count their window (and batch) in their own latency; the estimator's compute is
// a few microseconds per window.
static GstClockTime our_latency(const avts::SyncOptions& o) {
  return static_cast<GstClockTime>(o.interval_ns + o.max_offset_ns);
}

static PadStream& stream_of(GstAvtsSync* self, GstAggregatorPad* pad) {
  return pad == self->audio_pad ? self->state->audio : self->state->video;
}

static void reset_streams(GstAvtsSync* self) {
  SyncState* st = self->state;
  st->estimator = std::make_unique<avts::OffsetEstimator>(st->options);
  st->audio.ended = st->video.ended = false;
  st->finished = false;
}

// ---------------------------------------------------------------- caps

static gboolean set_pad_caps(GstAvtsSync* self, GstAggregatorPad* pad, GstCaps* caps) {
  SyncState* st = self->state;
  const bool is_audio = pad == self->audio_pad;
  const char* name = is_audio ? "audio" : "video";
  GstAvtsFeatureFormat format;
  if (!gst_avts_feature_format_from_caps(caps, &format)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Incomplete feature caps on %s_sink.", name),
                      ("caps %" GST_PTR_FORMAT " lack dim, layer, model-id, hop or window", caps));
    return FALSE;
  }
  if (format.layer != "embedding") {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("avtssync needs embedding features, but %s_sink gets layer '%s'.", name, format.layer.c_str()),
                      ("Set layer=embedding (the default) on avts%sfeat.", name));
    return FALSE;
  }
  const PadStream& other = is_audio ? st->video : st->audio;
  if (other.have_format) {
    const GstAvtsFeatureFormat& a = is_audio ? format : other.format;
    const GstAvtsFeatureFormat& v = is_audio ? other.format : format;
    if (a.model_id != v.model_id || a.dim != v.dim) {
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                        ("The audio and video features come from different models: audio model-id '%s' (dim %d), video "
                         "model-id '%s' (dim %d).",
                         a.model_id.c_str(), a.dim, v.model_id.c_str(), v.dim),
                        ("Give avtsaudiofeat and avtsvideofeat the same model-file."));
      return FALSE;
    }
  }
  if (is_audio && static_cast<guint64>(st->options.max_offset_ns) < 2 * format.hop_ns) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("max-offset %" G_GINT64_FORMAT " ms is shorter than two audio hops (%" G_GUINT64_FORMAT " ms).",
                       st->options.max_offset_ns / GST_MSECOND, 2 * format.hop_ns / GST_MSECOND),
                      ("Raise max-offset or lower the hop of avtsaudiofeat."));
    return FALSE;
  }
  // A model calibrated on held-out speakers brings its own minimum confidence (the caps carry
  // it), unless the application set one.
  GST_OBJECT_LOCK(self);
  const bool use_model_confidence = format.min_confidence > 0 && !st->settings.min_confidence_set;
  if (use_model_confidence) st->settings.min_confidence = format.min_confidence;
  GST_OBJECT_UNLOCK(self);
  if (use_model_confidence && st->estimator && st->options.min_confidence != format.min_confidence) {
    st->options.min_confidence = format.min_confidence;
    st->estimator->set_min_confidence(format.min_confidence);
    GST_INFO_OBJECT(self, "min-confidence %.4f, calibrated for model %s", format.min_confidence,
                    format.model_id.c_str());
  }
  PadStream& stream = stream_of(self, pad);
  stream.format = format;
  stream.have_format = true;
  GST_DEBUG_OBJECT(pad, "features: dim %d, hop %" GST_TIME_FORMAT ", model %s", format.dim,
                   GST_TIME_ARGS(format.hop_ns), format.model_id.c_str());
  return TRUE;
}

static gboolean gst_avts_sync_sink_event(GstAggregator* agg, GstAggregatorPad* pad, GstEvent* event) {
  GstAvtsSync* self = GST_AVTS_SYNC(agg);
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    GstCaps* caps = nullptr;
    gst_event_parse_caps(event, &caps);
    const gboolean ok = set_pad_caps(self, pad, caps);
    // Not forwarded: the src pad carries reports, not features.
    gst_event_unref(event);
    return ok;
  }
  return GST_AGGREGATOR_CLASS(gst_avts_sync_parent_class)->sink_event(agg, pad, event);
}

// ---------------------------------------------------------------- output

static GstClockTime stream_time_of(GstAvtsSync* self, GstClockTime running_time) {
  GstSegment segment;
  GST_OBJECT_LOCK(self->video_pad);
  gst_segment_copy_into(&self->video_pad->segment, &segment);
  GST_OBJECT_UNLOCK(self->video_pad);
  if (segment.format != GST_FORMAT_TIME) return GST_CLOCK_TIME_NONE;
  const guint64 position = gst_segment_position_from_running_time(&segment, GST_FORMAT_TIME, running_time);
  return gst_segment_to_stream_time(&segment, GST_FORMAT_TIME, position);
}

static double audio_hop_ms(GstAvtsSync* self) {
  return self->state->audio.have_format ? static_cast<double>(self->state->audio.format.hop_ns) / GST_MSECOND : 0.0;
}

// The fields of one report. The output segment is running time, so the report's
// timestamp is also its running time; stream-time comes from the video pad's segment.
static GstStructure* report_structure(GstAvtsSync* self, const avts::SyncReport& r) {
  const GstClockTime start = static_cast<GstClockTime>(r.start_ns);
  return gst_structure_new("avts-sync", "timestamp", GST_TYPE_CLOCK_TIME, start, "stream-time", GST_TYPE_CLOCK_TIME,
                           stream_time_of(self, start), "running-time", GST_TYPE_CLOCK_TIME, start, "duration",
                           GST_TYPE_CLOCK_TIME, static_cast<GstClockTime>(r.duration_ns), "offset-ms", G_TYPE_DOUBLE,
                           r.offset_ms, "confidence", G_TYPE_DOUBLE, r.confidence, "probability", G_TYPE_DOUBLE,
                           r.probability, "status", G_TYPE_STRING, avts::sync_status_name(r.status), "standard",
                           G_TYPE_STRING, avts::sync_standard_name(self->state->options.tolerance.standard),
                           "out-of-range", G_TYPE_BOOLEAN, r.out_of_range ? TRUE : FALSE, "sign", G_TYPE_STRING,
                           avts::kSyncSign, "audio-hop-ms", G_TYPE_DOUBLE, audio_hop_ms(self), "windows", G_TYPE_INT,
                           r.windows, nullptr);
}

// A GST_TYPE_ARRAY of `values` (doubles or int64s) set as field `name` of `st`.
template <typename T>
static void set_array(GstStructure* st, const char* name, const std::vector<T>& values) {
  GValue array = G_VALUE_INIT, item = G_VALUE_INIT;
  g_value_init(&array, GST_TYPE_ARRAY);
  for (const T v : values) {
    if constexpr (std::is_same_v<T, double>) {
      g_value_init(&item, G_TYPE_DOUBLE);
      g_value_set_double(&item, v);
    } else {
      g_value_init(&item, G_TYPE_INT64);
      g_value_set_int64(&item, v);
    }
    gst_value_array_append_and_take_value(&array, &item);
    item = G_VALUE_INIT;
  }
  gst_structure_take_value(st, name, &array);
}

static GstStructure* summary_structure(GstAvtsSync* self, const avts::SyncSummary& s) {
  GstStructure* st = gst_structure_new(
      "avts-sync-summary", "summary", G_TYPE_BOOLEAN, TRUE, "timestamp", GST_TYPE_CLOCK_TIME,
      static_cast<GstClockTime>(s.start_ns), "duration", GST_TYPE_CLOCK_TIME, static_cast<GstClockTime>(s.duration_ns),
      "offset-ms", G_TYPE_DOUBLE, s.offset_ms, "confidence", G_TYPE_DOUBLE, s.confidence, "probability", G_TYPE_DOUBLE,
      s.probability, "out-of-range", G_TYPE_BOOLEAN, s.out_of_range ? TRUE : FALSE, "spread-ms", G_TYPE_DOUBLE,
      s.spread_ms, "drift-ms-per-min", G_TYPE_DOUBLE, s.drift_ms_per_min, "steps", G_TYPE_INT, s.steps, "windows",
      G_TYPE_INT64, static_cast<gint64>(s.windows), "windows-skipped", G_TYPE_INT64,
      static_cast<gint64>(s.windows_skipped), "reports", G_TYPE_INT, s.reports, "inconclusive-share", G_TYPE_DOUBLE,
      s.inconclusive_share, "status", G_TYPE_STRING, avts::sync_status_name(s.status), "standard", G_TYPE_STRING,
      avts::sync_standard_name(self->state->options.tolerance.standard), "sign", G_TYPE_STRING, avts::kSyncSign,
      "audio-hop-ms", G_TYPE_DOUBLE, audio_hop_ms(self), nullptr);
  gst_structure_set(st, "curve-first-offset-ms", G_TYPE_DOUBLE, s.curve_first_offset_ms, "curve-hop-ms", G_TYPE_DOUBLE,
                    s.curve_hop_ms, nullptr);
  set_array(st, "curve", s.curve);
  set_array(st, "window-minima", s.window_minima);
  return st;
}

// Posts `fields` (when post-messages is on) and pushes them as a JSON line; takes `fields`.
static GstFlowReturn output(GstAvtsSync* self, GstStructure* fields, GstClockTime pts, GstClockTime duration) {
  GstAggregator* agg = GST_AGGREGATOR(self);
  std::string json = gst_avts_structure_to_json(fields) + "\n";

  GST_OBJECT_LOCK(self);
  const gboolean post = self->state->settings.post_messages;
  GST_OBJECT_UNLOCK(self);
  if (post)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), fields));
  else
    gst_structure_free(fields);

  if (!gst_pad_has_current_caps(GST_AGGREGATOR_SRC_PAD(agg))) {
    GstCaps* caps = gst_caps_from_string(REPORT_CAPS);
    gst_aggregator_set_src_caps(agg, caps);
    gst_caps_unref(caps);
  }
  GstBuffer* buffer = gst_buffer_new_memdup(json.data(), json.size());
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DURATION(buffer) = duration;
  GST_OBJECT_LOCK(self);
  GST_AGGREGATOR_PAD(GST_AGGREGATOR_SRC_PAD(agg))->segment.position = pts + duration;
  GST_OBJECT_UNLOCK(self);
  return gst_aggregator_finish_buffer(agg, buffer);
}

static GstFlowReturn output_reports(GstAvtsSync* self, const std::vector<avts::SyncReport>& reports) {
  for (const avts::SyncReport& r : reports) {
    GST_DEBUG_OBJECT(self, "report at %" GST_TIME_FORMAT ": offset %.1f ms, confidence %.3f, %s",
                     GST_TIME_ARGS(r.start_ns), r.offset_ms, r.confidence, avts::sync_status_name(r.status));
    const GstFlowReturn ret = output(self, report_structure(self, r), static_cast<GstClockTime>(r.start_ns),
                                     static_cast<GstClockTime>(r.duration_ns));
    if (ret != GST_FLOW_OK) return ret;
  }
  return GST_FLOW_OK;
}

// ---------------------------------------------------------------- input

// The running time of the buffer at the head of `pad`, or NONE when it has none.
static GstClockTime head_running_time(GstAggregatorPad* pad) {
  GstBuffer* buffer = gst_aggregator_pad_peek_buffer(pad);
  if (!buffer) return GST_CLOCK_TIME_NONE;
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  if (GST_BUFFER_PTS_IS_VALID(buffer)) {
    GST_OBJECT_LOCK(pad);
    rt = gst_segment_to_running_time(&pad->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
    GST_OBJECT_UNLOCK(pad);
  }
  gst_buffer_unref(buffer);
  return GST_CLOCK_TIME_IS_VALID(rt) ? rt : 0;  // untimed heads go first (and are dropped)
}

// Rows of `buffer` in running time; rows outside the segment are left out. FALSE: a
// buffer that is not a whole number of rows.
static gboolean rows_of(GstAvtsSync* self, GstAggregatorPad* pad, GstBuffer* buffer, avts::FeatureRows& rows) {
  const GstAvtsFeatureFormat& f = stream_of(self, pad).format;
  const gsize row_bytes = static_cast<gsize>(f.dim) * sizeof(float);
  const gsize size = gst_buffer_get_size(buffer);
  if (size % row_bytes != 0) {
    GST_ELEMENT_ERROR(self, STREAM, DECODE, ("Damaged feature stream on %s.", GST_PAD_NAME(pad)),
                      ("buffer of %" G_GSIZE_FORMAT " bytes is not a whole number of %d-float rows", size, f.dim));
    return FALSE;
  }
  rows = avts::FeatureRows();
  rows.hop_ns = static_cast<int64_t>(f.hop_ns);
  rows.dim = f.dim;
  if (!GST_BUFFER_PTS_IS_VALID(buffer)) {
    GST_WARNING_OBJECT(pad, "dropping a feature buffer without timestamp");
    return TRUE;
  }
  GstSegment segment;
  GST_OBJECT_LOCK(pad);
  gst_segment_copy_into(&pad->segment, &segment);
  GST_OBJECT_UNLOCK(pad);

  const int n = static_cast<int>(size / row_bytes);
  int first = -1;
  for (int i = 0; i < n; ++i) {
    const GstClockTime pts = GST_BUFFER_PTS(buffer) + static_cast<GstClockTime>(i) * f.hop_ns;
    const GstClockTime rt = gst_segment_to_running_time(&segment, GST_FORMAT_TIME, pts);
    if (!GST_CLOCK_TIME_IS_VALID(rt)) {
      if (first >= 0) break;  // past the segment's stop
      continue;               // before its start
    }
    if (first < 0) {
      first = i;
      rows.pts_ns = static_cast<int64_t>(rt);
    }
    ++rows.n;
  }
  if (rows.n == 0) return TRUE;
  rows.data.resize(static_cast<size_t>(rows.n) * f.dim);
  gst_buffer_extract(buffer, first * row_bytes, rows.data.data(), rows.data.size() * sizeof(float));
  return TRUE;
}

// Feeds the buffer at the head of `pad` to the estimator.
static GstFlowReturn consume(GstAvtsSync* self, GstAggregatorPad* pad, std::vector<avts::SyncReport>& reports) {
  GstBuffer* buffer = gst_aggregator_pad_pop_buffer(pad);
  if (!buffer) return GST_FLOW_OK;
  if (!stream_of(self, pad).have_format) {
    gst_buffer_unref(buffer);
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (nullptr), ("Features on %s without accepted caps.", GST_PAD_NAME(pad)));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_GAP) && gst_buffer_get_size(buffer) == 0) {
    gst_buffer_unref(buffer);  // a GAP event: the timestamps of the next rows tell the gap
    return GST_FLOW_OK;
  }
  avts::FeatureRows rows;
  const gboolean ok = rows_of(self, pad, buffer, rows);
  gst_buffer_unref(buffer);
  if (!ok) return GST_FLOW_ERROR;
  if (rows.n == 0) return GST_FLOW_OK;
  gst_aggregator_selected_samples(GST_AGGREGATOR(self), static_cast<GstClockTime>(rows.pts_ns), GST_CLOCK_TIME_NONE,
                                  static_cast<GstClockTime>(rows.n) * rows.hop_ns, nullptr);
  if (pad == self->audio_pad)
    self->state->estimator->push_audio(rows, reports);
  else
    self->state->estimator->push_video(rows, reports);
  return GST_FLOW_OK;
}

// Consumes the earliest head buffer of the two pads (audio first on equal times), which
// keeps the streams close in time; FALSE when neither pad has one.
static bool consume_earliest(GstAvtsSync* self, std::vector<avts::SyncReport>& reports, GstFlowReturn& ret) {
  const GstClockTime audio = head_running_time(self->audio_pad);
  const GstClockTime video = head_running_time(self->video_pad);
  if (!GST_CLOCK_TIME_IS_VALID(audio) && !GST_CLOCK_TIME_IS_VALID(video)) return false;
  const bool take_audio = GST_CLOCK_TIME_IS_VALID(audio) && (!GST_CLOCK_TIME_IS_VALID(video) || audio <= video);
  ret = consume(self, take_audio ? self->audio_pad : self->video_pad, reports);
  return true;
}

static bool pad_done(GstAggregatorPad* pad) {
  return gst_aggregator_pad_is_eos(pad) && !gst_aggregator_pad_has_buffer(pad);
}

// ---------------------------------------------------------------- GstAggregator

static GstClockTime gst_avts_sync_get_next_time(GstAggregator* agg) {
  GstAvtsSync* self = GST_AVTS_SYNC(agg);
  if (self->state->estimator) {
    if (const auto next = self->state->estimator->next_report_start())
      return static_cast<GstClockTime>(std::max<int64_t>(*next, 0));
  }
  // Before any data: the output position, so that a live monitor starts its deadlines
  // even when one input never comes.
  return gst_aggregator_simple_get_next_time(agg);
}

static GstFlowReturn gst_avts_sync_aggregate(GstAggregator* agg, gboolean timeout) {
  GstAvtsSync* self = GST_AVTS_SYNC(agg);
  SyncState* st = self->state;
  if (st->finished) return GST_FLOW_EOS;

  std::vector<avts::SyncReport> reports;
  GstFlowReturn ret = GST_FLOW_OK;
  try {
    if (timeout) {
      // Live deadline: the data for the next report should be in by now. Take what came
      // and judge without what did not.
      const GstClockTime next = gst_avts_sync_get_next_time(agg);
      while (ret == GST_FLOW_OK && consume_earliest(self, reports, ret)) {
      }
      if (ret == GST_FLOW_OK && GST_CLOCK_TIME_IS_VALID(next))
        st->estimator->advance(static_cast<int64_t>(next + our_latency(st->options)), reports);
    } else {
      consume_earliest(self, reports, ret);
    }
    if (ret == GST_FLOW_OK) {
      if (!st->audio.ended && pad_done(self->audio_pad)) {
        st->audio.ended = true;
        st->estimator->end_audio(reports);
      }
      if (!st->video.ended && pad_done(self->video_pad)) {
        st->video.ended = true;
        st->estimator->end_video(reports);
      }
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("A/V sync estimation failed: %s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  if (ret != GST_FLOW_OK) return ret;
  ret = output_reports(self, reports);
  if (ret != GST_FLOW_OK) return ret;

  if (st->audio.ended && st->video.ended) {
    reports.clear();
    const avts::SyncSummary summary = st->estimator->finish(reports);
    st->finished = true;
    ret = output_reports(self, reports);
    if (ret != GST_FLOW_OK) return ret;
    GST_INFO_OBJECT(self, "summary: offset %.1f ms, confidence %.3f, drift %.2f ms/min, %s", summary.offset_ms,
                    summary.confidence, summary.drift_ms_per_min, avts::sync_status_name(summary.status));
    ret = output(self, summary_structure(self, summary), static_cast<GstClockTime>(summary.start_ns),
                 static_cast<GstClockTime>(summary.duration_ns));
    return ret == GST_FLOW_OK ? GST_FLOW_EOS : ret;
  }
  return GST_FLOW_OK;
}

static gboolean gst_avts_sync_start(GstAggregator* agg) {
  GstAvtsSync* self = GST_AVTS_SYNC(agg);
  SyncState* st = self->state;
  GST_OBJECT_LOCK(self);
  const Settings settings = st->settings;
  GST_OBJECT_UNLOCK(self);
  try {
    st->options = options_from(settings);
    reset_streams(self);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), (nullptr));
    return FALSE;
  }
  st->audio.have_format = st->video.have_format = false;
  gst_aggregator_set_latency(agg, our_latency(st->options), our_latency(st->options));
  return TRUE;
}

static gboolean gst_avts_sync_stop(GstAggregator* agg) {
  SyncState* st = GST_AVTS_SYNC(agg)->state;
  st->estimator.reset();
  st->audio = PadStream();
  st->video = PadStream();
  return TRUE;
}

static GstFlowReturn gst_avts_sync_flush(GstAggregator* agg) {
  reset_streams(GST_AVTS_SYNC(agg));
  return GST_FLOW_OK;
}

// ---------------------------------------------------------------- GObject

static void gst_avts_sync_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstAvtsSync* self = GST_AVTS_SYNC(object);
  Settings& s = self->state->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_INTERVAL:
      s.interval_ms = g_value_get_uint(value);
      break;
    case PROP_MAX_OFFSET:
      s.max_offset_ms = g_value_get_uint(value);
      break;
    case PROP_CONTEXT:
      s.context_ms = g_value_get_uint(value);
      break;
    case PROP_STANDARD:
      s.standard = static_cast<avts::SyncStandard>(g_value_get_enum(value));
      break;
    case PROP_TOLERANCE_EARLY:
      s.tolerance_early_ms = g_value_get_uint(value);
      break;
    case PROP_TOLERANCE_LATE:
      s.tolerance_late_ms = g_value_get_uint(value);
      break;
    case PROP_MIN_CONFIDENCE:
      s.min_confidence = g_value_get_double(value);
      s.min_confidence_set = true;
      break;
    case PROP_HOLD:
      s.hold = g_value_get_uint(value);
      break;
    case PROP_HYSTERESIS:
      s.hysteresis_ms = g_value_get_uint(value);
      break;
    case PROP_POST_MESSAGES:
      s.post_messages = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_sync_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstAvtsSync* self = GST_AVTS_SYNC(object);
  const Settings& s = self->state->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_INTERVAL:
      g_value_set_uint(value, s.interval_ms);
      break;
    case PROP_MAX_OFFSET:
      g_value_set_uint(value, s.max_offset_ms);
      break;
    case PROP_CONTEXT:
      g_value_set_uint(value, s.context_ms);
      break;
    case PROP_STANDARD:
      g_value_set_enum(value, static_cast<gint>(s.standard));
      break;
    case PROP_TOLERANCE_EARLY:
      g_value_set_uint(value, s.tolerance_early_ms);
      break;
    case PROP_TOLERANCE_LATE:
      g_value_set_uint(value, s.tolerance_late_ms);
      break;
    case PROP_MIN_CONFIDENCE:
      g_value_set_double(value, s.min_confidence);
      break;
    case PROP_HOLD:
      g_value_set_uint(value, s.hold);
      break;
    case PROP_HYSTERESIS:
      g_value_set_uint(value, s.hysteresis_ms);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean(value, s.post_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_sync_finalize(GObject* object) {
  GstAvtsSync* self = GST_AVTS_SYNC(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_avts_sync_parent_class)->finalize(object);
}

static void gst_avts_sync_class_init(GstAvtsSyncClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstAggregatorClass* aggregator_class = GST_AGGREGATOR_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_avts_sync_debug, "avtssync", 0, "AVTS A/V sync monitor");

  gobject_class->set_property = gst_avts_sync_set_property;
  gobject_class->get_property = gst_avts_sync_get_property;
  gobject_class->finalize = gst_avts_sync_finalize;

  aggregator_class->aggregate = GST_DEBUG_FUNCPTR(gst_avts_sync_aggregate);
  aggregator_class->get_next_time = GST_DEBUG_FUNCPTR(gst_avts_sync_get_next_time);
  aggregator_class->sink_event = GST_DEBUG_FUNCPTR(gst_avts_sync_sink_event);
  aggregator_class->start = GST_DEBUG_FUNCPTR(gst_avts_sync_start);
  aggregator_class->stop = GST_DEBUG_FUNCPTR(gst_avts_sync_stop);
  aggregator_class->flush = GST_DEBUG_FUNCPTR(gst_avts_sync_flush);

  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint("interval", "Report interval (ms)",
                        "Time in milliseconds between reports. Reports cover [T - interval, T) for T on multiples "
                        "of the interval in running time; each one is a message, a JSON line and a status update.",
                        10, 3600000, DEFAULT_INTERVAL_MS, ready));
  g_object_class_install_property(
      gobject_class, PROP_MAX_OFFSET,
      g_param_spec_uint("max-offset", "Maximum offset (ms)",
                        "Largest audio/video offset in milliseconds that is scored, each way (at least two audio "
                        "hops). A minimum of the distance curve at either end of this range is reported with "
                        "out-of-range=true and offset-ms at the edge: the true offset may be larger.",
                        10, 2000, DEFAULT_MAX_OFFSET_MS, ready));
  g_object_class_install_property(
      gobject_class, PROP_CONTEXT,
      g_param_spec_uint("context", "Context (ms)",
                        "Span in milliseconds of video windows whose distance curves are averaged into one report "
                        "(the windows starting in [T - context, T)). Longer is steadier, shorter follows changes "
                        "faster.",
                        10, 3600000, DEFAULT_CONTEXT_MS, ready));
  g_object_class_install_property(
      gobject_class, PROP_STANDARD,
      g_param_spec_enum("standard", "Standard",
                        "Tolerance the status is judged against (audio early / audio late): ebu-r37 (+40/-60 ms), "
                        "itu-bt1359 (+45/-125 ms, detectability), itu-bt1359-accept (+90/-185 ms, acceptability), "
                        "atsc-is191 (+15/-45 ms) or custom (tolerance-early / tolerance-late).",
                        GST_TYPE_AVTS_SYNC_STANDARD, static_cast<gint>(DEFAULT_STANDARD), ready));
  g_object_class_install_property(
      gobject_class, PROP_TOLERANCE_EARLY,
      g_param_spec_uint("tolerance-early", "Tolerance early (ms)",
                        "With standard=custom: how many milliseconds the audio may lead the video (positive "
                        "offsets) and still be ok.",
                        0, 2000, DEFAULT_TOLERANCE_EARLY_MS, ready));
  g_object_class_install_property(
      gobject_class, PROP_TOLERANCE_LATE,
      g_param_spec_uint("tolerance-late", "Tolerance late (ms)",
                        "With standard=custom: how many milliseconds the audio may lag the video (negative "
                        "offsets) and still be ok.",
                        0, 2000, DEFAULT_TOLERANCE_LATE_MS, ready));
  g_object_class_install_property(
      gobject_class, PROP_MIN_CONFIDENCE,
      g_param_spec_double("min-confidence", "Minimum confidence",
                          "Reports whose confidence (median minus minimum of the averaged distance curve, "
                          "SyncNet's measure) is below this are 'inconclusive' and do not change the status. "
                          "The probability field is 0.5 at this confidence. Unless set, a model calibrated on "
                          "held-out speakers brings its own (min-confidence in the feature caps; avts eval "
                          "--save-calibrated), and this property then reads that value.",
                          0.0, 2.0, DEFAULT_MIN_CONFIDENCE, ready));
  g_object_class_install_property(
      gobject_class, PROP_HOLD,
      g_param_spec_uint("hold", "Hold (reports)",
                        "Consecutive confident reports outside the tolerance before the status goes from warn to "
                        "fail, and inside the tolerance (less the hysteresis) before it returns to ok.",
                        1, 1000, DEFAULT_HOLD, ready));
  g_object_class_install_property(
      gobject_class, PROP_HYSTERESIS,
      g_param_spec_uint("hysteresis", "Hysteresis (ms)",
                        "Margin in milliseconds inside the tolerance that a report must clear to count towards "
                        "returning from warn or fail to ok, so that an offset on a bound does not flap.",
                        0, 1000, DEFAULT_HYSTERESIS_MS, ready));
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean(
          "post-messages", "Post messages",
          "Post an 'avts-sync' element message per report and an 'avts-sync-summary' message at "
          "EOS. The JSON buffers on the src pad are produced either way.",
          DEFAULT_POST_MESSAGES,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  gst_element_class_add_static_pad_template_with_gtype(element_class, &audio_sink_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &video_sink_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_set_static_metadata(
      element_class, "AVTS A/V sync monitor", "Filter/Analyzer/Audio/Video",
      "Measures the lip-sync offset (POSITIVE = AUDIO EARLY) from the audio and video features of one "
      "AVTS model",
      "avts project");
  gst_element_class_add_static_metadata(
      element_class, "example",
      "gst-launch-1.0 -m uridecodebin uri=file:///clip.mp4 name=d d. ! audioconvert ! audioresample ! "
      "avtsaudiofeat model-file=model.avts ! sync.audio_sink d. ! videoconvert ! video/x-raw,format=RGB "
      "! avtsvideofeat model-file=model.avts ! sync.video_sink avtssync name=sync ! filesink "
      "location=sync.jsonl");

  gst_type_mark_as_plugin_api(GST_TYPE_AVTS_SYNC_STANDARD, static_cast<GstPluginAPIFlags>(0));
}

static void gst_avts_sync_init(GstAvtsSync* self) {
  self->state = new SyncState();
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(self);
  const auto add_pad = [&](const char* name) {
    GstPadTemplate* templ = gst_element_class_get_pad_template(klass, name);
    GstAggregatorPad* pad = GST_AGGREGATOR_PAD(
        g_object_new(GST_TYPE_AGGREGATOR_PAD, "name", name, "direction", GST_PAD_SINK, "template", templ, nullptr));
    gst_element_add_pad(GST_ELEMENT(self), GST_PAD(pad));
    return pad;
  };
  self->audio_pad = add_pad("audio_sink");
  self->video_pad = add_pad("video_sink");
}
