// avtsaudiofeat in a GstHarness: properties, caps, timestamps, gaps, EOS, errors, states.
#include <gst/audio/audio.h>

#include <cmath>
#include <random>

#include "avts/error.h"
#include "avts/model.h"
#include "element_test.h"

using namespace avts_test;

namespace {

const char* kMono16k = "audio/x-raw, format=(string)" GST_AUDIO_NE(F32) ", rate=(int)16000, channels=(int)1, "
                       "layout=(string)interleaved";

std::vector<float> noise(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  std::vector<float> x(n);
  for (float& v : x) v = dist(rng);
  return x;
}

// Pushes mono 16 kHz samples in buffers of `chunk` samples, the first at t0.
void push_mono(GstHarness* h, const std::vector<float>& x, GstClockTime t0, size_t chunk = 1600, bool discont = false,
               bool timestamps = true) {
  for (size_t i = 0; i < x.size(); i += chunk) {
    const size_t n = std::min(chunk, x.size() - i);
    GstBuffer* b = gst_buffer_new_memdup(x.data() + i, n * sizeof(float));
    if (timestamps) {
      GST_BUFFER_PTS(b) = t0 + gst_util_uint64_scale(i, GST_SECOND, 16000);
      GST_BUFFER_DURATION(b) = gst_util_uint64_scale(n, GST_SECOND, 16000);
    }
    if (discont && i == 0) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DISCONT);
    ASSERT_EQ(gst_harness_push(h, b), GST_FLOW_OK);
  }
}

GstHarness* mono_harness(guint hop_ms, guint batch) {
  GstElement* e = make_element("avtsaudiofeat");
  g_object_set(e, "hop", hop_ms, "batch-size", batch, nullptr);
  GstHarness* h = harness(e);
  gst_harness_set_src_caps_str(h, kMono16k);
  return h;
}

class AudioFeat : public ElementTest {};

TEST_F(AudioFeat, PropertiesDefaultsRangesAndDocs) {
  GstElement* e = gst_element_factory_make("avtsaudiofeat", nullptr);
  ASSERT_NE(e, nullptr);
  gchar *file = nullptr, *device = nullptr, *layer = nullptr;
  guint hop = 0, batch = 0;
  g_object_get(e, "model-file", &file, "device", &device, "layer", &layer, "hop", &hop, "batch-size", &batch, nullptr);
  EXPECT_EQ(file, nullptr);
  EXPECT_STREQ(device, "cpu");
  EXPECT_STREQ(layer, "embedding");
  EXPECT_EQ(hop, 40u);
  EXPECT_EQ(batch, 8u);
  g_free(device);
  g_free(layer);

  GParamSpecUInt* hop_spec = G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "hop"));
  EXPECT_EQ(hop_spec->minimum, 10u);
  EXPECT_EQ(hop_spec->maximum, 10000u);
  GParamSpecUInt* batch_spec = G_PARAM_SPEC_UINT(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "batch-size"));
  EXPECT_EQ(batch_spec->minimum, 1u);
  EXPECT_EQ(batch_spec->maximum, 1024u);

  g_object_set(e, "hop", 120u, "batch-size", 3u, "layer", "layer2", nullptr);
  g_object_get(e, "hop", &hop, "batch-size", &batch, "layer", &layer, nullptr);
  EXPECT_EQ(hop, 120u);
  EXPECT_EQ(batch, 3u);
  EXPECT_STREQ(layer, "layer2");
  g_free(layer);
  // Out of range: GObject refuses the value (with a warning) and keeps the old one.
  GValue v = G_VALUE_INIT;
  g_value_init(&v, G_TYPE_UINT);
  g_value_set_uint(&v, 5);
  EXPECT_TRUE(g_param_value_validate(G_PARAM_SPEC(hop_spec), &v));  // 5 ms was clamped
  EXPECT_EQ(g_value_get_uint(&v), 10u);
  g_object_set(e, "hop", 20000u, nullptr);
  g_object_get(e, "hop", &hop, nullptr);
  EXPECT_EQ(hop, 120u);

  GstElementClass* klass = GST_ELEMENT_GET_CLASS(e);
  EXPECT_STREQ(gst_element_class_get_metadata(klass, GST_ELEMENT_METADATA_KLASS), "Filter/Analyzer/Audio");
  expect_documented(e);
  gst_object_unref(e);
}

