// avtssync: two GstHarnesses on one element (audio_sink, video_sink + src) fed with
// synthetic feature streams of known offset; caps checks, reports as messages and JSON,
// EOS summary, inputs that stop, live deadlines, latency; and a real clip through the
// feature elements.
#include <gst/check/gsttestclock.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include "../lib/sync/synthetic_sync.h"
#include "element_test.h"

using namespace avts_test;
using avts_sync_test::Path;
using avts_sync_test::rows_between;
using json = nlohmann::json;

namespace {

constexpr GstClockTime kSecond = GST_SECOND;

std::string feature_caps(const char* modality, int dim, const std::string& model_id, GstClockTime hop,
                         const char* layer = "embedding") {
  gchar* s = g_strdup_printf(
      "application/x-avts-features, modality=(string)%s, dim=(int)%d, layer=(string)%s, "
      "model-id=(string)%s, hop=(guint64)%" G_GUINT64_FORMAT ", window=(guint64)%" G_GUINT64_FORMAT,
      modality, dim, layer, model_id.c_str(), hop, GST_SECOND);
  std::string caps = s;
  g_free(s);
  return caps;
}

std::vector<GstBuffer*> buffers_of(const std::vector<avts::FeatureRows>& rows) {
  std::vector<GstBuffer*> out;
  for (const auto& r : rows) {
    GstBuffer* b = gst_buffer_new_memdup(r.data.data(), r.data.size() * sizeof(float));
    GST_BUFFER_PTS(b) = static_cast<GstClockTime>(r.pts_ns);
    GST_BUFFER_DURATION(b) = static_cast<GstClockTime>(r.n * r.hop_ns);
    out.push_back(b);
  }
  return out;
}

// Synthetic streams of `seconds`, audio early by `audio_early_ms`.
struct Streams {
  std::vector<GstBuffer*> audio, video;
  int dim;
};

Streams streams(double audio_early_ms, GstClockTime audio_seconds, GstClockTime video_seconds) {
  const Path path;
  Streams s;
  s.dim = path.dim();
  s.audio =
      buffers_of(rows_between(0, audio_seconds * kSecond, 40 * kMs, 8, avts_sync_test::audio_of(path, audio_early_ms)));
  s.video = buffers_of(rows_between(0, video_seconds * kSecond, 200 * kMs, 4, avts_sync_test::video_of(path)));
  return s;
}

// avtssync between two harnesses: `audio` feeds audio_sink, `video` feeds video_sink and
// collects what src pushes. The element's bus collects its messages.
class SyncHarness {
 public:
  explicit SyncHarness(const std::function<void(GstElement*)>& configure = {}, bool live = false) {
    element = gst_element_factory_make("avtssync", nullptr);
    EXPECT_NE(element, nullptr) << "avtssync not found: is GST_PLUGIN_PATH set to the build's gst/?";
    if (configure) configure(element);
    bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    video = gst_harness_new_with_element(element, "video_sink", "src");
    audio = gst_harness_new_with_element(element, "audio_sink", nullptr);
    gst_harness_set_live(video, live);
    gst_harness_set_live(audio, live);
  }
  ~SyncHarness() {
    gst_harness_teardown(audio);
    gst_harness_teardown(video);
    gst_element_set_bus(element, nullptr);
    gst_object_unref(element);
    gst_object_unref(bus);
  }

  void set_caps(int audio_dim = 64, int video_dim = 64, const std::string& audio_id = "0123456789abcdef",
                const std::string& video_id = "0123456789abcdef") {
    gst_harness_set_src_caps_str(audio, feature_caps("audio", audio_dim, audio_id, 40 * kMs).c_str());
    gst_harness_set_src_caps_str(video, feature_caps("video", video_dim, video_id, 200 * kMs).c_str());
  }

