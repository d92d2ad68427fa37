#include "decode_graph.h"

#include <cstring>
#include <memory>

#include "avts/error.h"
#include "mpeg_ps_timeline.h"

namespace avts {

namespace {

constexpr const char* kMissingTrack = "avts-missing-track";

std::string error_text(GstMessage* message) {
  GError* err = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &err, &debug);
  std::string text = err ? err->message : "unknown error";
  if (debug && *debug) text += " (" + std::string(debug) + ")";
  g_clear_error(&err);
  g_free(debug);
  return text;
}

}  // namespace

std::string media_uri(const std::string& input) {
  if (gst_uri_is_valid(input.c_str())) return input;
  if (!g_file_test(input.c_str(), G_FILE_TEST_EXISTS)) throw Error("no such file");
  if (g_file_test(input.c_str(), G_FILE_TEST_IS_DIR)) throw Error("is a directory");
  GError* err = nullptr;
  gchar* uri = gst_filename_to_uri(input.c_str(), &err);
  if (!uri) {
    const std::string msg = err ? err->message : "not a valid file name";
    g_clear_error(&err);
    throw Error(msg);
  }
  std::string out(uri);
  g_free(uri);
  return out;
}

GstElement* make_element(const char* factory, const char* name) {
  GstElement* e = gst_element_factory_make(factory, name);
  if (!e)
    throw Error(std::string("GStreamer element '") + factory +
                "' is not available: is its plugin installed (and GST_PLUGIN_PATH set for avts)?");
  return e;
}

GstElement* make_caps_filter(const std::string& caps) {
  GstElement* filter = make_element("capsfilter");
  GstCaps* parsed = gst_caps_from_string(caps.c_str());
  if (!parsed) {
    gst_object_unref(filter);
    throw Error("invalid caps '" + caps + "'");
  }
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

DecodeGraph::DecodeGraph(const std::string& uri, const char* name) {
  GstElement* decoder = make_element("uridecodebin", "decoder");
  pipeline_ = gst_pipeline_new(name);
  g_object_set(decoder, "uri", uri.c_str(), nullptr);
  avts_ignore_mpeg_ps_scr(decoder);
  gst_bin_add(GST_BIN(pipeline_), decoder);
  g_signal_connect(decoder, "pad-added", G_CALLBACK(on_pad_added), this);
  g_signal_connect(decoder, "no-more-pads", G_CALLBACK(on_no_more_pads), this);
  g_signal_connect(decoder, "deep-element-added", G_CALLBACK(on_element_added), this);
}

DecodeGraph::~DecodeGraph() {
  gst_element_set_state(pipeline_, GST_STATE_NULL);  // joins the streaming threads
  gst_object_unref(pipeline_);
}

void DecodeGraph::add_branch(const std::string& media, const std::vector<GstElement*>& elements,
                             std::function<void(GstCaps*)> before_link) {
  for (GstElement* e : elements) gst_bin_add(GST_BIN(pipeline_), e);
  for (size_t i = 0; i + 1 < elements.size(); ++i)
    if (!gst_element_link(elements[i], elements[i + 1]))
      throw Error(std::string("cannot link ") + GST_ELEMENT_NAME(elements[i]) + " to " +
                  GST_ELEMENT_NAME(elements[i + 1]));
  Branch branch;
  branch.media = media;
  branch.head = elements.front();
  branch.before_link = std::move(before_link);
  branches_.push_back(std::move(branch));
}

void DecodeGraph::on_pad_added(GstElement*, GstPad* pad, DecodeGraph* self) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const std::string name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  for (Branch& b : self->branches_) {
    if (b.linked || name.rfind(b.media + "/", 0) != 0) continue;
    if (b.before_link) b.before_link(caps);
    GstPad* sink = gst_element_get_static_pad(b.head, "sink");
    b.linked = gst_pad_link(pad, sink) == GST_PAD_LINK_OK;
    gst_object_unref(sink);
    if (b.linked) {
      gst_caps_unref(caps);
      return;
    }
    gchar* text = gst_caps_to_string(caps);
    b.refused = text;
    g_free(text);
  }
  gst_caps_unref(caps);
  // A stream nobody asked for (or a second one of a kind): drain it so it never blocks.
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(self->pipeline_), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

void DecodeGraph::on_element_added(GstBin*, GstBin*, GstElement* element, DecodeGraph* self) {
  if (GST_IS_BIN(element)) return;
  GstElementFactory* factory = gst_element_get_factory(element);
  const char* klass = factory ? gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS) : nullptr;
  if (klass && std::strstr(klass, "Demux"))
    g_signal_connect(element, "no-more-pads", G_CALLBACK(on_demuxer_done), self);
}

// decodebin drops an error that its demuxer posts while decodebin is still bringing it to
// PAUSED (GStreamer 1.22: the error is "filtered" and discarded once the state change
// succeeds), so a file cut inside its header (matroskademux: "No pads created") could leave the
// pipeline waiting for ever, about one run in a hundred. A demuxer that is done with no pad
// says the same thing on a path decodebin does not filter.
void DecodeGraph::on_demuxer_done(GstElement* demuxer, DecodeGraph* self) {
  GST_OBJECT_LOCK(demuxer);
  const bool no_stream = demuxer->numsrcpads == 0;
  GST_OBJECT_UNLOCK(demuxer);
  if (!no_stream) return;
  GstStructure* s = gst_structure_new(kMissingTrack, "why", G_TYPE_STRING,
                                      "no stream could be read from it (is the file cut short or damaged?)", nullptr);
  gst_element_post_message(self->pipeline_, gst_message_new_application(GST_OBJECT(self->pipeline_), s));
}

void DecodeGraph::on_no_more_pads(GstElement*, DecodeGraph* self) {
  for (const Branch& b : self->branches_) {
    if (b.linked) continue;
    const std::string why =
        b.refused.empty() ? "has no " + b.media + " track" : "cannot decode its " + b.media + " (" + b.refused + ")";
    GstStructure* s = gst_structure_new(kMissingTrack, "why", G_TYPE_STRING, why.c_str(), nullptr);
    gst_element_post_message(self->pipeline_, gst_message_new_application(GST_OBJECT(self->pipeline_), s));
    return;
  }
}

void DecodeGraph::run(GstClockTime poll, const std::function<bool()>& tick) {
  // A failure to start posts the error that says why: read on.
  gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  std::unique_ptr<GstBus, decltype(&gst_object_unref)> bus(gst_element_get_bus(pipeline_), gst_object_unref);
  for (;;) {
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus.get(), poll, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION));
    if (!m) {
      if (tick && !tick()) {
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        throw Error("cancelled");
      }
      continue;
    }
    std::unique_ptr<GstMessage, decltype(&gst_message_unref)> message(m, gst_message_unref);
    std::string failure;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      return;
    }
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) failure = error_text(m);
    const GstStructure* s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_APPLICATION && gst_structure_has_name(s, kMissingTrack))
      failure = gst_structure_get_string(s, "why");
    if (!failure.empty()) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      throw Error(failure);
    }
  }
}

}  // namespace avts