TEST_F(AudioFeat, ConvertsS16Stereo44kAndDescribesItsOutput) {
  GstHarness* h = harness(make_element("avtsaudiofeat"));
  gst_harness_set_src_caps_str(h,
                               "audio/x-raw, format=(string)S16LE, rate=(int)44100, channels=(int)2, "
                               "layout=(string)interleaved");
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> sample(-8000, 8000);
  for (int i = 0; i < 30; ++i) {  // 3 s in 100 ms buffers
    std::vector<int16_t> pcm(4410 * 2);
    for (auto& s : pcm) s = static_cast<int16_t>(sample(rng));
    GstBuffer* b = gst_buffer_new_memdup(pcm.data(), pcm.size() * sizeof(int16_t));
    GST_BUFFER_PTS(b) = i * 100 * kMs;
    GST_BUFFER_DURATION(b) = 100 * kMs;
    ASSERT_EQ(gst_harness_push(h, b), GST_FLOW_OK);
  }
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));

  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  ASSERT_NE(caps, nullptr);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  EXPECT_TRUE(gst_structure_has_name(s, "application/x-avts-features"));
  EXPECT_EQ(caps_string(s, "modality"), "audio");
  EXPECT_EQ(caps_string(s, "layer"), "embedding");
  EXPECT_EQ(caps_string(s, "model-id"), TinyModel::get().id());
  int dim = 0;
  guint64 hop = 0, window = 0;
  EXPECT_TRUE(gst_structure_get_int(s, "dim", &dim));
  EXPECT_TRUE(gst_structure_get_uint64(s, "hop", &hop));
  EXPECT_TRUE(gst_structure_get_uint64(s, "window", &window));
  EXPECT_EQ(dim, 16);
  EXPECT_EQ(hop, 40 * kMs);
  EXPECT_EQ(window, GST_SECOND);
  gst_caps_unref(caps);

  const Output out = pull_all(h, 16);
  // 3 s of audio, 1 s windows every 40 ms: starts 0.00 .. 2.00 s.
  EXPECT_EQ(out.rows(), 51u);
  for (size_t r = 0; r < out.rows(); ++r) {
    double norm = 0;
    for (int j = 0; j < 16; ++j) norm += out.values[r * 16 + j] * out.values[r * 16 + j];
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-4) << r;
  }
  gst_harness_teardown(h);
}

TEST_F(AudioFeat, RowsMatchTheLibraryFeaturizer) {
  const auto x = noise(2 * 16000, 4);
  GstHarness* h = mono_harness(80, 3);
  push_mono(h, x, 0, 1000);
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);

  avts::FeaturizerOptions o;
  o.hop_ns = 80 * kMs;
  o.batch_size = 3;
  avts::AudioFeaturizer f(TinyModel::get().model(), o);
  std::vector<avts::FeatureRows> rows;
  f.push(0, x.data(), x.size(), rows);
  f.drain(rows);
  EXPECT_EQ(out.values, flatten(rows));
  gst_harness_teardown(h);
}

TEST_F(AudioFeat, TimestampsOnTheGridContiguousWithDurations) {
  GstHarness* h = mono_harness(80, 4);
  push_mono(h, noise(3 * 16000, 5), 30 * kMs);  // first sample at 30 ms
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);
  ASSERT_GE(out.pts.size(), 3u);
  EXPECT_EQ(out.pts.front(), 80 * kMs);  // first multiple of the hop after 30 ms
  for (size_t i = 0; i < out.pts.size(); ++i) {
    EXPECT_EQ(out.pts[i] % (80 * kMs), 0u) << i;
    EXPECT_EQ(out.duration[i], out.n[i] * 80 * kMs) << i;
    EXPECT_LE(out.n[i], 4);
    EXPECT_EQ(out.discont[i], i == 0) << i;
    if (i > 0) {
      EXPECT_EQ(out.pts[i], out.pts[i - 1] + out.duration[i - 1]) << i;
    }
  }
  // 2.97 s after the first window start: windows at 0.08 .. 2.00 s.
  EXPECT_EQ(out.rows(), 25u);
  gst_harness_teardown(h);
}