  // Pushes both streams, each from its own thread as in a pipeline (a pad of a
  // non-live aggregator holds one buffer), each followed by EOS.
  void push(const Streams& s) {
    std::thread a([&] {
      for (GstBuffer* b : s.audio) EXPECT_EQ(gst_harness_push(audio, b), GST_FLOW_OK);
      gst_harness_push_event(audio, gst_event_new_eos());
    });
    for (GstBuffer* b : s.video) EXPECT_EQ(gst_harness_push(video, b), GST_FLOW_OK);
    gst_harness_push_event(video, gst_event_new_eos());
    a.join();
  }

  // Every buffer src pushed up to EOS.
  std::vector<GstBuffer*> pull_until_eos() {
    std::vector<GstBuffer*> out;
    GstBuffer* b = nullptr;
    while (gst_harness_pull_until_eos(video, &b) && b) out.push_back(b);
    return out;
  }

  // The element messages called `name` posted so far (others are dropped).
  std::vector<GstStructure*> messages(const char* name) {
    std::vector<GstStructure*> out;
    while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(m);
      if (gst_structure_has_name(s, name)) out.push_back(gst_structure_copy(s));
      gst_message_unref(m);
    }
    return out;
  }

  ErrorMessage wait_for_error() {
    ErrorMessage error;
    if (GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_ERROR)) {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(m, &err, &debug);
      error.posted = true;
      error.domain = err->domain;
      error.code = err->code;
      error.text = err->message;
      error.debug = debug ? debug : "";
      g_error_free(err);
      g_free(debug);
      gst_message_unref(m);
    }
    return error;
  }

  GstElement* element;
  GstBus* bus;
  GstHarness* audio;
  GstHarness* video;
};

std::string text_of(GstBuffer* b) {
  GstMapInfo map;
  EXPECT_TRUE(gst_buffer_map(b, &map, GST_MAP_READ));
  std::string s(reinterpret_cast<const char*>(map.data), map.size);
  gst_buffer_unmap(b, &map);
  return s;
}

double number(const GstStructure* s, const char* field) {
  double v = NAN;
  EXPECT_TRUE(gst_structure_get_double(s, field, &v)) << field;
  return v;
}

GstClockTime clock_time(const GstStructure* s, const char* field) {
  GstClockTime v = GST_CLOCK_TIME_NONE;
  EXPECT_TRUE(gst_structure_get_clock_time(s, field, &v)) << field;
  return v;
}

void free_all(std::vector<GstStructure*>& v) {
  for (GstStructure* s : v) gst_structure_free(s);
  v.clear();
}

void unref_all(std::vector<GstBuffer*>& v) {
  for (GstBuffer* b : v) gst_buffer_unref(b);
  v.clear();
}

class AvtsSync : public ElementTest {};

TEST_F(AvtsSync, PropertiesPadsAndDocs) {
  GstElement* e = gst_element_factory_make("avtssync", nullptr);
  ASSERT_NE(e, nullptr);
  guint interval = 0, max_offset = 0, context = 0, early = 0, late = 0, hold = 0, hysteresis = 0;
  gint standard = -1;
  gdouble min_confidence = 0;
  gboolean post = FALSE;
  g_object_get(e, "interval", &interval, "max-offset", &max_offset, "context", &context, "standard", &standard,
               "tolerance-early", &early, "tolerance-late", &late, "min-confidence", &min_confidence, "hold", &hold,
               "hysteresis", &hysteresis, "post-messages", &post, nullptr);
  EXPECT_EQ(interval, 1000u);
  EXPECT_EQ(max_offset, 600u);
  EXPECT_EQ(context, 5000u);
  EXPECT_EQ(early, 40u);
  EXPECT_EQ(late, 60u);
  EXPECT_DOUBLE_EQ(min_confidence, 0.1);
  EXPECT_EQ(hold, 3u);
  EXPECT_EQ(hysteresis, 10u);
  EXPECT_TRUE(post);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "standard");
  GEnumClass* standards = G_ENUM_CLASS(g_type_class_ref(spec->value_type));
  EXPECT_STREQ(g_enum_get_value(standards, standard)->value_nick, "ebu-r37");
  std::set<std::string> nicks;
  for (guint i = 0; i < standards->n_values; ++i) nicks.insert(standards->values[i].value_nick);
  EXPECT_EQ(nicks, (std::set<std::string>{"ebu-r37", "itu-bt1359", "itu-bt1359-accept", "atsc-is191", "custom"}));
  g_type_class_unref(standards);
  gst_util_set_object_arg(G_OBJECT(e), "standard", "atsc-is191");
  g_object_get(e, "standard", &standard, nullptr);
  EXPECT_EQ(standard, 3);
  EXPECT_EQ(G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "max-offset"))->maximum, 2000u);

  // Our own properties are documented (the aggregator's are GStreamer's business).
  guint n = 0;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
  for (guint i = 0; i < n; ++i) {
    if (specs[i]->owner_type != G_OBJECT_TYPE(e)) continue;
    const gchar* blurb = g_param_spec_get_blurb(specs[i]);
    EXPECT_TRUE(blurb && strlen(blurb) > 40) << g_param_spec_get_name(specs[i]);
  }
  g_free(specs);
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(e);
  const std::string description = gst_element_class_get_metadata(klass, GST_ELEMENT_METADATA_DESCRIPTION);
  EXPECT_NE(description.find("POSITIVE = AUDIO EARLY"), std::string::npos);
  expect_metadata(klass);
  for (const char* pad : {"audio_sink", "video_sink", "src"}) {
    GstPad* p = gst_element_get_static_pad(e, pad);
    EXPECT_NE(p, nullptr) << pad;
    if (p) gst_object_unref(p);
  }
  gst_object_unref(e);
}

