// The decoder is a private pipeline, run to EOS as fast as it goes:
//
//   uridecodebin -> audioconvert -> audioresample -> F32LE mono @ rate -> appsink
//                -> videoscale -> videoconvert -> RGB (short side scaled) [-> avtsfacetrack] -> appsink
//
// Scaling comes first so that the conversion to RGB works on the small picture: a third less
// CPU for the whole decoder on 360x288 clips scaled to 72 px, which a trainer sharing the
// cores gets back.
//
// Further streams (a second audio track, subtitles) drain into fakesinks.
#include "avtsdatasrc_file.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "avts/error.h"
#include "mpeg_ps_timeline.h"

using avts::Error;

GstAvtsDecodedFile::~GstAvtsDecodedFile() {
  for (GstSample* s : audio) gst_sample_unref(s);
  for (GstSample* s : video) gst_sample_unref(s);
}

namespace {

constexpr const char* kMissingTrack = "avts-missing-track";

GstElement* make(const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (!e) throw Error(std::string("GStreamer element '") + factory + "' is not available: is its plugin installed?");
  return e;
}

std::string to_uri(const std::string& input) {
  if (gst_uri_is_valid(input.c_str())) return input;
  if (!g_file_test(input.c_str(), G_FILE_TEST_EXISTS)) throw Error("no such file");
  if (g_file_test(input.c_str(), G_FILE_TEST_IS_DIR)) throw Error("is a directory");
  gchar* uri = gst_filename_to_uri(input.c_str(), nullptr);
  if (!uri) throw Error("not a valid file name");
  std::string out(uri);
  g_free(uri);
  return out;
}

struct Branch {
  explicit Branch(const char* m) : media(m) {}
  const char* media;             // "audio" / "video"
  GstElement* head = nullptr;    // links to the decoder's pad
  GstElement* filter = nullptr;  // the capsfilter that fixes the output format
  bool linked = false;
  std::string refused;  // caps of a stream of this media that could not be decoded
};

struct Decoder {
  explicit Decoder(GstAvtsDecodedFile& c, int s) : clip(c), short_side(s) {}
  ~Decoder() {
    if (!pipeline) return;
    gst_element_set_state(pipeline, GST_STATE_NULL);  // joins the streaming threads
    gst_object_unref(pipeline);
  }

  GstAvtsDecodedFile& clip;
  int short_side;
  GstElement* pipeline = nullptr;
  Branch audio{"audio"}, video{"video"};
  std::mutex lock;  // the two appsinks' threads
};

// The stored copy has memory of its own: a decoder or converter whose buffer pool is bounded
// must get its buffers back, however long the cache keeps the file.
GstFlowReturn on_sample(GstAppSink* sink, gpointer user_data) {
  auto* d = static_cast<Decoder*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* in = gst_sample_get_buffer(sample);
  const GstSegment* segment = gst_sample_get_segment(sample);
  const GstClockTime rt = GST_BUFFER_PTS_IS_VALID(in) && segment
                              ? gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(in))
                              : GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(rt)) {  // untimed or outside the segment: not usable
    GstBuffer* out = gst_buffer_copy_deep(in);
    GST_BUFFER_PTS(out) = rt;
    GST_BUFFER_DTS(out) = GST_CLOCK_TIME_NONE;
    GstSample* kept = gst_sample_new(out, gst_sample_get_caps(sample), nullptr, nullptr);
    gst_buffer_unref(out);
    const bool is_audio = GST_ELEMENT_NAME(sink)[0] == 'a';
    const GstClockTime end = rt + (GST_BUFFER_DURATION_IS_VALID(in) ? GST_BUFFER_DURATION(in) : 0);
    std::lock_guard<std::mutex> guard(d->lock);
    (is_audio ? d->clip.audio : d->clip.video).push_back(kept);
    d->clip.bytes += gst_buffer_get_size(in);
    d->clip.duration = std::max(d->clip.duration, end);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

// Video: scale the short side down to `short_side`, keeping the display aspect ratio.
void fix_video_size(Decoder* d, GstCaps* caps) {
  GstVideoInfo info;
  if (d->short_side <= 0 || !gst_video_info_from_caps(&info, caps)) return;
  const double dar = static_cast<double>(info.width) * info.par_n / (static_cast<double>(info.height) * info.par_d);
  const int short_in =
      std::min(static_cast<int>(std::lround(info.width * static_cast<double>(info.par_n) / info.par_d)), info.height);
  if (short_in <= d->short_side) return;  // never scaled up
  const bool landscape = dar >= 1.0;
  const int width = landscape ? static_cast<int>(std::lround(d->short_side * dar)) : d->short_side;
  const int height = landscape ? d->short_side : static_cast<int>(std::lround(d->short_side / dar));
  GstCaps* fixed =
      gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, width, "height",
                          G_TYPE_INT, height, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr);
  g_object_set(d->video.filter, "caps", fixed, nullptr);
  gst_caps_unref(fixed);
}