// A segment that starts at 64 ms (an MP4's AAC priming: 1024 samples at 16 kHz): windows start
// on multiples of the hop in running time, 64 ms + k * hop in timestamps, so that they line up
// with the video windows of a segment that starts elsewhere.
TEST_F(AudioFeat, WindowsSitOnTheHopGridInRunningTime) {
  GstHarness* h = mono_harness(80, 4);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = segment.time = 64 * kMs;
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  push_mono(h, noise(2 * 16000, 5), 64 * kMs);
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);
  ASSERT_GE(out.pts.size(), 2u);
  EXPECT_EQ(out.pts.front(), 64 * kMs);
  for (size_t i = 0; i < out.pts.size(); ++i)
    EXPECT_EQ(gst_segment_to_running_time(&segment, GST_FORMAT_TIME, out.pts[i]) % (80 * kMs), 0u) << i;
  gst_harness_teardown(h);
}

TEST_F(AudioFeat, BuffersWithoutTimestampsContinueFromTheSegmentStart) {
  const auto x = noise(2 * 16000, 6);
  GstHarness* a = mono_harness(40, 8);
  push_mono(a, x, 0);
  gst_harness_push_event(a, gst_event_new_eos());
  GstHarness* b = mono_harness(40, 8);
  push_mono(b, x, 0, 1600, false, /*timestamps=*/false);
  gst_harness_push_event(b, gst_event_new_eos());
  const Output with = pull_all(a, 16), without = pull_all(b, 16);
  EXPECT_EQ(with.pts, without.pts);
  EXPECT_EQ(with.values, without.values);
  EXPECT_EQ(with.rows(), 26u);
  gst_harness_teardown(a);
  gst_harness_teardown(b);
}

TEST_F(AudioFeat, GapsMarkDiscontSmallGapsDoNot) {
  GstHarness* h = mono_harness(40, 8);
  push_mono(h, noise(24000, 7), 0);                       // 0 .. 1.5 s
  push_mono(h, noise(24000, 8), 3000 * kMs, 1600, true);  // 1.5 s later, DISCONT
  push_mono(h, noise(24000, 9), 4550 * kMs);              // 50 ms gap: filled
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);
  // First run: windows at 0 .. 0.48 s (13); then 3.0 .. 5.04 s, 50 ms of silence inside (52).
  EXPECT_EQ(out.rows(), 13u + 52u);
  std::vector<GstClockTime> discont_at;
  for (size_t i = 0; i < out.pts.size(); ++i)
    if (out.discont[i]) discont_at.push_back(out.pts[i]);
  const std::vector<GstClockTime> expected = {0, 3000 * kMs};
  EXPECT_EQ(discont_at, expected);
  gst_harness_teardown(h);
}

TEST_F(AudioFeat, EosDrainsTheTailAndIsForwarded) {
  GstHarness* h = mono_harness(40, 8);
  push_mono(h, noise(19200, 10), 0);  // 1.2 s: 6 windows, fewer than a batch
  EXPECT_EQ(gst_harness_buffers_in_queue(h), 0u);
  EXPECT_FALSE(got_eos(h));
  gst_harness_push_event(h, gst_event_new_eos());
  const Output out = pull_all(h, 16);
  EXPECT_EQ(out.rows(), 6u);
  EXPECT_TRUE(got_eos(h));
  gst_harness_teardown(h);
}

TEST_F(AudioFeat, FlushForgetsPendingAudio) {
  const auto x = noise(32000, 11);
  GstHarness* h = mono_harness(40, 8);
  push_mono(h, noise(24000, 12), 0);  // 13 windows: 8 out, 5 pending
  EXPECT_EQ(pull_all(h, 16).rows(), 8u);
  gst_harness_push_event(h, gst_event_new_flush_start());
  gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(h, gst_event_new_segment(&segment));
  push_mono(h, x, 0);
  gst_harness_push_event(h, gst_event_new_eos());
  const Output flushed = pull_all(h, 16);

  GstHarness* fresh = mono_harness(40, 8);
  push_mono(fresh, x, 0);
  gst_harness_push_event(fresh, gst_event_new_eos());
  EXPECT_EQ(flushed.values, pull_all(fresh, 16).values);
  gst_harness_teardown(h);
  gst_harness_teardown(fresh);
}