TEST_F(AvtsSync, ReportsAKnownOffsetAsMessagesAndJsonLines) {
  SyncHarness h;
  h.set_caps();
  h.push(streams(120.0, 12, 12));
  std::vector<GstBuffer*> out = h.pull_until_eos();
  std::vector<GstStructure*> reports = h.messages("avts-sync");
  ASSERT_EQ(reports.size(), 12u);
  ASSERT_EQ(out.size(), 13u);  // one per report, then the summary

  GstCaps* caps = gst_pad_get_current_caps(h.video->sinkpad);
  ASSERT_NE(caps, nullptr);
  GstCaps* expected = gst_caps_from_string("text/x-raw, format=(string)utf8");
  EXPECT_TRUE(gst_caps_is_equal(caps, expected));
  gst_caps_unref(caps);
  gst_caps_unref(expected);

  int settled = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    const GstStructure* m = reports[i];
    SCOPED_TRACE(i);
    // The same report both ways: every message field is in the JSON line, equal.
    const std::string line = text_of(out[i]);
    ASSERT_EQ(line.back(), '\n');
    const json j = json::parse(line);
    EXPECT_EQ(j.size(), static_cast<size_t>(gst_structure_n_fields(m)));
    EXPECT_EQ(j["timestamp"].get<guint64>(), clock_time(m, "timestamp"));
    EXPECT_EQ(j["running-time"].get<guint64>(), clock_time(m, "running-time"));
    EXPECT_EQ(j["stream-time"].get<guint64>(), clock_time(m, "stream-time"));
    EXPECT_EQ(j["duration"].get<guint64>(), clock_time(m, "duration"));
    EXPECT_NEAR(j["offset-ms"].get<double>(), number(m, "offset-ms"), 1e-6);
    EXPECT_NEAR(j["confidence"].get<double>(), number(m, "confidence"), 1e-9);
    EXPECT_NEAR(j["probability"].get<double>(), number(m, "probability"), 1e-9);
    EXPECT_EQ(j["status"], caps_string(m, "status"));
    EXPECT_EQ(j["standard"], "ebu-r37");
    EXPECT_EQ(j["sign"], "positive = audio early");
    EXPECT_EQ(caps_string(m, "sign"), "positive = audio early");
    EXPECT_EQ(j["audio-hop-ms"].get<double>(), 40.0);
    gboolean out_of_range = TRUE;
    EXPECT_TRUE(gst_structure_get_boolean(m, "out-of-range", &out_of_range));
    EXPECT_EQ(j["out-of-range"].get<bool>(), static_cast<bool>(out_of_range));
    // Timestamps: the interval the report covers, also as the buffer's PTS / DURATION.
    EXPECT_EQ(clock_time(m, "timestamp"), i * kSecond);
    EXPECT_EQ(clock_time(m, "duration"), kSecond);
    EXPECT_EQ(GST_BUFFER_PTS(out[i]), i * kSecond);
    EXPECT_EQ(GST_BUFFER_DURATION(out[i]), kSecond);
    int windows = 0;
    EXPECT_TRUE(gst_structure_get_int(m, "windows", &windows));
    if (windows >= 20) {
      ++settled;
      EXPECT_NEAR(number(m, "offset-ms"), 120.0, 3.0);
      EXPECT_FALSE(out_of_range);
      EXPECT_GT(number(m, "confidence"), 0.5);
    }
  }
  EXPECT_GE(settled, 5);
  EXPECT_EQ(caps_string(reports.back(), "status"), "fail");  // 120 ms early: outside EBU R37

  const json summary = json::parse(text_of(out.back()));
  EXPECT_TRUE(summary["summary"].get<bool>());
  EXPECT_NEAR(summary["offset-ms"].get<double>(), 120.0, 1.5);
  EXPECT_EQ(summary["status"], "fail");
  EXPECT_EQ(summary["reports"], 12);
  EXPECT_EQ(summary["windows"].get<int>() + summary["windows-skipped"].get<int>(), 60);
  for (const char* field : {"spread-ms", "drift-ms-per-min", "steps", "inconclusive-share", "confidence"})
    EXPECT_TRUE(summary.contains(field)) << field;
  // The evidence behind the offset: the mean curve (a JSON array) and where windows agree.
  ASSERT_TRUE(summary["curve"].is_array());
  EXPECT_EQ(summary["curve"].size(), summary["window-minima"].size());
  const std::vector<double> curve = summary["curve"].get<std::vector<double>>();
  const size_t k = std::min_element(curve.begin(), curve.end()) - curve.begin();
  EXPECT_NEAR(summary["curve-first-offset-ms"].get<double>() - k * summary["curve-hop-ms"].get<double>(), 120.0, 10.0);
  EXPECT_GT(summary["window-minima"].get<std::vector<int64_t>>()[k], 0);
  free_all(reports);
  unref_all(out);
}

