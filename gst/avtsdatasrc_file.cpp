// The decoder is a private pipeline, run to EOS as fast as it goes:
//
//   uridecodebin -> audioconvert -> audioresample -> F32LE mono @ rate -> appsink
//                -> videoscale -> videoconvert -> RGB (short side scaled) [-> avtsfacetrack] -> appsink
//
// Scaling comes first so that the conversion to RGB works on the small picture: a third less
// CPU for the whole decoder on 360x288 clips scaled to 72 px, which a trainer sharing the
// cores gets back.
//
// The decode graph (decode_graph.h) routes the streams: further ones (a second audio track,
// subtitles) drain into fakesinks.
#include "avtsdatasrc_file.h"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "avts/error.h"
#include "decode_graph.h"

using avts::Error;

GstAvtsDecodedFile::~GstAvtsDecodedFile() {
  for (GstSample* s : audio) gst_sample_unref(s);
  for (GstSample* s : video) gst_sample_unref(s);
}

namespace {

// What the appsinks' callbacks write into.
struct Collector {
  GstAvtsDecodedFile& clip;
  std::mutex lock;  // the two appsinks' threads
};

// The stored copy has memory of its own: a decoder or converter whose buffer pool is bounded
// must get its buffers back, however long the cache keeps the file.
GstFlowReturn on_sample(GstAppSink* sink, gpointer user_data) {
  auto* c = static_cast<Collector*>(user_data);
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
    std::lock_guard<std::mutex> guard(c->lock);
    (is_audio ? c->clip.audio : c->clip.video).push_back(kept);
    c->clip.bytes += gst_buffer_get_size(in);
    c->clip.duration = std::max(c->clip.duration, end);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

// Video: the short side scaled down to `short_side` (never up), keeping the display aspect
// ratio, in `filter`'s caps.
void fix_video_size(GstElement* filter, int short_side, GstCaps* caps) {
  GstVideoInfo info;
  if (short_side <= 0 || !gst_video_info_from_caps(&info, caps)) return;
  const double dar = static_cast<double>(info.width) * info.par_n / (static_cast<double>(info.height) * info.par_d);
  const int short_in =
      std::min(static_cast<int>(std::lround(info.width * static_cast<double>(info.par_n) / info.par_d)), info.height);
  if (short_in <= short_side) return;
  const bool landscape = dar >= 1.0;
  const int width = landscape ? static_cast<int>(std::lround(short_side * dar)) : short_side;
  const int height = landscape ? short_side : static_cast<int>(std::lround(short_side / dar));
  GstCaps* fixed =
      gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "RGB", "width", G_TYPE_INT, width, "height",
                          G_TYPE_INT, height, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr);
  g_object_set(filter, "caps", fixed, nullptr);
  gst_caps_unref(fixed);
}

}  // namespace

std::shared_ptr<const GstAvtsDecodedFile> gst_avts_decode_file(const std::string& input, int rate, int short_side,
                                                               bool face_track, const std::atomic<bool>& cancel) {
  using avts::make_element;
  auto clip = std::make_shared<GstAvtsDecodedFile>();
  clip->uri = avts::media_uri(input);
  Collector collector{*clip, {}};
  {
    avts::DecodeGraph graph(clip->uri, "avtsdatasrc-decoder");
    graph.add_branch("audio", {make_element("audioconvert"), make_element("audioresample"),
                               avts::make_caps_filter("audio/x-raw,format=F32LE,layout=interleaved,channels=1,rate=" +
                                                      std::to_string(rate)),
                               avts::make_app_sink(on_sample, &collector, "audio")});
    GstElement* video_filter = avts::make_caps_filter("video/x-raw,format=RGB");
    std::vector<GstElement*> video{make_element("videoscale"), make_element("videoconvert"), video_filter};
    if (face_track) video.push_back(make_element("avtsfacetrack"));
    video.push_back(avts::make_app_sink(on_sample, &collector, "video"));
    graph.add_branch("video", video,
                     [video_filter, short_side](GstCaps* caps) { fix_video_size(video_filter, short_side, caps); });
    graph.run(50 * GST_MSECOND, [&cancel] { return !cancel; });
  }  // the graph stops before the collector goes
  if (clip->audio.empty()) throw Error("no audio could be decoded");
  if (clip->video.empty()) throw Error("no video could be decoded");
  return clip;
}