TEST_F(AudioFeat, NonInterleavedEqualsInterleaved) {
  // Decoders such as avdec_mp2float and avdec_aac give planar audio: same result as packed.
  const std::vector<float> left = noise(32000, 21), right = noise(32000, 22);
  std::vector<float> packed(64000), planar(64000);
  for (size_t i = 0; i < 32000; ++i) {
    packed[2 * i] = planar[i] = left[i];
    packed[2 * i + 1] = planar[32000 + i] = right[i];
  }
  Output out[2];
  const char* layouts[2] = {"interleaved", "non-interleaved"};
  for (int k = 0; k < 2; ++k) {
    GstHarness* h = harness(make_element("avtsaudiofeat"));
    const std::string caps = std::string("audio/x-raw, format=(string)" GST_AUDIO_NE(
                                 F32) ", rate=(int)16000, "
                                      "channels=(int)2, layout=(string)") +
                             layouts[k];
    gst_harness_set_src_caps_str(h, caps.c_str());
    GstBuffer* b = gst_buffer_new_memdup((k ? planar : packed).data(), 64000 * sizeof(float));
    if (k) {
      GstAudioInfo info;
      gst_audio_info_from_caps(&info, gst_pad_get_current_caps(h->srcpad));
      gst_buffer_add_audio_meta(b, &info, 32000, nullptr);  // planar buffers carry their layout
    }
    GST_BUFFER_PTS(b) = 0;
    ASSERT_EQ(gst_harness_push(h, b), GST_FLOW_OK) << layouts[k];
    gst_harness_push_event(h, gst_event_new_eos());
    out[k] = pull_all(h, 16);
    gst_harness_teardown(h);
  }
  EXPECT_EQ(out[0].rows(), 26u);
  EXPECT_EQ(out[0].values, out[1].values);
}

TEST_F(AudioFeat, RefusesNonAudioCaps) {
  for (const char* refused : {"application/foo", "video/x-raw, format=(string)RGB, width=(int)8, height=(int)8"}) {
    GstHarness* h = harness(make_element("avtsaudiofeat"));
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
    EXPECT_EQ(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 64, nullptr)), GST_FLOW_NOT_NEGOTIATED);
    EXPECT_EQ(gst_pad_get_current_caps(h->sinkpad), nullptr);
    gst_harness_teardown(h);
  }
}

TEST_F(AudioFeat, LatencyCoversWindowLookaheadAndBatch) {
  GstHarness* h = mono_harness(40, 8);
  // 1 s window + 15 ms log-mel lookahead + 7 more hops to fill the batch.
  EXPECT_EQ(gst_harness_query_latency(h), GST_SECOND + 15 * kMs + 7 * 40 * kMs);
  gst_harness_teardown(h);
}

TEST_F(AudioFeat, MissingModelFileIsAnErrorNamingTheFile) {
  GstElement* e = gst_element_factory_make("avtsaudiofeat", nullptr);
  g_object_set(e, "model-file", "/nonexistent/dir/missing-model.avts", nullptr);
  ErrorMessage error;
  EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_PLAYING, &error), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(error.posted);
  EXPECT_EQ(error.domain, GST_RESOURCE_ERROR);
  EXPECT_EQ(error.code, GST_RESOURCE_ERROR_NOT_FOUND);
  EXPECT_NE(error.text.find("missing-model.avts"), std::string::npos) << error.text;

  // A file that is not a model.
  const std::string junk = TinyModel::get().path() + ".junk";
  ASSERT_TRUE(g_file_set_contents(junk.c_str(), "not a model", -1, nullptr));
  g_object_set(e, "model-file", junk.c_str(), nullptr);
  error = {};
  EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(error.posted);
  EXPECT_NE(error.text.find(".junk"), std::string::npos) << error.text;
  g_remove(junk.c_str());

  // No model file at all.
  g_object_set(e, "model-file", nullptr, nullptr);
  error = {};
  EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(error.posted);
  EXPECT_NE(error.text.find("model file"), std::string::npos) << error.text;
  gst_object_unref(e);
}

