// avtssyncbin in real pipelines (test sources, the tiny model): the pass-through is
// bit-exact and keeps its timing; the inner avtssync's reports reach the bus; the
// correction, driven by reports posted as the inner avtssync would, moves the audio's
// (or the video's) running time at the configured rate and lands on the target;
// properties reach the children; state cycling; a missing model is an error.
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "element_test.h"

using namespace avts_test;

namespace {

// A buffer as it passed a pad: timing and bytes.
struct Seen {
  GstClockTime pts, duration, running_time;
  std::vector<uint8_t> bytes;
};

Seen seen(GstPad* pad, GstBuffer* buffer) {
  Seen s{GST_BUFFER_PTS(buffer), GST_BUFFER_DURATION(buffer), GST_CLOCK_TIME_NONE, {}};
  if (GstEvent* e = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)) {
    const GstSegment* segment;
    gst_event_parse_segment(e, &segment);
    s.running_time = gst_segment_to_running_time(segment, GST_FORMAT_TIME, s.pts);
    gst_event_unref(e);
  }
  s.bytes.resize(gst_buffer_get_size(buffer));
  gst_buffer_extract(buffer, 0, s.bytes.data(), s.bytes.size());
  return s;
}

struct Message {
  std::string source;
  GstStructure* fields;
};

// Audio and video test sources -> avtssyncbin (tiny model, `props`) -> fakesinks; what
// went in, what came out and the bus' element messages.
class BinPipeline {
 public:
  explicit BinPipeline(const std::string& props, double seconds = 3, bool live = false) {
    const int audio_buffers = static_cast<int>(std::ceil(seconds * 44100 / 1024));
    const int video_frames = static_cast<int>(std::ceil(seconds * 25));
    const char* is_live = live ? "true" : "false";
    const char* sync = live ? "true" : "false";
    gchar* description = g_strdup_printf(
        "audiotestsrc is-live=%s wave=white-noise samplesperbuffer=1024 num-buffers=%d ! "
        "audio/x-raw,format=S16LE,rate=44100,channels=2 ! s.audio_sink "
        "videotestsrc is-live=%s pattern=snow num-buffers=%d ! "
        "video/x-raw,format=I420,width=64,height=48,framerate=25/1 ! s.video_sink "
        "avtssyncbin name=s model-file=\"%s\" %s "
        "s.audio_src ! fakesink name=aout signal-handoffs=true sync=%s "
        "s.video_src ! fakesink name=vout signal-handoffs=true sync=%s",
        is_live, audio_buffers, is_live, video_frames, TinyModel::get().path().c_str(), props.c_str(), sync, sync);
    GError* error = nullptr;
    pipeline = gst_parse_launch(description, &error);
    g_free(description);
    EXPECT_EQ(error, nullptr) << (error ? error->message : "");
    if (error) g_error_free(error);
    bin = gst_bin_get_by_name(GST_BIN(pipeline), "s");
    watch(bin, "audio_sink", &audio_in);
    watch(bin, "video_sink", &video_in);
    for (auto [name, list] : {std::pair{"aout", &audio_out}, std::pair{"vout", &video_out}}) {
      GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), name);
      g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), this);
      sinks.emplace_back(sink, list);
    }
  }
  ~BinPipeline() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    for (auto& m : messages) gst_structure_free(m.fields);
    for (auto& s : sinks) gst_object_unref(s.first);
    gst_object_unref(bin);
    gst_object_unref(pipeline);
  }

  // The inner element `name` (a new reference).
  GstElement* child(const char* name) { return gst_bin_get_by_name(GST_BIN(bin), name); }

  // Prerolls (PAUSED), calls `paused`, plays to EOS. False on error or timeout.
  bool run(const std::function<void()>& paused = {}) {
    if (gst_element_set_state(pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE) return false;
    if (gst_element_get_state(pipeline, nullptr, nullptr, 60 * GST_SECOND) == GST_STATE_CHANGE_FAILURE) return false;
    if (paused) paused();
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    return wait_eos();
  }

  bool wait_eos() {
    GstBus* bus = gst_element_get_bus(pipeline);
    bool eos = false;
    while (GstMessage* m = gst_bus_timed_pop_filtered(
               bus, 120 * GST_SECOND,
               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
      const GstMessageType type = GST_MESSAGE_TYPE(m);
      if (type == GST_MESSAGE_ELEMENT && gst_message_get_structure(m))
        messages.push_back({GST_OBJECT_NAME(GST_MESSAGE_SRC(m)), gst_structure_copy(gst_message_get_structure(m))});
      if (type == GST_MESSAGE_ERROR) {
        GError* err = nullptr;
        gst_message_parse_error(m, &err, nullptr);
        ADD_FAILURE() << "error: " << err->message;
        g_error_free(err);
      }
      gst_message_unref(m);
      if (type == GST_MESSAGE_EOS) eos = true;
      if (type != GST_MESSAGE_ELEMENT) break;
    }
    gst_object_unref(bus);
    return eos;
  }

  std::vector<const GstStructure*> named(const char* name) const {
    std::vector<const GstStructure*> out;
    for (const auto& m : messages)
      if (gst_structure_has_name(m.fields, name)) out.push_back(m.fields);
    return out;
  }

  GstElement *pipeline = nullptr, *bin = nullptr;
  std::vector<Seen> audio_in, audio_out, video_in, video_out;
  std::vector<Message> messages;

 private:
  void watch(GstElement* element, const char* pad_name, std::vector<Seen>* list) {
    GstPad* pad = gst_element_get_static_pad(element, pad_name);
    probes.push_back({this, list});
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &probes.back(), nullptr);
    gst_object_unref(pad);
  }
  static GstPadProbeReturn on_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
    auto* probe = static_cast<Probe*>(data);
    Seen s = seen(pad, GST_PAD_PROBE_INFO_BUFFER(info));
    std::lock_guard<std::mutex> guard(probe->self->lock);
    probe->list->push_back(std::move(s));
    return GST_PAD_PROBE_OK;
  }
  static void on_handoff(GstElement* sink, GstBuffer* buffer, GstPad* pad, gpointer data) {
    auto* self = static_cast<BinPipeline*>(data);
    Seen s = seen(pad, buffer);
    std::lock_guard<std::mutex> guard(self->lock);
    for (auto& [element, list] : self->sinks)
      if (element == sink) list->push_back(std::move(s));
  }

  struct Probe {
    BinPipeline* self;
    std::vector<Seen>* list;
  };
  std::mutex lock;
  std::deque<Probe> probes;  // stable addresses
  std::vector<std::pair<GstElement*, std::vector<Seen>*>> sinks;
};

