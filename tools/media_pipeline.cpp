#include "media_pipeline.h"

#include <algorithm>

#include <glib/gstdio.h>

#include <memory>

#include "avts/error.h"
#include "avts/model.h"
#include "mpeg_ps_timeline.h"

namespace avts {

namespace {

constexpr const char* kMissingTrack = "avts-missing-track";

std::string to_uri(const std::string& input) {
  if (gst_uri_is_valid(input.c_str())) return input;
  if (!g_file_test(input.c_str(), G_FILE_TEST_EXISTS)) throw Error("'" + input + "': no such file");
  if (g_file_test(input.c_str(), G_FILE_TEST_IS_DIR)) throw Error("'" + input + "' is a directory");
  GError* err = nullptr;
  gchar* uri = gst_filename_to_uri(input.c_str(), &err);
  if (!uri) {
    std::string msg = err ? err->message : "invalid file name";
    g_clear_error(&err);
    throw Error("'" + input + "': " + msg);
  }
  std::string out(uri);
  g_free(uri);
  return out;
}

}  // namespace

GstElement* make_element(const char* factory, const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (!e)
    throw Error(std::string("GStreamer element '") + factory +
                "' is not available: is its plugin installed (and GST_PLUGIN_PATH set for avts)?");
  return e;
}

void set_file_batch_size(GstElement* feature_element, int audio_batch) {
  GstElementFactory* factory = gst_element_get_factory(feature_element);
  const bool video = factory && g_strcmp0(gst_plugin_feature_get_name(factory), "avtsvideofeat") == 0;
  const int batch = video ? std::max(1, audio_batch / 4) : audio_batch;
  g_object_set(feature_element, "batch-size", static_cast<guint>(batch), nullptr);
}

void set_precision(GstElement* network_element, const std::string& name) {
  g_object_set(network_element, "precision", static_cast<gint>(parse_precision(name)), nullptr);
}

GstElement* make_caps_filter(const std::string& caps) {
  GstElement* filter = make_element("capsfilter");
  GstCaps* parsed = gst_caps_from_string(caps.c_str());
  if (!parsed) throw Error("invalid caps '" + caps + "'");
  g_object_set(filter, "caps", parsed, nullptr);
  gst_caps_unref(parsed);
  return filter;
}

GstElement* make_app_sink(GstFlowReturn (*on_sample)(GstAppSink*, gpointer), gpointer user_data, const char* name) {
  GstElement* sink = make_element("appsink", name);
  g_object_set(sink, "sync", FALSE, nullptr);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, user_data, nullptr);
  return sink;
}

MediaPipeline::MediaPipeline(const std::string& input) : uri_(to_uri(input)) {
  pipeline_ = gst_pipeline_new("avts");
  decoder_ = make_element("uridecodebin", "decoder");
  g_object_set(decoder_, "uri", uri_.c_str(), nullptr);
  avts_ignore_mpeg_ps_scr(decoder_);
  gst_bin_add(GST_BIN(pipeline_), decoder_);
  g_signal_connect(decoder_, "pad-added", G_CALLBACK(on_pad_added), this);
  g_signal_connect(decoder_, "no-more-pads", G_CALLBACK(on_no_more_pads), this);
}

MediaPipeline::~MediaPipeline() {
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  gst_object_unref(pipeline_);
}

void MediaPipeline::add_branch(const std::string& media, const std::vector<GstElement*>& elements) {
  for (GstElement* e : elements) gst_bin_add(GST_BIN(pipeline_), e);
  for (size_t i = 0; i + 1 < elements.size(); ++i)
    if (!gst_element_link(elements[i], elements[i + 1]))
      throw Error(std::string("cannot link ") + GST_ELEMENT_NAME(elements[i]) + " to " +
                  GST_ELEMENT_NAME(elements[i + 1]));
  branches_.push_back({media, elements.front(), false});
}

void MediaPipeline::on_pad_added(GstElement*, GstPad* pad, MediaPipeline* self) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const std::string name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  gst_caps_unref(caps);
  for (Branch& b : self->branches_) {
    if (b.linked || name.rfind(b.media + "/", 0) != 0) continue;
    GstPad* sink = gst_element_get_static_pad(b.head, "sink");
    b.linked = gst_pad_link(pad, sink) == GST_PAD_LINK_OK;
    gst_object_unref(sink);
    if (b.linked) return;
  }
  // A stream nobody asked for (or a second one of a kind): drain it so it never blocks.
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(self->pipeline_), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

void MediaPipeline::on_no_more_pads(GstElement*, MediaPipeline* self) {
  for (const Branch& b : self->branches_) {
    if (b.linked) continue;
    GstStructure* s = gst_structure_new(kMissingTrack, "media", G_TYPE_STRING, b.media.c_str(), nullptr);
    gst_element_post_message(self->pipeline_, gst_message_new_application(GST_OBJECT(self->pipeline_), s));
    return;
  }
}

void MediaPipeline::run(const std::function<void(double)>& on_progress) {
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The error message on the bus says why; fall through to read it.
  }
  std::unique_ptr<GstBus, decltype(&gst_object_unref)> bus(gst_element_get_bus(pipeline_), gst_object_unref);
  for (;;) {
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus.get(), 200 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION));
    if (!msg) {
      gint64 pos = 0, dur = 0;
      if (on_progress && gst_element_query_position(pipeline_, GST_FORMAT_TIME, &pos) &&
          gst_element_query_duration(pipeline_, GST_FORMAT_TIME, &dur) && dur > 0)
        on_progress(std::min(1.0, static_cast<double>(pos) / static_cast<double>(dur)));
      continue;
    }
    std::unique_ptr<GstMessage, decltype(&gst_message_unref)> guard(msg, gst_message_unref);
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_EOS:
        if (on_progress) on_progress(1.0);
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        return;
      case GST_MESSAGE_ERROR: {
        GError* err = nullptr;
        gchar* debug = nullptr;
        gst_message_parse_error(msg, &err, &debug);
        std::string text = std::string(err->message);
        if (debug && *debug) text += " (" + std::string(debug) + ")";
        g_clear_error(&err);
        g_free(debug);
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        throw Error(uri_ + ": " + text);
      }
      case GST_MESSAGE_APPLICATION: {
        const GstStructure* s = gst_message_get_structure(msg);
        if (gst_structure_has_name(s, kMissingTrack)) {
          gst_element_set_state(pipeline_, GST_STATE_NULL);
          throw Error(uri_ + " has no " + gst_structure_get_string(s, "media") + " track");
        }
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace avts
