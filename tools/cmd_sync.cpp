// avts sync FILE|URI: the lip-sync check of a file or stream.
//   uridecodebin -> audioconvert -> avtsaudiofeat -> queue -> avtssync.audio_sink
//                -> videoconvert -> RGB -> avtsvideofeat -> queue -> avtssync.video_sink
//   avtssync -> appsink (one JSON object per report, then the whole-stream summary)
// Exit code: 0 within tolerance, 1 outside it or inconclusive, 2 on error.
#include <gst/app/gstappsink.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "avts/error.h"
#include "avts/model.h"
#include "avts/sync_standard.h"
#include "commands.h"
#include "media_pipeline.h"
#include "options.h"
#include "sync_plot.h"

namespace avts {

namespace {

using nlohmann::json;

struct Reports {
  std::mutex lock;
  std::vector<json> windows;
  json summary;
};

GstFlowReturn on_report(GstAppSink* sink, gpointer user_data) {
  auto* reports = static_cast<Reports*>(user_data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  GstBuffer* buf = gst_sample_get_buffer(sample);
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
    json j = json::parse(reinterpret_cast<const char*>(map.data), reinterpret_cast<const char*>(map.data) + map.size,
                         nullptr, false);
    gst_buffer_unmap(buf, &map);
    if (!j.is_discarded()) {
      std::lock_guard<std::mutex> guard(reports->lock);
      if (j.value("summary", false))
        reports->summary = std::move(j);
      else
        reports->windows.push_back(std::move(j));
    }
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

void progress_bar(double fraction) {
  const int width = 40, filled = static_cast<int>(fraction * width + 0.5);
  std::fprintf(stderr, "\r[%.*s%*s] %3d%%", filled, "########################################", width - filled, "",
               static_cast<int>(fraction * 100 + 0.5));
  if (fraction >= 1.0) std::fprintf(stderr, "\n");
}

double num(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

void print_table(const Reports& r) {
  std::printf("%9s %10s %11s %11s  %s\n", "time (s)", "offset ms", "confidence", "probability", "status");
  for (const json& w : r.windows) {
    char offset[32];
    std::snprintf(offset, sizeof offset, "%s%+.0f",
                  w.value("out-of-range", false) ? (num(w, "offset-ms") > 0 ? ">" : "<") : "", num(w, "offset-ms"));
    std::printf("%9.2f %10s %11.3f %11.2f  %s\n", num(w, "timestamp") / 1e9, offset, num(w, "confidence"),
                num(w, "probability"), w.value("status", "?").c_str());
  }
}

// Sets avtssync's `standard` by nick, or says which nicks there are.
void set_standard(GstElement* sync, const std::string& name) {
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sync), "standard");
  GEnumClass* standards = G_PARAM_SPEC_ENUM(spec)->enum_class;
  if (const GEnumValue* v = g_enum_get_value_by_nick(standards, name.c_str())) {
    g_object_set(sync, "standard", v->value, nullptr);
    return;
  }
  std::string known;
  for (guint i = 0; i < standards->n_values; ++i)
    known += std::string(known.empty() ? "" : ", ") + standards->values[i].value_nick;
  throw Error("unknown standard '" + name + "' (known: " + known + ")");
}

}  // namespace

int cmd_sync(int argc, char** argv) {
  gchar *model = nullptr, *standard = nullptr, *plot = nullptr, *device = nullptr, *precision = nullptr;
  gboolean as_json = FALSE, quiet = FALSE, face_track = FALSE, no_face_track = FALSE;
  gint tol_early = -1, tol_late = -1, max_offset = 0, context = 0, interval = 0, video_hop = 0;
  gint shift_audio = 0, batch_size = kFileAudioBatch;
  gdouble min_confidence = -1;
  const GOptionEntry entries[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file (default: the shipped model)", "MODEL"},
      {"standard", 's', 0, G_OPTION_ARG_STRING, &standard,
       "Tolerance: ebu-r37 (default), itu-bt1359, itu-bt1359-accept, atsc-is191 or custom", "NAME"},
      {"tolerance-early", 0, 0, G_OPTION_ARG_INT, &tol_early, "custom: how far audio may lead (ms)", "MS"},
      {"tolerance-late", 0, 0, G_OPTION_ARG_INT, &tol_late, "custom: how far audio may lag (ms)", "MS"},
      {"max-offset", 0, 0, G_OPTION_ARG_INT, &max_offset, "Largest offset searched (ms, default 600)", "MS"},
      {"context", 0, 0, G_OPTION_ARG_INT, &context, "Time averaged into each report (ms, default 5000)", "MS"},
      {"interval", 0, 0, G_OPTION_ARG_INT, &interval, "Time between reports (ms, default 1000)", "MS"},
      {"min-confidence", 0, 0, G_OPTION_ARG_DOUBLE, &min_confidence, "Below it a report is inconclusive", "C"},
      {"video-hop", 0, 0, G_OPTION_ARG_INT, &video_hop, "Video window hop (ms, multiple of 40)", "MS"},
      {"batch-size", 0, 0, G_OPTION_ARG_INT, &batch_size,
       "Audio windows per forward pass (default 32; video: a quarter). Larger runs faster, smaller "
       "reports sooner on a live input",
       "N"},
      {"device", 0, 0, G_OPTION_ARG_STRING, &device, "cpu (default), cuda or cuda:N", "DEV"},
      {"precision", 0, 0, G_OPTION_ARG_STRING, &precision,
       "float32 (default), bfloat16 autocast (also on the CPU), or float16 autocast (CUDA only)", "P"},
      {"face-track", 0, 0, G_OPTION_ARG_NONE, &face_track,
       "Find and follow faces (avtsfacetrack) and look at the mouth of the largest face instead of the model's "
       "fixed region (the default for a model whose framing is face)",
       nullptr},
      {"no-face-track", 0, 0, G_OPTION_ARG_NONE, &no_face_track, "Look at the model's fixed region only", nullptr},
      {"shift-audio", 0, 0, G_OPTION_ARG_INT, &shift_audio,
       "Move the audio by MS before measuring (positive = earlier): a test of the measurement", "MS"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON: one object per report and the summary", nullptr},
      {"plot", 0, 0, G_OPTION_ARG_FILENAME, &plot, "Draw offset and confidence over time into a PNG", "PNG"},
      {"quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress bar", nullptr},
      {}};
  parse_options(argc, argv, "FILE|URI",
                "Measure the audio/video offset (lip sync) of a file or stream and judge it against a "
                "broadcast tolerance. Positive offset = audio early. Exit code: 0 within tolerance, "
                "1 outside it or inconclusive, 2 on error.",
                entries);
  std::string model_path = take_string(model), std_name = take_string(standard);
  const std::string plot_path = take_string(plot), dev = take_string(device), prec = take_string(precision);
  if (argc != 2) throw Error("expected one input file or URI");
  if (model_path.empty()) model_path = default_model_path();
  if (std_name.empty()) std_name = "ebu-r37";
  if (face_track && no_face_track) throw Error("--face-track and --no-face-track exclude each other");
  // The model says where it looks: a bad file is an error here, before any decoding.
  const bool track_faces = face_track || (!no_face_track && Model::load(model_path)->config().video.framing == "face");

  MediaPipeline pipeline(argv[1]);
  GstElement* afeat = make_element("avtsaudiofeat", "audio-features");
  GstElement* vfeat = make_element("avtsvideofeat", "video-features");
  for (GstElement* f : {afeat, vfeat}) {
    g_object_set(f, "model-file", model_path.c_str(), nullptr);
    if (!dev.empty()) g_object_set(f, "device", dev.c_str(), nullptr);
    if (!prec.empty()) set_precision(f, prec);
  }
  if (video_hop > 0) g_object_set(vfeat, "hop", static_cast<guint>(video_hop), nullptr);
  if (batch_size < 1 || batch_size > 1024) throw Error("--batch-size must be in [1, 1024]");
  set_file_batch_size(afeat, batch_size);
  set_file_batch_size(vfeat, batch_size);

  GstElement* sync = make_element("avtssync", "sync");
  set_standard(sync, std_name);
  if (tol_early >= 0) g_object_set(sync, "tolerance-early", static_cast<guint>(tol_early), nullptr);
  if (tol_late >= 0) g_object_set(sync, "tolerance-late", static_cast<guint>(tol_late), nullptr);
  if (max_offset > 0) g_object_set(sync, "max-offset", static_cast<guint>(max_offset), nullptr);
  if (context > 0) g_object_set(sync, "context", static_cast<guint>(context), nullptr);
  if (interval > 0) g_object_set(sync, "interval", static_cast<guint>(interval), nullptr);
  if (min_confidence >= 0) g_object_set(sync, "min-confidence", min_confidence, nullptr);

  Reports reports;
  GstElement* sink = make_app_sink(on_report, &reports, "reports");

  GstElement* aqueue = make_element("queue");
  GstElement* vqueue = make_element("queue");
  pipeline.add_branch("audio", {make_element("audioconvert"), afeat, aqueue});
  std::vector<GstElement*> video{make_element("videoconvert"), make_caps_filter("video/x-raw,format=RGB")};
  if (track_faces) video.push_back(make_element("avtsfacetrack", "face-track"));
  video.push_back(vfeat);
  video.push_back(vqueue);
  pipeline.add_branch("video", video);
  gst_bin_add_many(GST_BIN(pipeline.pipeline()), sync, sink, nullptr);
  if (!gst_element_link_pads(aqueue, "src", sync, "audio_sink") ||
      !gst_element_link_pads(vqueue, "src", sync, "video_sink") || !gst_element_link(sync, sink))
    throw Error("cannot link the sync pipeline");

  if (shift_audio != 0) {
    // Audio earlier by d = its running time minus d, on the path into the features.
    GstPad* pad = gst_element_get_static_pad(afeat, "sink");
    gst_pad_set_offset(pad, -static_cast<gint64>(shift_audio) * GST_MSECOND);
    gst_object_unref(pad);
  }

  const bool show_progress = !quiet && isatty(STDERR_FILENO);
  pipeline.run(show_progress ? progress_bar : std::function<void(double)>());

  std::lock_guard<std::mutex> guard(reports.lock);
  if (reports.summary.is_null()) throw Error("no sync summary was produced");
  const json& s = reports.summary;
  const std::string status = s.value("status", "inconclusive");

  if (as_json) {
    json out = {{"input", pipeline.uri()},
                {"model", model_path},
                {"video-region", track_faces ? "face-track" : "model"},
                {"sign", "positive = audio early"},
                {"reports", reports.windows},
                {"summary", s}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    print_table(reports);
    std::printf("\n%s\n", pipeline.uri().c_str());
    std::printf("  offset      %+.0f ms (positive = audio early)%s\n", num(s, "offset-ms"),
                s.value("out-of-range", false) ? ", OUT OF RANGE: beyond the searched range" : "");
    std::printf("  confidence  %.3f (probability %.2f)\n", num(s, "confidence"), num(s, "probability"));
    std::printf("  drift       %+.1f ms/min, spread %.0f ms, %d step changes\n", num(s, "drift-ms-per-min"),
                num(s, "spread-ms"), s.value("steps", 0));
    std::printf("  verdict     %s against %s\n", status.c_str(), std_name.c_str());
    if (track_faces) std::printf("  looked at   the mouth of the largest face (avtsfacetrack)\n");
  }
  if (!plot_path.empty()) {
    std::vector<SyncPoint> points;
    for (const json& w : reports.windows)
      points.push_back({num(w, "timestamp") / 1e9, num(w, "offset-ms"), num(w, "confidence"),
                        w.value("status", "") == "inconclusive", w.value("out-of-range", false)});
    SyncPlotInfo info;
    info.title = argv[1];
    info.standard = std_name;
    const SyncStandard standard_id = sync_standard_from_name(std_name);
    guint early = 0, late = 0, max_off = 0;
    g_object_get(sync, "tolerance-early", &early, "tolerance-late", &late, "max-offset", &max_off, "min-confidence",
                 &info.min_confidence, nullptr);
    const SyncTolerance tolerance =
        standard_id == SyncStandard::Custom ? SyncTolerance::custom(early, late) : SyncTolerance::of(standard_id);
    info.tolerance_early_ms = tolerance.early_ms;
    info.tolerance_late_ms = tolerance.late_ms;
    info.max_offset_ms = max_off;
    info.has_global = status != "inconclusive";
    info.global_offset_ms = num(s, "offset-ms");
    write_sync_plot(plot_path, points, info);
  }
  return status == "ok" || status == "warn" ? kExitOk : 1;
}

}  // namespace avts
