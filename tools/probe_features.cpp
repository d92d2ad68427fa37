#include "probe_features.h"

#include <gst/app/gstappsink.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>

#include "avts/error.h"
#include "media_pipeline.h"

namespace avts {

namespace {

// Running sum and maximum of the rows one feature element hands over.
struct Pool {
  std::mutex lock;
  int dim = 0;
  size_t rows = 0;
  std::vector<double> sum;
  std::vector<float> max;

  void add(const float* x, size_t n, int width) {
    std::lock_guard<std::mutex> guard(lock);
    if (sum.empty()) {
      dim = width;
      sum.assign(width, 0.0);
      max.assign(width, -std::numeric_limits<float>::infinity());
    }
    for (size_t i = 0; i < n; ++i, x += width)
      for (int j = 0; j < width; ++j) {
        sum[j] += x[j];
        max[j] = std::max(max[j], x[j]);
      }
    rows += n;
  }

  void append_to(std::vector<float>& out, Pooling pooling) {
    std::lock_guard<std::mutex> guard(lock);
    for (double s : sum) out.push_back(static_cast<float>(s / static_cast<double>(rows)));
    if (pooling == Pooling::MeanMax) out.insert(out.end(), max.begin(), max.end());
  }
};

GstFlowReturn on_new_sample(GstAppSink* sink, gpointer user_data) {
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  gint dim = 0;
  gst_structure_get_int(gst_caps_get_structure(gst_sample_get_caps(sample), 0), "dim", &dim);
  GstMapInfo map;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  if (dim > 0 && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    const size_t n = map.size / sizeof(float) / static_cast<size_t>(dim);
    static_cast<Pool*>(user_data)->add(reinterpret_cast<const float*>(map.data), n, dim);
    gst_buffer_unmap(buf, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

// convert ! tee, and from the tee one queue ! feature element ! appsink per layer.
void add_modality(MediaPipeline& pipeline, const std::string& media, const ClipFeatureOptions& options,
                  std::vector<std::unique_ptr<Pool>>& pools) {
  GstElement* tee = make_element("tee");
  if (media == "audio")
    pipeline.add_branch(media, {make_element("audioconvert"), tee});
  else
    pipeline.add_branch(media, {make_element("videoconvert"), make_caps_filter("video/x-raw,format=RGB"), tee});
  for (const std::string& layer : options.layers) {
    pools.push_back(std::make_unique<Pool>());
    GstElement* feat = make_element(media == "audio" ? "avtsaudiofeat" : "avtsvideofeat");
    g_object_set(feat, "model-file", options.model_path.c_str(), "layer", layer.c_str(), "hop",
                 static_cast<guint>(options.hop_ms), nullptr);
    if (!options.device.empty()) g_object_set(feat, "device", options.device.c_str(), nullptr);
    if (options.batch_size > 0) g_object_set(feat, "batch-size", static_cast<guint>(options.batch_size), nullptr);
    // The queue gives each layer its own thread, so that one appsink prerolling does not
    // hold the tee (and the other layers) back.
    GstElement* queue = make_element("queue");
    GstElement* sink = make_app_sink(on_new_sample, pools.back().get());
    gst_bin_add_many(GST_BIN(pipeline.pipeline()), queue, feat, sink, nullptr);
    if (!gst_element_link_many(tee, queue, feat, sink, nullptr))
      throw Error("cannot link the " + media + " feature branch for layer '" + layer + "'");
  }
}

}  // namespace

std::vector<std::vector<float>> clip_features(const std::string& input, const ClipFeatureOptions& options) {
  MediaPipeline pipeline(input);
  std::vector<std::unique_ptr<Pool>> audio, video;  // one per layer
  if (options.audio) add_modality(pipeline, "audio", options, audio);
  if (options.video) add_modality(pipeline, "video", options, video);
  pipeline.run();

  std::vector<std::vector<float>> out(options.layers.size());
  for (size_t l = 0; l < options.layers.size(); ++l)
    for (auto* pools : {&audio, &video}) {
      if (pools->empty()) continue;
      Pool& pool = *(*pools)[l];
      if (pool.rows == 0)
        throw Error(input + ": too short for one " + (pools == &audio ? "audio" : "video") + " feature window");
      pool.append_to(out[l], options.pooling);
    }
  return out;
}

}  // namespace avts
