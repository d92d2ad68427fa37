// avts features FILE -o out.npy: runs uridecodebin ! avts{audio,video}feat ! appsink and
// writes the rows as a NumPy array (rows x dim float32).
#include <gst/app/gstappsink.h>

#include <cstdio>
#include <mutex>
#include <vector>

#include "avts/error.h"
#include "commands.h"
#include "media_pipeline.h"
#include "npy.h"
#include "options.h"

namespace avts {

namespace {

// Everything the appsink has handed over so far.
struct Rows {
  std::mutex lock;
  std::vector<float> data;
  std::vector<double> times;  // start of each row's window, seconds
  int dim = 0;
};

GstFlowReturn on_new_sample(GstAppSink* sink, gpointer user_data) {
  auto* rows = static_cast<Rows*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  const GstStructure* s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
  gint dim = 0;
  guint64 hop = 0;
  gst_structure_get_int(s, "dim", &dim);
  gst_structure_get_uint64(s, "hop", &hop);
  GstBuffer* buf = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (dim > 0 && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    const auto* f = reinterpret_cast<const float*>(map.data);
    const size_t n = map.size / sizeof(float) / static_cast<size_t>(dim);
    std::lock_guard<std::mutex> guard(rows->lock);
    rows->dim = dim;
    rows->data.insert(rows->data.end(), f, f + n * static_cast<size_t>(dim));
    for (size_t i = 0; i < n; ++i)
      rows->times.push_back(static_cast<double>(GST_BUFFER_PTS(buf) + i * hop) / GST_SECOND);
    gst_buffer_unmap(buf, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

}  // namespace

int cmd_features(int argc, char** argv) {
  gchar* output = nullptr;
  gchar* times = nullptr;
  gchar* model = nullptr;
  gchar* modality = nullptr;
  gchar* layer = nullptr;
  gchar* device = nullptr;
  gchar* precision = nullptr;
  gint hop_ms = 0;
  gint batch = 0;
  const GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output .npy file (required)", "OUT.npy"},
      {"modality", 0, 0, G_OPTION_ARG_STRING, &modality, "audio (default) or video", "M"},
      {"layer", 0, 0, G_OPTION_ARG_STRING, &layer, "embedding (default), layer1 .. layer4", "L"},
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (default: the shipped model)", "MODEL"},
      {"hop", 0, 0, G_OPTION_ARG_INT, &hop_ms, "Window hop in ms (default: the element's)", "MS"},
      {"batch-size", 0, 0, G_OPTION_ARG_INT, &batch, "Windows per forward pass", "N"},
      {"device", 0, 0, G_OPTION_ARG_STRING, &device, "cpu (default), cuda or cuda:N", "DEV"},
      {"precision", 0, 0, G_OPTION_ARG_STRING, &precision,
       "float32 (default), bfloat16 autocast (also on the CPU), or float16 autocast (CUDA only)", "P"},
      {"times", 0, 0, G_OPTION_ARG_FILENAME, &times,
       "Also write each row's window start (seconds, float64) to this .npy", "TIMES.npy"},
      {}};
  parse_options(argc, argv, "FILE|URI",
                "Extract audio or video features of a media file into a NumPy .npy array "
                "(one row per window).",
                entries);
  const std::string out = take_string(output), times_out = take_string(times);
  std::string model_path = take_string(model), mod = take_string(modality);
  const std::string layer_name = take_string(layer), dev = take_string(device), prec = take_string(precision);
  if (argc != 2) throw Error("expected one input file or URI");
  if (out.empty()) throw Error("--output is required");
  if (mod.empty()) mod = "audio";
  if (mod != "audio" && mod != "video") throw Error("--modality must be audio or video");
  if (model_path.empty()) model_path = default_model_path();
  if (hop_ms < 0 || batch < 0) throw Error("--hop and --batch-size must be positive");

  MediaPipeline pipeline(argv[1]);
  GstElement* feat = make_element(mod == "audio" ? "avtsaudiofeat" : "avtsvideofeat", "features");
  g_object_set(feat, "model-file", model_path.c_str(), nullptr);
  if (!layer_name.empty()) g_object_set(feat, "layer", layer_name.c_str(), nullptr);
  if (!dev.empty()) g_object_set(feat, "device", dev.c_str(), nullptr);
  if (!prec.empty()) set_precision(feat, prec);
  if (hop_ms > 0) g_object_set(feat, "hop", static_cast<guint>(hop_ms), nullptr);
  if (batch > 0) g_object_set(feat, "batch-size", static_cast<guint>(batch), nullptr);

  Rows rows;
  GstElement* sink = make_app_sink(on_new_sample, &rows, "sink");

  if (mod == "audio") {
    pipeline.add_branch("audio", {make_element("audioconvert"), feat, sink});
  } else {
    pipeline.add_branch("video",
                        {make_element("videoconvert"), make_caps_filter("video/x-raw,format=RGB"), feat, sink});
  }
  pipeline.run();

  std::lock_guard<std::mutex> guard(rows.lock);
  if (rows.times.empty()) throw Error(std::string(argv[1]) + ": too short for one feature window: no features written");
  write_npy(out, rows.data.data(), rows.times.size(), static_cast<size_t>(rows.dim));
  if (!times_out.empty()) write_npy(times_out, rows.times);
  std::printf("wrote %s: %zu x %d (%s, %s)\n", out.c_str(), rows.times.size(), rows.dim, mod.c_str(),
              layer_name.empty() ? "embedding" : layer_name.c_str());
  return kExitOk;
}

}  // namespace avts