// A report as the inner avtssync posts it.
void post_report(GstElement* sync, double offset_ms, double probability = 0.99, const char* status = "warn",
                 bool out_of_range = false) {
  GstStructure* s = gst_structure_new("avts-sync", "running-time", GST_TYPE_CLOCK_TIME, GstClockTime(0), "offset-ms",
                                      G_TYPE_DOUBLE, offset_ms, "confidence", G_TYPE_DOUBLE, 0.5, "probability",
                                      G_TYPE_DOUBLE, probability, "status", G_TYPE_STRING, status, "out-of-range",
                                      G_TYPE_BOOLEAN, out_of_range, "windows", G_TYPE_INT, 25, nullptr);
  gst_element_post_message(sync, gst_message_new_element(GST_OBJECT(sync), s));
}

// Output running time minus input running time, per buffer, in ms.
std::vector<double> delays_ms(const std::vector<Seen>& in, const std::vector<Seen>& out) {
  EXPECT_EQ(in.size(), out.size());
  std::vector<double> d;
  for (size_t i = 0; i < std::min(in.size(), out.size()); ++i)
    d.push_back((static_cast<double>(out[i].running_time) - static_cast<double>(in[i].running_time)) / GST_MSECOND);
  return d;
}

void expect_same_buffers(const std::vector<Seen>& in, const std::vector<Seen>& out, const char* what) {
  ASSERT_EQ(in.size(), out.size()) << what;
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(in[i].pts, out[i].pts) << what << " buffer " << i;
    EXPECT_EQ(in[i].duration, out[i].duration) << what << " buffer " << i;
    ASSERT_EQ(in[i].bytes, out[i].bytes) << what << " buffer " << i;
  }
}

