// avtsvideofeat in a GstHarness: properties, caps, strides, frame rates, gaps, EOS, errors.
#include <gst/video/video.h>

#include <random>

#include "avts/face.h"

#include "element_test.h"

using namespace avts_test;

namespace {

// RGB frames of one size; frame content `c` is a fixed random image.
class FrameMaker {
 public:
  FrameMaker(int width, int height) { gst_video_info_set_format(&info_, GST_VIDEO_FORMAT_RGB, width, height); }
  std::string caps(const char* framerate) const {
    return "video/x-raw, format=(string)RGB, width=(int)" + std::to_string(info_.width) + ", height=(int)" +
           std::to_string(info_.height) + ", framerate=(fraction)" + framerate;
  }
  const GstVideoInfo& info() const { return info_; }

  GstBuffer* frame(int content, GstClockTime pts, GstClockTime duration) const {
    GstBuffer* b = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info_), nullptr);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_WRITE);
    std::mt19937 rng(1000 + content);
    for (gsize i = 0; i < map.size; ++i) map.data[i] = static_cast<guint8>(rng() & 0xff);
    gst_buffer_unmap(b, &map);
    GST_BUFFER_PTS(b) = pts;
    GST_BUFFER_DURATION(b) = duration;
    return b;
  }

 private:
  GstVideoInfo info_;
};

GstHarness* video_harness(const FrameMaker& maker, const char* framerate, guint hop_ms = 200, guint batch = 4) {
  GstElement* e = make_element("avtsvideofeat");
  g_object_set(e, "hop", hop_ms, "batch-size", batch, nullptr);
  GstHarness* h = harness(e);
  gst_harness_set_src_caps_str(h, maker.caps(framerate).c_str());
  return h;
}

// Pushes `n` frames at `fps`, the first at t0, frame k showing content k.
void push_frames(GstHarness* h, const FrameMaker& maker, int fps, int n, GstClockTime t0 = 0) {
  for (int k = 0; k < n; ++k) {
    const GstClockTime pts = t0 + gst_util_uint64_scale(k, GST_SECOND, fps);
    const GstClockTime next = t0 + gst_util_uint64_scale(k + 1, GST_SECOND, fps);
    ASSERT_EQ(gst_harness_push(h, maker.frame(k, pts, next - pts)), GST_FLOW_OK);
  }
}

class VideoFeat : public ElementTest {};

TEST_F(VideoFeat, PropertiesAndDocs) {
  GstElement* e = gst_element_factory_make("avtsvideofeat", nullptr);
  ASSERT_NE(e, nullptr);
  guint hop = 0, batch = 0;
  gchar* layer = nullptr;
  g_object_get(e, "hop", &hop, "batch-size", &batch, "layer", &layer, nullptr);
  EXPECT_EQ(hop, 200u);
  EXPECT_EQ(batch, 4u);
  EXPECT_STREQ(layer, "embedding");
  g_free(layer);
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(e);
  EXPECT_STREQ(gst_element_class_get_metadata(klass, GST_ELEMENT_METADATA_KLASS), "Filter/Analyzer/Video");
  expect_documented(e);
  gst_object_unref(e);
}

TEST_F(VideoFeat, AcceptsRgb360x288At30fpsAndDescribesItsOutput) {
  const FrameMaker maker(360, 288);
  GstHarness* h = video_harness(maker, "30/1");
  push_frames(h, maker, 30, 60);  // 2 s
  gst_harness_push_event(h, gst_event_new_eos());

  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  ASSERT_NE(caps, nullptr);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  EXPECT_TRUE(gst_structure_has_name(s, "application/x-avts-features"));
  EXPECT_EQ(caps_string(s, "modality"), "video");
  EXPECT_EQ(caps_string(s, "layer"), "embedding");
  EXPECT_EQ(caps_string(s, "model-id"), TinyModel::get().id());
  int dim = 0;
  guint64 hop = 0, window = 0;
  EXPECT_TRUE(gst_structure_get_int(s, "dim", &dim));
  EXPECT_TRUE(gst_structure_get_uint64(s, "hop", &hop));
  EXPECT_TRUE(gst_structure_get_uint64(s, "window", &window));
  EXPECT_EQ(dim, 16);
  EXPECT_EQ(hop, 200 * kMs);
  EXPECT_EQ(window, GST_SECOND);
  gst_caps_unref(caps);

  const Output out = pull_all(h, 16);
  // 1 s clips every 200 ms in 2 s: starts 0.0 .. 1.0 s.
  EXPECT_EQ(out.rows(), 6u);
  ASSERT_FALSE(out.pts.empty());
  EXPECT_EQ(out.pts.front(), 0u);
  for (size_t i = 0; i < out.pts.size(); ++i) {
    EXPECT_EQ(out.duration[i], out.n[i] * 200 * kMs);
    EXPECT_EQ(out.discont[i], i == 0);
    if (i > 0) {
      EXPECT_EQ(out.pts[i], out.pts[i - 1] + out.duration[i - 1]);
    }
  }
  gst_harness_teardown(h);
}