void on_pad_added(GstElement*, GstPad* pad, Decoder* d) {
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const std::string name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  for (Branch* b : {&d->audio, &d->video}) {
    if (b->linked || name.rfind(std::string(b->media) + "/", 0) != 0) continue;
    if (b == &d->video) fix_video_size(d, caps);
    GstPad* sink = gst_element_get_static_pad(b->head, "sink");
    b->linked = gst_pad_link(pad, sink) == GST_PAD_LINK_OK;
    gst_object_unref(sink);
    if (b->linked) {
      gst_caps_unref(caps);
      return;
    }
    gchar* text = gst_caps_to_string(caps);
    b->refused = text;
    g_free(text);
  }
  gst_caps_unref(caps);
  // A stream nobody asked for (or a second one of a kind): drain it so it never blocks.
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(d->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

void on_no_more_pads(GstElement*, Decoder* d) {
  for (const Branch* b : {&d->audio, &d->video}) {
    if (b->linked) continue;
    const std::string why = b->refused.empty() ? std::string("has no ") + b->media + " track"
                                               : std::string("cannot decode its ") + b->media + " (" + b->refused + ")";
    GstStructure* s = gst_structure_new(kMissingTrack, "why", G_TYPE_STRING, why.c_str(), nullptr);
    gst_element_post_message(d->pipeline, gst_message_new_application(GST_OBJECT(d->pipeline), s));
    return;
  }
}

// Adds `elements` to the pipeline, links them in order; returns the first.
GstElement* add_chain(GstElement* pipeline, const std::vector<GstElement*>& elements) {
  for (GstElement* e : elements) gst_bin_add(GST_BIN(pipeline), e);
  for (size_t i = 0; i + 1 < elements.size(); ++i)
    if (!gst_element_link(elements[i], elements[i + 1]))
      throw Error(std::string("cannot link ") + GST_ELEMENT_NAME(elements[i]) + " to " +
                  GST_ELEMENT_NAME(elements[i + 1]));
  return elements.front();
}

GstElement* app_sink(const char* name, Decoder* d) {
  GstElement* sink = gst_element_factory_make("appsink", name);
  if (!sink) throw Error("GStreamer element 'appsink' is not available: is gst-plugins-base installed?");
  g_object_set(sink, "sync", FALSE, nullptr);
  GstAppSinkCallbacks callbacks = {};
  callbacks.new_sample = on_sample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, d, nullptr);
  return sink;
}

GstElement* caps_filter(const std::string& caps) {
  GstElement* filter = make("capsfilter");
  GstCaps* parsed = gst_caps_from_string(caps.c_str());
  g_object_set(filter, "caps", parsed, nullptr);
  gst_caps_unref(parsed);
  return filter;
}

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

std::shared_ptr<const GstAvtsDecodedFile> gst_avts_decode_file(const std::string& input, int rate, int short_side,
                                                               bool face_track, const std::atomic<bool>& cancel) {
  auto clip = std::make_shared<GstAvtsDecodedFile>();
  clip->uri = to_uri(input);
  Decoder d(*clip, short_side);
  d.pipeline = gst_pipeline_new("avtsdatasrc-decoder");
  GstElement* decoder = make("uridecodebin");
  g_object_set(decoder, "uri", clip->uri.c_str(), nullptr);
  avts_ignore_mpeg_ps_scr(decoder);
  gst_bin_add(GST_BIN(d.pipeline), decoder);
  g_signal_connect(decoder, "pad-added", G_CALLBACK(on_pad_added), &d);
  g_signal_connect(decoder, "no-more-pads", G_CALLBACK(on_no_more_pads), &d);

  d.audio.filter = caps_filter("audio/x-raw,format=F32LE,layout=interleaved,channels=1,rate=" + std::to_string(rate));
  d.audio.head =
      add_chain(d.pipeline, {make("audioconvert"), make("audioresample"), d.audio.filter, app_sink("audio", &d)});
  d.video.filter = caps_filter("video/x-raw,format=RGB");
  std::vector<GstElement*> video{make("videoscale"), make("videoconvert"), d.video.filter};
  if (face_track) video.push_back(make("avtsfacetrack"));
  video.push_back(app_sink("video", &d));
  d.video.head = add_chain(d.pipeline, video);

  gst_element_set_state(d.pipeline, GST_STATE_PLAYING);  // a failure posts the error that says why
  GstBus* bus = gst_element_get_bus(d.pipeline);
  std::string failure;
  for (bool done = false; !done && failure.empty();) {
    if (cancel) failure = "cancelled";
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus, 50 * GST_MSECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_APPLICATION));
    if (!m) continue;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) done = true;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) failure = error_text(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_APPLICATION &&
        gst_structure_has_name(gst_message_get_structure(m), kMissingTrack))
      failure = gst_structure_get_string(gst_message_get_structure(m), "why");
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  if (!failure.empty()) throw Error(failure);
  gst_element_set_state(d.pipeline, GST_STATE_NULL);
  if (clip->audio.empty()) throw Error("no audio could be decoded");
  if (clip->video.empty()) throw Error("no video could be decoded");
  return clip;
}