// Correction messages in order: (applied, target, settled).
struct Correction {
  double applied, target;
  bool settled;
};
std::vector<Correction> corrections(const BinPipeline& p) {
  std::vector<Correction> out;
  for (const GstStructure* s : p.named("avts-sync-correction")) {
    Correction c{};
    gboolean settled = FALSE;
    EXPECT_TRUE(gst_structure_get_double(s, "applied-ms", &c.applied));
    EXPECT_TRUE(gst_structure_get_double(s, "target-ms", &c.target));
    EXPECT_TRUE(gst_structure_get_boolean(s, "settled", &settled));
    c.settled = settled;
    out.push_back(c);
  }
  return out;
}

class SyncBin : public ElementTest {};

}  // namespace

TEST_F(SyncBin, PadsPropertiesAndDocs) {
  GstElement* bin = gst_element_factory_make("avtssyncbin", nullptr);
  ASSERT_NE(bin, nullptr) << "avtssyncbin not found: is GST_PLUGIN_PATH set to the build's gst/?";
  for (const char* pad : {"audio_sink", "video_sink", "audio_src", "video_src"}) {
    GstPad* p = gst_element_get_static_pad(bin, pad);
    EXPECT_NE(p, nullptr) << pad;
    if (p) gst_object_unref(p);
  }
  // Every property of its own (not GstBin's) says what it does; the description has an example.
  guint n = 0;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(bin), &n);
  int own = 0;
  for (guint i = 0; i < n; ++i) {
    if (specs[i]->owner_type != G_OBJECT_TYPE(bin)) continue;
    ++own;
    const gchar* blurb = g_param_spec_get_blurb(specs[i]);
    EXPECT_TRUE(blurb && strlen(blurb) > 40) << g_param_spec_get_name(specs[i]);
  }
  g_free(specs);
  EXPECT_GE(own, 20);
  expect_metadata(GST_ELEMENT_GET_CLASS(bin));

  gboolean correct = TRUE, leaky = TRUE;
  gdouble rate = 0;
  g_object_get(bin, "correct", &correct, "leaky", &leaky, "correction-rate", &rate, nullptr);
  EXPECT_FALSE(correct);
  EXPECT_FALSE(leaky);
  EXPECT_EQ(rate, 20.0);
  gst_object_unref(gst_object_ref_sink(bin));
}

TEST_F(SyncBin, PropertiesReachTheChildren) {
  GstElement* bin = gst_element_factory_make("avtssyncbin", nullptr);
  ASSERT_NE(bin, nullptr);
  gst_util_set_object_arg(G_OBJECT(bin), "standard", "atsc-is191");
  g_object_set(bin, "model-file", "/some/model.avts", "max-offset", 300u, "context", 2000u, "interval", 500u,
               "min-confidence", 0.25, "video-hop", 400u, "audio-hop", 80u, "leaky", TRUE, nullptr);
  GstElement* sync = gst_bin_get_by_name(GST_BIN(bin), "sync");
  GstElement* afeat = gst_bin_get_by_name(GST_BIN(bin), "audio-features");
  GstElement* vfeat = gst_bin_get_by_name(GST_BIN(bin), "video-features");
  ASSERT_TRUE(sync && afeat && vfeat);
  gchar *afile = nullptr, *vfile = nullptr;
  guint max_offset = 0, context = 0, interval = 0, vhop = 0, ahop = 0;
  gint standard = -1;
  gdouble min_confidence = 0;
  g_object_get(sync, "max-offset", &max_offset, "context", &context, "interval", &interval, "min-confidence",
               &min_confidence, "standard", &standard, nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(sync), "standard");
  GEnumClass* standards = G_ENUM_CLASS(g_type_class_ref(spec->value_type));
  g_object_get(afeat, "model-file", &afile, "hop", &ahop, nullptr);
  g_object_get(vfeat, "model-file", &vfile, "hop", &vhop, nullptr);
  EXPECT_STREQ(g_enum_get_value(standards, standard)->value_nick, "atsc-is191");
  g_type_class_unref(standards);
  EXPECT_EQ(max_offset, 300u);
  EXPECT_EQ(context, 2000u);
  EXPECT_EQ(interval, 500u);
  EXPECT_EQ(min_confidence, 0.25);
  EXPECT_STREQ(afile, "/some/model.avts");
  EXPECT_STREQ(vfile, "/some/model.avts");
  EXPECT_EQ(ahop, 80u);
  EXPECT_EQ(vhop, 400u);
  // Read back through the bin, too.
  guint bin_max_offset = 0;
  g_object_get(bin, "max-offset", &bin_max_offset, nullptr);
  EXPECT_EQ(bin_max_offset, 300u);
  for (const char* name : {"audio-queue", "video-queue"}) {
    GstElement* queue = gst_bin_get_by_name(GST_BIN(bin), name);
    ASSERT_NE(queue, nullptr);
    gint leaky = 0;
    g_object_get(queue, "leaky", &leaky, nullptr);
    EXPECT_EQ(leaky, 2) << name << " should leak downstream (drop old media)";
    gst_object_unref(queue);
  }
  g_free(afile);
  g_free(vfile);
  for (GstElement* c : {sync, afeat, vfeat}) gst_object_unref(c);
  gst_object_unref(gst_object_ref_sink(bin));
}