TEST_F(VideoFeat, RowsMatchTheLibraryFeaturizerWithPaddedStrides) {
  const FrameMaker maker(358, 200);  // 1074 bytes a row, 1076 with GStreamer's padding
  ASSERT_EQ(GST_VIDEO_INFO_PLANE_STRIDE(&maker.info(), 0), 1076);
  GstHarness* h = video_harness(maker, "25/1", 120, 3);
  push_frames(h, maker, 25, 45);
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);

  avts::FeaturizerOptions o;
  o.hop_ns = 120 * kMs;
  o.batch_size = 3;
  avts::VideoFeaturizer f(TinyModel::get().model(), o);
  std::vector<avts::FeatureRows> rows;
  for (int k = 0; k < 45; ++k) {
    GstBuffer* b = maker.frame(k, k * 40 * kMs, 40 * kMs);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    f.push(k * 40 * kMs, avts::RgbImage{map.data, 358, 200, 1076}, rows, 40 * kMs);
    gst_buffer_unmap(b, &map);
    gst_buffer_unref(b);
  }
  f.drain(rows);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(out.values, flatten(rows));
  gst_harness_teardown(h);
}

// A segment that starts at 80 ms (an MP4's B-frame delay): clips start on multiples of the
// hop in running time, 80 ms + k * hop in timestamps, in line with the audio's windows.
TEST_F(VideoFeat, ClipsSitOnTheHopGridInRunningTime) {
  const FrameMaker maker(64, 48);
  GstHarness* h = video_harness(maker, "25/1");
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = segment.time = 80 * kMs;
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  push_frames(h, maker, 25, 50, 80 * kMs);
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);
  ASSERT_GE(out.pts.size(), 1u);
  EXPECT_EQ(out.pts.front(), 80 * kMs);
  for (size_t i = 0; i < out.pts.size(); ++i)
    EXPECT_EQ(gst_segment_to_running_time(&segment, GST_FORMAT_TIME, out.pts[i]) % (200 * kMs), 0u) << i;
  gst_harness_teardown(h);
}