// A model calibrated on held-out speakers brings its minimum confidence in the feature caps:
// avtssync uses it unless the application set one. The synthetic streams are confident (about
// 0.5-1), so a calibrated 1.9 makes every report inconclusive and an explicit 0.1 none.
TEST_F(AvtsSync, CalibratedMinConfidenceComesWithTheModelUnlessSet) {
  const auto run = [](bool set_explicitly) {
    SyncHarness h([&](GstElement* e) {
      if (set_explicitly) g_object_set(e, "min-confidence", 0.1, nullptr);
    });
    for (auto [harness, modality, hop] :
         {std::tuple{h.audio, "audio", 40 * kMs}, std::tuple{h.video, "video", 200 * kMs}})
      gst_harness_set_src_caps_str(
          harness, (feature_caps(modality, 64, "0123456789abcdef", hop) + ", min-confidence=(double)1.9").c_str());
    h.push(streams(120.0, 6, 6));
    std::vector<GstBuffer*> out = h.pull_until_eos();
    unref_all(out);
    std::vector<GstStructure*> reports = h.messages("avts-sync");
    int inconclusive = 0;
    for (const GstStructure* m : reports) inconclusive += caps_string(m, "status") == "inconclusive";
    double min_confidence = 0;
    g_object_get(h.element, "min-confidence", &min_confidence, nullptr);
    const size_t n = reports.size();
    free_all(reports);
    return std::tuple{inconclusive, n, min_confidence};
  };
  const auto [calibrated, n1, value1] = run(false);
  EXPECT_EQ(value1, 1.9);
  EXPECT_EQ(calibrated, static_cast<int>(n1));
  const auto [explicit_, n2, value2] = run(true);
  EXPECT_EQ(value2, 0.1);
  EXPECT_LT(explicit_, static_cast<int>(n2));
}