TEST_F(SyncBin, PassThroughIsBitExactAndReportsReachTheBus) {
  BinPipeline p("");
  ASSERT_TRUE(p.run());
  ASSERT_GT(p.audio_in.size(), 100u);
  ASSERT_EQ(p.video_in.size(), 75u);
  expect_same_buffers(p.audio_in, p.audio_out, "audio");
  expect_same_buffers(p.video_in, p.video_out, "video");
  for (double d : delays_ms(p.audio_in, p.audio_out)) ASSERT_EQ(d, 0);
  for (double d : delays_ms(p.video_in, p.video_out)) ASSERT_EQ(d, 0);

  // 3 s, a report a second, then the summary; all from the inner avtssync, with the sign.
  const auto reports = p.named("avts-sync");
  EXPECT_GE(reports.size(), 2u);
  for (const Message& m : p.messages)
    if (gst_structure_has_name(m.fields, "avts-sync")) {
      EXPECT_EQ(m.source, "sync");
    }
  for (const GstStructure* r : reports) {
    EXPECT_TRUE(gst_structure_has_field(r, "offset-ms"));
    EXPECT_STREQ(gst_structure_get_string(r, "sign"), "positive = audio early");
  }
  ASSERT_EQ(p.named("avts-sync-summary").size(), 1u);
  EXPECT_TRUE(gst_structure_has_name(p.messages.back().fields, "avts-sync-summary"));
  EXPECT_TRUE(p.named("avts-sync-correction").empty());
}

TEST_F(SyncBin, PostMessagesOffKeepsReportsOffTheBus) {
  BinPipeline p("post-messages=false");
  ASSERT_TRUE(p.run());
  EXPECT_TRUE(p.named("avts-sync").empty());
  EXPECT_TRUE(p.named("avts-sync-summary").empty());
  expect_same_buffers(p.audio_in, p.audio_out, "audio");
}

// The real reports of the tiny model are noise: min-confidence=2 (the largest distance)
// makes every one inconclusive, so only the reports posted by the test count.
constexpr const char* kOnlyTestReports = "min-confidence=2.0 interval=3600000 ";