// Faces from an upstream detector (region-of-interest metas made by hand here, as the ONNX
// detector of gst-plugins-bad or DeepStream would attach them): the network looks at the
// chosen face's mouth, exactly as the library featurizer does with that face's mouth region.
TEST_F(VideoFeat, FacesOnTheBuffersMoveTheCropToTheMouth) {
  const FrameMaker maker(320, 240);
  const auto face_at = [](int id, float x) {
    avts::TrackedFace t;
    t.id = id;
    t.face.x = x;
    t.face.y = 40;
    t.face.width = id == 7 ? 60 : 90;
    t.face.height = id == 7 ? 80 : 110;  // whole pixels, as a meta holds them
    return t;
  };
  const avts::TrackedFace small = face_at(7, 20), large = face_at(9, 200);
  const auto run = [&](gint face_id, bool with_faces) {
    GstElement* e = make_element("avtsvideofeat");
    g_object_set(e, "face-id", face_id, nullptr);
    GstHarness* h = harness(e);
    gst_harness_set_src_caps_str(h, maker.caps("25/1").c_str());
    for (int k = 0; k < 30; ++k) {
      GstBuffer* b = maker.frame(k, k * 40 * kMs, 40 * kMs);
      for (const avts::TrackedFace& t : {small, large})
        if (with_faces) {
          GstVideoRegionOfInterestMeta* m = gst_buffer_add_video_region_of_interest_meta(
              b, "face", static_cast<guint>(t.face.x), static_cast<guint>(t.face.y), static_cast<guint>(t.face.width),
              static_cast<guint>(t.face.height));
          m->id = t.id;
        }
      EXPECT_EQ(gst_harness_push(h, b), GST_FLOW_OK);
    }
    gst_harness_push_event(h, gst_event_new_eos());
    const Output out = pull_all(h, 16);
    gst_harness_teardown(h);
    return out.values;
  };
  const auto library = [&](const avts::TrackedFace* t) {
    avts::FeaturizerOptions o;
    o.hop_ns = 200 * kMs;  // the element's defaults
    o.batch_size = 4;
    avts::VideoFeaturizer f(TinyModel::get().model(), o);
    std::vector<avts::FeatureRows> rows;
    avts::FrameRegion region{};
    if (t) region = avts::mouth_region(t->face, 320, 240, TinyModel::get().model()->config().video);
    for (int k = 0; k < 30; ++k) {
      GstBuffer* b = maker.frame(k, k * 40 * kMs, 40 * kMs);
      GstMapInfo map;
      gst_buffer_map(b, &map, GST_MAP_READ);
      f.push(k * 40 * kMs, avts::RgbImage{map.data, 320, 240, 960}, rows, 40 * kMs, t ? &region : nullptr);
      gst_buffer_unmap(b, &map);
      gst_buffer_unref(b);
    }
    f.drain(rows);
    return flatten(rows);
  };
  const std::vector<float> largest = run(-1, true), chosen = run(7, true), none = run(-1, false);
  ASSERT_FALSE(largest.empty());
  EXPECT_EQ(largest, library(&large));  // by default the largest face
  EXPECT_EQ(chosen, library(&small));   // face-id picks one
  EXPECT_EQ(none, library(nullptr));    // no faces: the model's fixed region
  EXPECT_NE(largest, none);
  EXPECT_NE(largest, chosen);
}

// A model trained on mouth crops (framing "face") fed frames without faces: one warning that
// says to insert the tracker, and no features (it judges no picture without a mouth).
TEST_F(VideoFeat, AFaceModelWithoutFacesWarnsOnce) {
  avts::ModelConfig c = TinyModel::get().model()->config();
  c.video.framing = "face";
  const std::string path = std::string(g_get_tmp_dir()) + "/avts-face-framing-tiny.avts";
  avts::Model::create(c, 3)->save(path);
  const FrameMaker maker(64, 48);
  GstElement* e = gst_element_factory_make("avtsvideofeat", nullptr);
  g_object_set(e, "model-file", path.c_str(), nullptr);
  GstHarness* h = harness(e);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, maker.caps("25/1").c_str());
  push_frames(h, maker, 25, 120);
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_all(h, 16).rows(), 0u);
  EXPECT_TRUE(got_eos(h));
  int warnings = 0;
  while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING)) {
    GError* err = nullptr;
    gst_message_parse_warning(m, &err, nullptr);
    EXPECT_NE(std::string(err->message).find("no faces"), std::string::npos) << err->message;
    g_error_free(err);
    gst_message_unref(m);
    ++warnings;
  }
  EXPECT_EQ(warnings, 1);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
  g_remove(path.c_str());
}

TEST_F(VideoFeat, VariableFrameRateIsResampledByTimestamp) {
  const FrameMaker maker(64, 48);
  GstHarness* h = video_harness(maker, "0/1");
  // Irregular spacing (17 .. 63 ms) over about 2 s, no durations.
  std::mt19937 rng(5);
  GstClockTime pts = 0;
  int k = 0;
  while (pts < 2 * GST_SECOND) {
    ASSERT_EQ(gst_harness_push(h, maker.frame(k++, pts, GST_CLOCK_TIME_NONE)), GST_FLOW_OK);
    pts += (17 + rng() % 47) * kMs;
  }
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);
  EXPECT_GE(out.rows(), 5u);
  for (size_t i = 0; i < out.pts.size(); ++i) EXPECT_EQ(out.pts[i] % (200 * kMs), 0u);
  gst_harness_teardown(h);
}

