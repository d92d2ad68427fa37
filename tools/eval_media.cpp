#include "eval_media.h"

#include <gst/app/gstappsink.h>

#include <mutex>

#include "avts/error.h"
#include "media_pipeline.h"

namespace avts {

namespace {

// What the appsinks' streaming threads hand over, under one lock.
struct Collector {
  std::mutex lock;
  DecodedClip* clip = nullptr;
  std::string error;  // a feature stream that could not be read
};

// The sample with a copy of its buffer: decoders may allocate from bounded pools, which
// must not wait on buffers this command keeps.
SamplePtr own_copy(GstSample* sample) {
  GstBuffer* copy = gst_buffer_copy_deep(gst_sample_get_buffer(sample));
  SamplePtr out(gst_sample_new(copy, gst_sample_get_caps(sample), gst_sample_get_segment(sample), nullptr));
  gst_buffer_unref(copy);
  return out;
}

// Appends the rows of a feature sample to `track`, each at its running time; rows outside
// the segment are left out, as avtssync leaves them out.
void append_rows(GstSample* sample, EmbeddingTrack& track) {
  const GstStructure* s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
  gint dim = 0;
  guint64 hop = 0;
  if (!gst_structure_get_int(s, "dim", &dim) || !gst_structure_get_uint64(s, "hop", &hop) || dim <= 0)
    throw Error("feature stream without dim or hop in its caps");
  GstBuffer* buf = gst_sample_get_buffer(sample);
  const GstSegment* segment = gst_sample_get_segment(sample);
  if (!GST_BUFFER_PTS_IS_VALID(buf)) throw Error("feature buffer without a timestamp");
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) throw Error("cannot read a feature buffer");
  const auto* rows = reinterpret_cast<const float*>(map.data);
  const size_t n = map.size / sizeof(float) / static_cast<size_t>(dim);
  for (size_t i = 0; i < n; ++i) {
    const guint64 rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf) + i * hop);
    if (rt != GST_CLOCK_TIME_NONE)
      track.append(static_cast<int64_t>(rt), static_cast<int64_t>(hop), 1, dim, rows + i * static_cast<size_t>(dim));
  }
  gst_buffer_unmap(buf, &map);
}

template <typename Take>
GstFlowReturn collect(GstAppSink* sink, gpointer user_data, Take take) {
  auto* c = static_cast<Collector*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  {
    std::lock_guard<std::mutex> guard(c->lock);
    try {
      take(*c->clip, sample);
    } catch (const Error& e) {
      if (c->error.empty()) c->error = e.what();
    }
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

GstFlowReturn on_audio(GstAppSink* sink, gpointer c) {
  return collect(sink, c, [](DecodedClip& clip, GstSample* s) { clip.audio.push_back(own_copy(s)); });
}

GstFlowReturn on_audio_features(GstAppSink* sink, gpointer c) {
  return collect(sink, c, [](DecodedClip& clip, GstSample* s) { append_rows(s, clip.embeddings.audio); });
}

GstFlowReturn on_video_features(GstAppSink* sink, gpointer c) {
  return collect(sink, c, [](DecodedClip& clip, GstSample* s) {
    append_rows(s, clip.embeddings.video);
    clip.video_features.push_back(SamplePtr(gst_sample_ref(s)));
  });
}

// Three sinks in one pipeline: none may wait to preroll while the others starve, as the
// audio tee would make them.
GstElement* sink_for(GstFlowReturn (*on_sample)(GstAppSink*, gpointer), Collector* collector) {
  GstElement* sink = make_app_sink(on_sample, collector);
  g_object_set(sink, "async", FALSE, nullptr);
  return sink;
}

GstElement* feature_element(const char* factory, const FeatureSettings& settings) {
  GstElement* e = make_element(factory);
  g_object_set(e, "model-file", settings.model_path.c_str(), nullptr);
  if (!settings.device.empty()) g_object_set(e, "device", settings.device.c_str(), nullptr);
  if (!settings.precision.empty()) set_precision(e, settings.precision);
  set_file_batch_size(e);  // as avts sync, so that both compute the same numbers
  if (settings.video_hop_ms > 0 && std::string(factory) == "avtsvideofeat")
    g_object_set(e, "hop", static_cast<guint>(settings.video_hop_ms), nullptr);
  return e;
}

}  // namespace

DecodedClip decode_clip(const std::string& input, const FeatureSettings& settings) {
  DecodedClip clip;
  clip.embeddings.id = input;
  Collector collector;
  collector.clip = &clip;

  MediaPipeline pipeline(input);
  GstElement* tee = make_element("tee");
  pipeline.add_branch("audio", {make_element("audioconvert"), tee});
  GstElement* raw_queue = make_element("queue");
  GstElement* raw_sink = sink_for(on_audio, &collector);
  GstElement* feat_queue = make_element("queue");
  GstElement* afeat = feature_element("avtsaudiofeat", settings);
  GstElement* feat_sink = sink_for(on_audio_features, &collector);
  gst_bin_add_many(GST_BIN(pipeline.pipeline()), raw_queue, raw_sink, feat_queue, afeat, feat_sink, nullptr);
  if (!gst_element_link_many(tee, raw_queue, raw_sink, nullptr) ||
      !gst_element_link_many(tee, feat_queue, afeat, feat_sink, nullptr))
    throw Error("cannot link the audio branches of the decode pipeline");
  std::vector<GstElement*> video{make_element("videoconvert"), make_caps_filter("video/x-raw,format=RGB")};
  if (settings.face_track) video.push_back(make_element("avtsfacetrack"));
  video.push_back(feature_element("avtsvideofeat", settings));
  video.push_back(sink_for(on_video_features, &collector));
  pipeline.add_branch("video", video);
  pipeline.run();

  clip.uri = pipeline.uri();
  if (!collector.error.empty()) throw Error(clip.uri + ": " + collector.error);
  if (clip.audio.empty()) throw Error(clip.uri + ": no audio was decoded");
  return clip;
}

}  // namespace avts