TEST_F(AvtsSync, SummaryMessageAtEosAndPostMessagesOff) {
  {
    SyncHarness h;
    h.set_caps();
    h.push(streams(-40.0, 8, 8));
    std::vector<GstBuffer*> out = h.pull_until_eos();
    std::vector<GstStructure*> summary = h.messages("avts-sync-summary");
    ASSERT_EQ(summary.size(), 1u);
    EXPECT_NEAR(number(summary[0], "offset-ms"), -40.0, 1.5);
    EXPECT_EQ(caps_string(summary[0], "status"), "ok");
    EXPECT_EQ(caps_string(summary[0], "sign"), "positive = audio early");
    for (const char* field : {"spread-ms", "drift-ms-per-min", "confidence", "inconclusive-share"})
      EXPECT_FALSE(std::isnan(number(summary[0], field))) << field;
    const json j = json::parse(text_of(out.back()));
    EXPECT_EQ(j.size(), static_cast<size_t>(gst_structure_n_fields(summary[0])));
    free_all(summary);
    unref_all(out);
  }
  {
    SyncHarness h([](GstElement* e) { g_object_set(e, "post-messages", FALSE, nullptr); });
    h.set_caps();
    h.push(streams(0.0, 4, 4));
    std::vector<GstBuffer*> out = h.pull_until_eos();
    EXPECT_EQ(out.size(), 5u);  // 4 reports + summary, still as buffers
    EXPECT_TRUE(h.messages("avts-sync").empty());
    unref_all(out);
  }
}

TEST_F(AvtsSync, AlignsByRunningTime) {
  // The audio comes in a segment starting at 10 s: its PTS are 10 s ahead, its running
  // time is not. A 10 s PTS difference must not show up as an offset.
  SyncHarness h;
  h.set_caps();
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = 10 * kSecond;
  segment.time = 10 * kSecond;
  gst_harness_push_event(h.audio, gst_event_new_segment(&segment));
  Streams s = streams(80.0, 10, 10);
  for (GstBuffer* b : s.audio) GST_BUFFER_PTS(b) += 10 * kSecond;
  h.push(s);
  std::vector<GstBuffer*> out = h.pull_until_eos();
  ASSERT_FALSE(out.empty());
  const json summary = json::parse(text_of(out.back()));
  EXPECT_NEAR(summary["offset-ms"].get<double>(), 80.0, 1.5);
  unref_all(out);
}

TEST_F(AvtsSync, RefusesFeaturesOfDifferentModels) {
  struct Case {
    int audio_dim, video_dim;
    std::string audio_id, video_id;
    std::vector<std::string> named;
  };
  for (const Case& c : {Case{64, 64, "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", {"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"}},
                        Case{64, 32, "aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", {"dim 64", "dim 32"}}}) {
    SyncHarness h;
    h.set_caps(c.audio_dim, c.video_dim, c.audio_id, c.video_id);
    const ErrorMessage error = h.wait_for_error();
    ASSERT_TRUE(error.posted);
    EXPECT_EQ(error.domain, GST_CORE_ERROR);
    EXPECT_EQ(error.code, GST_CORE_ERROR_NEGOTIATION);
    for (const std::string& name : c.named) EXPECT_NE(error.text.find(name), std::string::npos) << error.text;
  }
  // Layers other than the embedding are refused too.
  SyncHarness h;
  gst_harness_set_src_caps_str(h.video, feature_caps("video", 64, "aaaaaaaaaaaaaaaa", 200 * kMs, "layer3").c_str());
  const ErrorMessage error = h.wait_for_error();
  ASSERT_TRUE(error.posted);
  EXPECT_NE(error.text.find("layer3"), std::string::npos) << error.text;
}