TEST_F(SyncBin, CorrectionDelaysEarlyAudioAtTheConfiguredRate) {
  BinPipeline p(std::string(kOnlyTestReports) + "correct=true correction-rate=20", 7);
  ASSERT_TRUE(p.run([&] {
    GstElement* sync = p.child("sync");
    for (int i = 0; i < 3; ++i) post_report(sync, 100);
    gst_object_unref(sync);
  }));
  // Audio 100 ms early: the audio leaves later, 20 ms per second of stream, from the
  // prerolled first buffer (running time 0) until 100 ms; the video is untouched.
  const std::vector<double> audio = delays_ms(p.audio_in, p.audio_out);
  ASSERT_FALSE(audio.empty());
  for (size_t i = 0; i < audio.size(); ++i) {
    const double t = static_cast<double>(p.audio_in[i].running_time) / GST_SECOND;
    const double ideal = std::min(100.0, 20.0 * t);
    EXPECT_LE(audio[i], ideal + 1e-3) << "at " << t << " s";
    EXPECT_GE(audio[i], ideal - 1.0 - 1e-3) << "at " << t << " s";  // offsets move in 1 ms steps
    if (i > 0) {
      EXPECT_GE(audio[i], audio[i - 1]);
    }
  }
  EXPECT_EQ(audio.back(), 100.0);
  for (double d : delays_ms(p.video_in, p.video_out)) ASSERT_EQ(d, 0);
  expect_same_buffers(p.audio_in, p.audio_out, "audio");  // re-timed, not re-stamped
  expect_same_buffers(p.video_in, p.video_out, "video");

  const std::vector<Correction> c = corrections(p);
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(c.front().applied, 0);
  EXPECT_EQ(c.front().target, 100);
  EXPECT_FALSE(c.front().settled);
  EXPECT_EQ(c.back().applied, 100);
  EXPECT_TRUE(c.back().settled);
  for (size_t i = 1; i < c.size(); ++i) EXPECT_GE(c[i].applied, c[i - 1].applied);
  gdouble applied = 0;
  g_object_get(p.bin, "correction", &applied, nullptr);
  EXPECT_EQ(applied, 100);
}

TEST_F(SyncBin, LateAudioDelaysTheVideo) {
  // 10 s: the video runs ahead of the audio (unsynchronised sinks) by at most what the
  // analysis holds, so its last buffers leave after the audio-paced slew has landed.
  BinPipeline p(std::string(kOnlyTestReports) + "correct=true correction-rate=100", 10);
  ASSERT_TRUE(p.run([&] {
    GstElement* sync = p.child("sync");
    for (int i = 0; i < 3; ++i) post_report(sync, -80);
    gst_object_unref(sync);
  }));
  for (double d : delays_ms(p.audio_in, p.audio_out)) ASSERT_EQ(d, 0);
  const std::vector<double> video = delays_ms(p.video_in, p.video_out);
  ASSERT_FALSE(video.empty());
  for (size_t i = 1; i < video.size(); ++i) {
    EXPECT_GE(video[i], video[i - 1]);
    EXPECT_LE(video[i], 80);
  }
  EXPECT_EQ(video.back(), 80);
}

TEST_F(SyncBin, UnsureOrDisagreeingReportsAndCorrectOffDoNotCorrect) {
  for (const char* correct : {"correct=true", "correct=false"}) {
    BinPipeline p(std::string(kOnlyTestReports) + correct, 2);
    const bool on = std::string(correct) == "correct=true";
    ASSERT_TRUE(p.run([&] {
      GstElement* sync = p.child("sync");
      post_report(sync, 100);
      post_report(sync, 100, 0.5);  // unsure: the run of sure reports restarts
      post_report(sync, 100);
      post_report(sync, 100, 0.99, "inconclusive");
      post_report(sync, 100);
      post_report(sync, 300, 0.99, "fail", true);  // out of range
      post_report(sync, 100);
      post_report(sync, 200);  // disagree
      post_report(sync, 150);
      if (!on) {  // and three that would do it, but correct is off
        for (int i = 0; i < 3; ++i) post_report(sync, 100);
      }
      gst_object_unref(sync);
    }));
    EXPECT_TRUE(p.named("avts-sync-correction").empty()) << correct;
    for (double d : delays_ms(p.audio_in, p.audio_out)) ASSERT_EQ(d, 0) << correct;
    for (double d : delays_ms(p.video_in, p.video_out)) ASSERT_EQ(d, 0) << correct;
  }
}