TEST_F(VideoFeat, RefusesOtherFormats) {
  for (const char* refused : {"video/x-raw, format=(string)I420, width=(int)64, height=(int)48, "
                              "framerate=(fraction)25/1",
                              "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
                              "layout=(string)interleaved"}) {
    GstHarness* h = harness(make_element("avtsvideofeat"));
    GstCaps* caps = gst_caps_from_string(refused);
    GstPad* sink = gst_element_get_static_pad(h->element, "sink");
    EXPECT_FALSE(gst_pad_query_accept_caps(sink, caps)) << refused;
    gst_object_unref(sink);
    // A sticky event is stored even when refused: the refusal shows when data flows.
    gst_harness_push_event(h, gst_event_new_caps(caps));
    gst_caps_unref(caps);
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_harness_push_event(h, gst_event_new_segment(&segment));
    EXPECT_EQ(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 64 * 48 * 3 / 2, nullptr)), GST_FLOW_NOT_NEGOTIATED);
    EXPECT_EQ(gst_pad_get_current_caps(h->sinkpad), nullptr);
    gst_harness_teardown(h);
  }
}

TEST_F(VideoFeat, JumpsOfMoreThanASecondMarkDiscont) {
  const FrameMaker maker(64, 48);
  GstHarness* h = video_harness(maker, "25/1");
  push_frames(h, maker, 25, 30);              // 0 .. 1.2 s
  push_frames(h, maker, 25, 30, 2600 * kMs);  // 1.4 s after the last frame
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);
  std::vector<GstClockTime> row_pts;
  std::vector<bool> row_discont;
  for (size_t i = 0; i < out.pts.size(); ++i)
    for (int r = 0; r < out.n[i]; ++r) {
      row_pts.push_back(out.pts[i] + r * 200 * kMs);
      row_discont.push_back(out.discont[i] && r == 0);
    }
  const std::vector<GstClockTime> expected_pts = {0, 200 * kMs, 2600 * kMs, 2800 * kMs};
  const std::vector<bool> expected_discont = {true, false, true, false};
  EXPECT_EQ(row_pts, expected_pts);
  EXPECT_EQ(row_discont, expected_discont);
  gst_harness_teardown(h);
}

TEST_F(VideoFeat, EosDrainsTheTailAndIsForwarded) {
  const FrameMaker maker(64, 48);
  GstHarness* h = video_harness(maker, "25/1");
  push_frames(h, maker, 25, 30);  // 1.2 s: clips at 0 and 200 ms, fewer than a batch
  EXPECT_EQ(gst_harness_buffers_in_queue(h), 0u);
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_all(h, 16).rows(), 2u);
  EXPECT_TRUE(got_eos(h));
  gst_harness_teardown(h);
}

TEST_F(VideoFeat, HopMustBeAMultipleOfTheFramePeriod) {
  GstElement* e = make_element("avtsvideofeat");
  g_object_set(e, "hop", 100u, nullptr);
  ErrorMessage error;
  EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(error.posted);
  EXPECT_NE(error.text.find("100 ms"), std::string::npos) << error.text;
  EXPECT_NE(error.text.find("40 ms"), std::string::npos) << error.text;

  g_object_set(e, "hop", 80u, nullptr);
  error = {};
  EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_SUCCESS);
  EXPECT_FALSE(error.posted);
  gst_object_unref(e);
}

TEST_F(VideoFeat, MissingModelIsAnErrorAndCyclingIsSafe) {
  GstElement* e = gst_element_factory_make("avtsvideofeat", nullptr);
  g_object_set(e, "model-file", "/nonexistent/other-model.avts", nullptr);
  ErrorMessage error;
  EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_PLAYING, &error), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(error.posted);
  EXPECT_NE(error.text.find("other-model.avts"), std::string::npos) << error.text;
  gst_object_unref(e);

  GstElement* pipeline = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipeline), make_element("avtsvideofeat"));
  for (int i = 0; i < 20; ++i) {
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << i;
    ASSERT_EQ(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS) << i;
  }
  gst_object_unref(pipeline);
}

}  // namespace