TEST_F(AvtsSync, OnePadEndingEarlyDoesNotStall) {
  {
    // Audio stops (EOS) at 4 s, video goes on to 10 s.
    SyncHarness h;
    h.set_caps();
    h.push(streams(0.0, 4, 10));
    std::vector<GstBuffer*> out = h.pull_until_eos();
    ASSERT_EQ(out.size(), 11u);
    EXPECT_EQ(GST_BUFFER_PTS(out[9]), 9 * kSecond);
    EXPECT_EQ(json::parse(text_of(out[9]))["status"], "inconclusive");  // nothing left to judge
    EXPECT_NEAR(json::parse(text_of(out.back()))["offset-ms"].get<double>(), 0.0, 2.5);
    unref_all(out);
  }
  {
    // Video ends without any data: the summary still comes, inconclusive.
    SyncHarness h;
    h.set_caps();
    Streams s = streams(0.0, 3, 0);
    h.push(s);
    std::vector<GstBuffer*> out = h.pull_until_eos();
    ASSERT_FALSE(out.empty());
    const json summary = json::parse(text_of(out.back()));
    EXPECT_TRUE(summary["summary"].get<bool>());
    EXPECT_EQ(summary["status"], "inconclusive");
    EXPECT_EQ(summary["windows"], 0);
    unref_all(out);
  }
}

TEST_F(AvtsSync, AnswersTheLatencyQuery) {
  SyncHarness h([](GstElement* e) { g_object_set(e, "interval", 500u, "max-offset", 300u, nullptr); }, true);
  EXPECT_EQ(gst_harness_query_latency(h.video), 800 * kMs);  // interval + max-offset
  gst_harness_set_upstream_latency(h.audio, 1300 * kMs);
  EXPECT_EQ(gst_harness_query_latency(h.video), 2100 * kMs);  // plus the slowest input
}

TEST_F(AvtsSync, LiveInputThatStopsIsNotWaitedFor) {
  // Live, on the harness' test clock: audio stops at 3 s without EOS (a dead source), video
  // goes on to 8 s. The aggregator's own latency property lets the pads queue everything,
  // so the test can push up front and then move the clock deadline by deadline.
  SyncHarness h([](GstElement* e) { g_object_set(e, "latency", 30 * kSecond, nullptr); }, true);
  h.set_caps();
  EXPECT_EQ(gst_harness_query_latency(h.video), 30 * kSecond + 1600 * kMs);
  Streams s = streams(0.0, 3, 8);
  for (GstBuffer* b : s.audio) ASSERT_EQ(gst_harness_push(h.audio, b), GST_FLOW_OK);
  for (GstBuffer* b : s.video) ASSERT_EQ(gst_harness_push(h.video, b), GST_FLOW_OK);
  // With both inputs fed the reports need no deadline; once the audio runs dry, each
  // deadline (next report + latency) that passes gives one more report.
  GstTestClock* clock = gst_harness_get_testclock(h.video);
  std::vector<GstBuffer*> out;
  for (int deadline = 0; deadline < 12; ++deadline) {
    ASSERT_TRUE(gst_test_clock_timed_wait_for_multiple_pending_ids(clock, 1, 5000, nullptr))
        << "avtssync does not wait for the clock: it would stall on a dead input";
    gst_test_clock_crank(clock);
  }
  gst_object_unref(clock);
  // The last crank's report may still be on its way.
  while (out.size() < 12) {
    GstBuffer* b = gst_harness_pull(h.video);  // waits up to 60 s
    ASSERT_NE(b, nullptr);
    out.push_back(b);
  }
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(GST_BUFFER_PTS(out[i]), i * kSecond) << i;
  // Windows after 2.4 s have no audio around them: from [7, 8) s on the context holds none
  // and the reports say so instead of waiting.
  const json early = json::parse(text_of(out[2]));
  EXPECT_EQ(early["status"], "ok");
  EXPECT_GT(early["windows"].get<int>(), 0);
  for (size_t i = 7; i < out.size(); ++i) {
    const json j = json::parse(text_of(out[i]));
    EXPECT_EQ(j["status"], "inconclusive") << i;
    EXPECT_EQ(j["windows"], 0) << i;
  }
  unref_all(out);
}

