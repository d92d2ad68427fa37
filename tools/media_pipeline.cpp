#include "media_pipeline.h"

#include <algorithm>

#include "avts/error.h"
#include "avts/model.h"

namespace avts {

namespace {

std::string uri_of(const std::string& input) {
  try {
    return media_uri(input);
  } catch (const Error& e) {
    throw Error("'" + input + "': " + e.what());
  }
}

}  // namespace

void set_file_batch_size(GstElement* feature_element, int audio_batch) {
  GstElementFactory* factory = gst_element_get_factory(feature_element);
  const bool video = factory && g_strcmp0(gst_plugin_feature_get_name(factory), "avtsvideofeat") == 0;
  const int batch = video ? std::max(1, audio_batch / 4) : audio_batch;
  g_object_set(feature_element, "batch-size", static_cast<guint>(batch), nullptr);
}

void set_precision(GstElement* network_element, const std::string& name) {
  g_object_set(network_element, "precision", static_cast<gint>(parse_precision(name)), nullptr);
}

MediaPipeline::MediaPipeline(const std::string& input)
    : uri_(uri_of(input)), graph_(std::make_unique<DecodeGraph>(uri_, "avts")) {}

void MediaPipeline::run(const std::function<void(double)>& on_progress) {
  GstElement* pipeline = graph_->pipeline();
  try {
    graph_->run(200 * GST_MSECOND, [&] {
      gint64 pos = 0, dur = 0;
      if (on_progress && gst_element_query_position(pipeline, GST_FORMAT_TIME, &pos) &&
          gst_element_query_duration(pipeline, GST_FORMAT_TIME, &dur) && dur > 0)
        on_progress(std::min(1.0, static_cast<double>(pos) / static_cast<double>(dur)));
      return true;
    });
  } catch (const Error& e) {
    throw Error(uri_ + ": " + e.what());
  }
  if (on_progress) on_progress(1.0);
}

}  // namespace avts