TEST_F(AudioFeat, SettingsThatDoNotFitTheModelFailAtReady) {
  struct Case {
    guint hop;
    const char* layer;
    const char* mentioned;
  };
  for (const Case& c : {Case{15, "embedding", "15 ms"}, Case{40, "layer9", "layer9"}}) {
    GstElement* e = make_element("avtsaudiofeat");
    g_object_set(e, "hop", c.hop, "layer", c.layer, nullptr);
    ErrorMessage error;
    EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_FAILURE) << c.mentioned;
    ASSERT_TRUE(error.posted);
    EXPECT_NE((error.text + error.debug).find(c.mentioned), std::string::npos) << error.text << error.debug;
    gst_object_unref(e);
  }
}

TEST_F(AudioFeat, CudaDeviceOnACpuBuildIsAClearError) {
  GstElement* e = make_element("avtsaudiofeat");
  g_object_set(e, "device", "cuda", nullptr);
  ErrorMessage error;
  const GstStateChangeReturn ret = set_state_in_pipeline(e, GST_STATE_READY, &error);
  if (ret != GST_STATE_CHANGE_FAILURE) {
    gst_object_unref(e);
    GTEST_SKIP() << "this build has CUDA";
  }
  ASSERT_TRUE(error.posted);
  EXPECT_NE(error.text.find("cuda"), std::string::npos) << error.text;
  gst_object_unref(e);
}

TEST_F(AudioFeat, Float16OnTheCpuIsAClearError) {
  GstElement* e = make_element("avtsaudiofeat");
  gint precision = -1;
  g_object_get(e, "precision", &precision, nullptr);
  EXPECT_EQ(precision, static_cast<gint>(avts::Precision::Float32));
  // The enum is listed by name, as gst-launch and gst-inspect use it.
  gst_util_set_object_arg(G_OBJECT(e), "precision", "float16");
  g_object_get(e, "precision", &precision, nullptr);
  EXPECT_EQ(precision, static_cast<gint>(avts::Precision::Float16));
  ErrorMessage error;
  EXPECT_EQ(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_FAILURE);
  ASSERT_TRUE(error.posted);
  EXPECT_NE(error.text.find("precision float16 needs a CUDA device"), std::string::npos) << error.text;
  gst_object_unref(e);

  // bfloat16 runs on the CPU too.
  e = make_element("avtsaudiofeat");
  gst_util_set_object_arg(G_OBJECT(e), "precision", "bfloat16");
  EXPECT_NE(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);

  // float32 on the CPU: the default, and it loads.
  e = make_element("avtsaudiofeat");
  gst_util_set_object_arg(G_OBJECT(e), "precision", "float32");
  EXPECT_NE(set_state_in_pipeline(e, GST_STATE_READY, &error), GST_STATE_CHANGE_FAILURE);
  gst_object_unref(e);
}

TEST_F(AudioFeat, CyclesBetweenNullAndPlaying) {
  GstElement* e = make_element("avtsaudiofeat");
  GstElement* pipeline = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipeline), e);
  for (int i = 0; i < 25; ++i) {
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << i;
    ASSERT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, GST_CLOCK_TIME_NONE), GST_STATE_CHANGE_SUCCESS);
    ASSERT_EQ(gst_element_set_state(pipeline, i % 2 ? GST_STATE_NULL : GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);

  // And it still works after cycling with data in between.
  for (int i = 0; i < 3; ++i) {
    GstHarness* h = mono_harness(200, 2);
    push_mono(h, noise(20000, 13), 0);
    gst_harness_push_event(h, gst_event_new_eos());
    EXPECT_EQ(pull_all(h, 16).rows(), 2u);
    gst_harness_teardown(h);
  }
}

}  // namespace
