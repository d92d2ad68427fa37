#include "eval_replay.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <mutex>

#include "avts/error.h"
#include "media_pipeline.h"

namespace avts {

using nlohmann::json;

struct SummarySlot {
  std::mutex lock;
  json value;
};

namespace {

GstFlowReturn on_report(GstAppSink* sink, gpointer user_data) {
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    json j = json::parse(reinterpret_cast<const char*>(map.data), reinterpret_cast<const char*>(map.data) + map.size,
                         nullptr, false);
    gst_buffer_unmap(buf, &map);
    if (!j.is_discarded() && j.value("summary", false)) {
      auto* slot = static_cast<SummarySlot*>(user_data);
      std::lock_guard<std::mutex> guard(slot->lock);
      slot->value = std::move(j);
    }
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

GstElement* app_src(const char* name) {
  GstElement* src = make_element("appsrc", name);
  // Samples keep the decoder's caps and segment, so running times are those of `avts sync`.
  g_object_set(src, "format", GST_FORMAT_TIME, "handle-segment-change", TRUE, "max-bytes", G_GUINT64_CONSTANT(0),
               nullptr);
  return src;
}

void push_all(GstElement* src, const std::vector<SamplePtr>& samples) {
  for (const SamplePtr& s : samples) gst_app_src_push_sample(GST_APP_SRC(src), s.get());
  gst_app_src_end_of_stream(GST_APP_SRC(src));
}

std::string error_text(GstMessage* msg) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  std::string text = err->message;
  if (debug && *debug) text += " (" + std::string(debug) + ")";
  g_clear_error(&err);
  g_free(debug);
  return text;
}

}  // namespace

ShiftedSync::ShiftedSync(const ReplaySettings& settings) : summary_(std::make_unique<SummarySlot>()) {
  pipeline_ = gst_pipeline_new("avts-eval-sync");
  audio_src_ = app_src("audio");
  video_src_ = app_src("video-features");
  afeat_ = make_element("avtsaudiofeat", "audio-features");
  g_object_set(afeat_, "model-file", settings.features.model_path.c_str(), nullptr);
  if (!settings.features.device.empty()) g_object_set(afeat_, "device", settings.features.device.c_str(), nullptr);
  if (!settings.features.precision.empty()) set_precision(afeat_, settings.features.precision);
  set_file_batch_size(afeat_);  // as avts sync
  sync_ = make_element("avtssync", "sync");
  if (settings.max_offset_ms > 0)
    g_object_set(sync_, "max-offset", static_cast<guint>(settings.max_offset_ms), nullptr);
  if (settings.min_confidence >= 0) g_object_set(sync_, "min-confidence", settings.min_confidence, nullptr);
  GstElement* sink = make_app_sink(on_report, summary_.get(), "reports");
  gst_bin_add_many(GST_BIN(pipeline_), audio_src_, afeat_, video_src_, sync_, sink, nullptr);
  if (!gst_element_link(audio_src_, afeat_) || !gst_element_link_pads(afeat_, "src", sync_, "audio_sink") ||
      !gst_element_link_pads(video_src_, "src", sync_, "video_sink") || !gst_element_link(sync_, sink))
    throw Error("cannot link the sync pipeline of avts eval");
}

ShiftedSync::~ShiftedSync() {
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  gst_object_unref(pipeline_);
}

int ShiftedSync::max_offset_ms() const {
  guint ms = 0;
  g_object_get(sync_, "max-offset", &ms, nullptr);
  return static_cast<int>(ms);
}

double ShiftedSync::min_confidence() const {
  gdouble c = 0;
  g_object_get(sync_, "min-confidence", &c, nullptr);
  return c;
}

json ShiftedSync::measure(const DecodedClip& clip, int shift_ms) {
  {
    std::lock_guard<std::mutex> guard(summary_->lock);
    summary_->value = json();
  }
  // As `avts sync --shift-audio`: audio earlier by d = its running time minus d.
  GstPad* pad = gst_element_get_static_pad(afeat_, "sink");
  gst_pad_set_offset(pad, -static_cast<gint64>(shift_ms) * GST_MSECOND);
  gst_object_unref(pad);

  std::unique_ptr<GstBus, decltype(&gst_object_unref)> bus(gst_element_get_bus(pipeline_), gst_object_unref);
  gst_bus_set_flushing(bus.get(), TRUE);  // nothing left from the run before
  gst_bus_set_flushing(bus.get(), FALSE);
  const auto stop = [&] { gst_element_set_state(pipeline_, GST_STATE_READY); };
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The error message on the bus says why.
  }
  push_all(audio_src_, clip.audio);
  push_all(video_src_, clip.video_features);

  GstMessage* msg = gst_bus_timed_pop_filtered(bus.get(), GST_CLOCK_TIME_NONE,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  std::unique_ptr<GstMessage, decltype(&gst_message_unref)> guard(msg, gst_message_unref);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    const std::string text = error_text(msg);
    stop();
    throw Error(clip.uri + ": " + text);
  }
  stop();
  std::lock_guard<std::mutex> lock(summary_->lock);
  if (summary_->value.is_null()) throw Error(clip.uri + ": no sync summary was produced");
  return summary_->value;
}

}  // namespace avts