// The real clip through the feature elements (tiny untrained model): the machinery runs,
// reports come in order with sane fields, and EOS is reached, with the audio as it is and
// with its running time moved 200 ms later by a pad offset.
TEST_F(AvtsSync, RealClipPipelineRunsToEos) {
  const char* media = g_getenv("AVTS_TEST_MEDIA");
  ASSERT_NE(media, nullptr);
  const std::string clip = std::string(media) + "/grid_s1_lgas2n.mpg";
  gchar* uri = gst_filename_to_uri(clip.c_str(), nullptr);
  const std::string model = TinyModel::get().path();
  for (GstClockTimeDiff shift : {GstClockTimeDiff(0), GstClockTimeDiff(200 * kMs)}) {
    SCOPED_TRACE(shift);
    const std::string launch =
        std::string("uridecodebin uri=") + uri +
        " name=d d. ! queue ! audioconvert ! audioresample ! avtsaudiofeat model-file=" + model +
        " ! sync.audio_sink d. ! queue ! videoconvert ! video/x-raw,format=RGB ! avtsvideofeat model-file=" + model +
        " ! sync.video_sink avtssync name=sync ! fakesink";
    GError* err = nullptr;
    GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
    ASSERT_EQ(err, nullptr) << err->message;
    GstElement* sync = gst_bin_get_by_name(GST_BIN(pipeline), "sync");
    GstPad* audio_sink = gst_element_get_static_pad(sync, "audio_sink");
    gst_pad_set_offset(audio_sink, shift);
    gst_object_unref(audio_sink);
    gst_object_unref(sync);

    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    GstBus* bus = gst_element_get_bus(pipeline);
    std::vector<GstStructure*> reports;
    GstStructure* summary = nullptr;
    bool eos = false;
    while (GstMessage* m = gst_bus_timed_pop_filtered(
               bus, 60 * GST_SECOND,
               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
      const GstMessageType type = GST_MESSAGE_TYPE(m);
      if (type == GST_MESSAGE_ERROR) {
        GError* e = nullptr;
        gst_message_parse_error(m, &e, nullptr);
        ADD_FAILURE() << e->message;
        g_error_free(e);
      } else if (type == GST_MESSAGE_ELEMENT) {
        const GstStructure* s = gst_message_get_structure(m);
        if (gst_structure_has_name(s, "avts-sync")) {
          EXPECT_EQ(summary, nullptr) << "report after the summary";
          reports.push_back(gst_structure_copy(s));
        } else if (gst_structure_has_name(s, "avts-sync-summary")) {
          summary = gst_structure_copy(s);
        }
      }
      const bool done = type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR;
      eos = type == GST_MESSAGE_EOS;
      gst_message_unref(m);
      if (done) break;
    }
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);

    EXPECT_TRUE(eos);
    ASSERT_GE(reports.size(), 3u);  // a 3 s clip, one report a second
    GstClockTime previous = GST_CLOCK_TIME_NONE;
    for (const GstStructure* r : reports) {
      const GstClockTime t = clock_time(r, "running-time");
      if (GST_CLOCK_TIME_IS_VALID(previous)) {
        EXPECT_GT(t, previous);
      }
      previous = t;
      EXPECT_EQ(clock_time(r, "duration"), kSecond);
      const double offset = number(r, "offset-ms"), confidence = number(r, "confidence"),
                   probability = number(r, "probability");
      EXPECT_LE(std::fabs(offset), 600.0);
      EXPECT_GE(confidence, 0.0);
      EXPECT_GE(probability, 0.0);
      EXPECT_LE(probability, 1.0);
      const std::string status = caps_string(r, "status");
      EXPECT_TRUE(status == "ok" || status == "warn" || status == "fail" || status == "inconclusive") << status;
      EXPECT_EQ(caps_string(r, "sign"), "positive = audio early");
    }
    ASSERT_NE(summary, nullptr);
    EXPECT_GT(number(summary, "confidence"), -1e-9);
    gint64 windows = -1;
    EXPECT_TRUE(gst_structure_get_int64(summary, "windows", &windows));
    EXPECT_GT(windows, 0);
    gst_structure_free(summary);
    free_all(reports);
  }
  g_free(uri);
}

}  // namespace