TEST_F(SyncBin, CyclesBetweenNullAndPlaying) {
  BinPipeline p("leaky=true interval=500", 2, /*live=*/true);
  for (int i = 0; i < 3; ++i) {
    ASSERT_NE(gst_element_set_state(p.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    g_usleep(300 * 1000);
    ASSERT_EQ(gst_element_set_state(p.pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  }
  // Still works: a whole live run to EOS, with reports.
  p.messages.clear();
  gst_element_set_state(p.pipeline, GST_STATE_PLAYING);
  ASSERT_TRUE(p.wait_eos());
  EXPECT_GE(p.named("avts-sync").size(), 2u);
  EXPECT_EQ(p.named("avts-sync-summary").size(), 1u);
}

TEST_F(SyncBin, OneInputAloneRunsToEos) {
  // Audio only, then video only: the input that never starts must not hold the analysis
  // (and so the pipeline's EOS) forever; the summary says there was nothing to judge.
  for (const char* input : {"audiotestsrc num-buffers=100 ! s.audio_sink s.audio_src ! fakesink",
                            "videotestsrc num-buffers=50 ! video/x-raw,width=64,height=48 ! s.video_sink "
                            "s.video_src ! fakesink"}) {
    gchar* description =
        g_strdup_printf("avtssyncbin name=s model-file=\"%s\" %s", TinyModel::get().path().c_str(), input);
    GstElement* pipeline = gst_parse_launch(description, nullptr);
    g_free(description);
    ASSERT_NE(pipeline, nullptr);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(pipeline);
    bool eos = false;
    std::string summary_status;
    while (GstMessage* m = gst_bus_timed_pop_filtered(
               bus, 30 * GST_SECOND,
               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
      const GstMessageType type = GST_MESSAGE_TYPE(m);
      const GstStructure* s = gst_message_get_structure(m);
      if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "avts-sync-summary"))
        summary_status = gst_structure_get_string(s, "status");
      eos = type == GST_MESSAGE_EOS;
      gst_message_unref(m);
      if (type != GST_MESSAGE_ELEMENT) break;
    }
    EXPECT_TRUE(eos) << input;
    EXPECT_EQ(summary_status, "inconclusive") << input;
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
}

// face-track=true runs the tracker on the analysed frames (off: they pass it untouched); a
// picture without a face falls back to the model's region and never stops the pipeline.
TEST_F(SyncBin, FaceTrackOnPicturesWithoutFacesRunsToEos) {
  GstElement* bin = gst_element_factory_make("avtssyncbin", nullptr);
  gboolean on = TRUE;
  g_object_get(bin, "face-track", &on, nullptr);
  EXPECT_FALSE(on);
  g_object_set(bin, "face-track", TRUE, nullptr);
  g_object_get(bin, "face-track", &on, nullptr);
  EXPECT_TRUE(on);
  gst_object_unref(bin);

  gchar* description = g_strdup_printf(
      "avtssyncbin name=s face-track=true model-file=\"%s\" audiotestsrc num-buffers=200 ! s.audio_sink "
      "s.audio_src ! fakesink videotestsrc num-buffers=100 ! video/x-raw,width=160,height=120 ! s.video_sink "
      "s.video_src ! fakesink",
      TinyModel::get().path().c_str());
  GstElement* pipeline = gst_parse_launch(description, nullptr);
  g_free(description);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  bool eos = false, summary = false;
  while (GstMessage* m = gst_bus_timed_pop_filtered(
             bus, 60 * GST_SECOND,
             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
    const GstMessageType type = GST_MESSAGE_TYPE(m);
    summary |= type == GST_MESSAGE_ELEMENT && gst_structure_has_name(gst_message_get_structure(m), "avts-sync-summary");
    eos = type == GST_MESSAGE_EOS;
    gst_message_unref(m);
    if (type != GST_MESSAGE_ELEMENT) break;
  }
  EXPECT_TRUE(eos);
  EXPECT_TRUE(summary);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

TEST_F(SyncBin, MissingModelIsAnErrorNamingTheFile) {
  GstElement* bin = gst_element_factory_make("avtssyncbin", nullptr);
  ASSERT_NE(bin, nullptr);
  g_object_set(bin, "model-file", "/nonexistent/avts/model.avts", nullptr);
  ErrorMessage error;
  EXPECT_EQ(set_state_in_pipeline(bin, GST_STATE_PLAYING, &error), GST_STATE_CHANGE_FAILURE);
  EXPECT_TRUE(error.posted);
  EXPECT_NE(error.text.find("/nonexistent/avts/model.avts"), std::string::npos) << error.text;

  g_object_set(bin, "model-file", nullptr, nullptr);
  ErrorMessage unset;
  EXPECT_EQ(set_state_in_pipeline(bin, GST_STATE_READY, &unset), GST_STATE_CHANGE_FAILURE);
  EXPECT_TRUE(unset.posted);
  EXPECT_NE(unset.text.find("model"), std::string::npos) << unset.text;
  gst_object_unref(bin);
}
