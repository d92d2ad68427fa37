// Shared by the element tests: a tiny model file, harness helpers and bus errors.
#pragma once

#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "avts/featurizer.h"
#include "avts/model.h"

namespace avts_test {

constexpr GstClockTime kMs = GST_MSECOND;

// A freshly initialised tiny model (16-wide embedding, 32 px video), saved in a temp dir.
class TinyModel {
 public:
  static TinyModel& get() {
    static TinyModel model;
    return model;
  }
  const std::string& path() const { return path_; }
  std::shared_ptr<const avts::Model> model() const { return model_; }
  const std::string& id() const { return model_->id(); }

 private:
  TinyModel() {
    avts::Model::set_threads(1);
    avts::ModelConfig c = avts::ModelConfig::preset_config("avts-compact");
    c.clip_seconds = 1.0;  // the window the tests' expectations are written for
    c.video.resize = 32;
    c.video.crop = 32;
    c.video_base_width = 4;
    c.audio_base_width = 4;
    c.embedding_dim = 16;
    model_ = avts::Model::create(c, 11);
    gchar* dir = g_dir_make_tmp("avts-gst-test-XXXXXX", nullptr);
    dir_ = dir;
    g_free(dir);
    path_ = dir_ + "/tiny.avts";
    model_->save(path_);
  }
  ~TinyModel() {
    g_remove(path_.c_str());
    g_rmdir(dir_.c_str());
  }
  std::shared_ptr<const avts::Model> model_;
  std::string dir_, path_;
};

class ElementTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gst_init(nullptr, nullptr);
    TinyModel::get();
  }
};

// The element `factory` with the tiny model and `props` ("name", value, ..., nullptr).
inline GstElement* make_element(const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  EXPECT_NE(e, nullptr) << factory << " not found: is GST_PLUGIN_PATH set to the build's gst/?";
  if (e) g_object_set(e, "model-file", TinyModel::get().path().c_str(), nullptr);
  return e;
}

// A harness (PLAYING) around an element already configured.
inline GstHarness* harness(GstElement* element) {
  GstHarness* h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  return h;
}

// What came out of the element: buffers, and the rows they hold.
struct Output {
  std::vector<GstClockTime> pts, duration;
  std::vector<bool> discont;
  std::vector<int> n;
  std::vector<float> values;
  int dim = 0;
  size_t rows() const { return dim ? values.size() / dim : 0; }
};

inline Output pull_all(GstHarness* h, int dim) {
  Output out;
  out.dim = dim;
  while (GstBuffer* b = gst_harness_try_pull(h)) {
    out.pts.push_back(GST_BUFFER_PTS(b));
    out.duration.push_back(GST_BUFFER_DURATION(b));
    out.discont.push_back(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
    const gsize size = gst_buffer_get_size(b);
    EXPECT_EQ(size % (dim * sizeof(float)), 0u);
    out.n.push_back(static_cast<int>(size / (dim * sizeof(float))));
    const size_t at = out.values.size();
    out.values.resize(at + size / sizeof(float));
    gst_buffer_extract(b, 0, out.values.data() + at, size);
    gst_buffer_unref(b);
  }
  return out;
}

// Every row of `rows` in order, flattened, for comparing with an element's output.
inline std::vector<float> flatten(const std::vector<avts::FeatureRows>& rows) {
  std::vector<float> v;
  for (const auto& r : rows) v.insert(v.end(), r.data.begin(), r.data.end());
  return v;
}

// True when an EOS event came out of the harness.
inline bool got_eos(GstHarness* h) {
  bool eos = false;
  while (GstEvent* e = gst_harness_try_pull_event(h)) {
    eos |= GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
  }
  return eos;
}

struct ErrorMessage {
  bool posted = false;
  GQuark domain = 0;
  int code = 0;
  std::string text, debug;
};

// Sets `element` (alone in a pipeline) to `state`; returns the state change result and the
// first error posted on the bus.
inline GstStateChangeReturn set_state_in_pipeline(GstElement* element, GstState state, ErrorMessage* error) {
  GstElement* pipeline = gst_pipeline_new(nullptr);
  gst_bin_add(GST_BIN(pipeline), GST_ELEMENT(gst_object_ref(element)));
  const GstStateChangeReturn ret = gst_element_set_state(pipeline, state);
  GstBus* bus = gst_element_get_bus(pipeline);
  if (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(m, &err, &debug);
    error->posted = true;
    error->domain = err->domain;
    error->code = err->code;
    error->text = err->message;
    error->debug = debug ? debug : "";
    g_error_free(err);
    g_free(debug);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_bin_remove(GST_BIN(pipeline), element);
  gst_object_unref(pipeline);
  return ret;
}

inline std::string caps_string(const GstStructure* s, const char* field) {
  const gchar* v = gst_structure_get_string(s, field);
  return v ? v : "";
}

// The property's blurb is documentation: it must say something.
// As GStreamer's own elements: a description of one sentence, and (gst-inspect-1.0 shows it as
// "Example") a pipeline to start from.
inline void expect_metadata(GstElementClass* klass) {
  const std::string description = gst_element_class_get_metadata(klass, GST_ELEMENT_METADATA_DESCRIPTION);
  EXPECT_GT(description.size(), 30u);
  EXPECT_LT(description.size(), 160u) << description;
  EXPECT_EQ(description.find(". "), std::string::npos) << "more than one sentence: " << description;
  EXPECT_EQ(description.find('\n'), std::string::npos) << description;
  const gchar* example = gst_element_class_get_metadata(klass, "example");
  ASSERT_NE(example, nullptr) << "no example pipeline";
  EXPECT_EQ(std::string(example).rfind("gst-launch-1.0 ", 0), 0u) << example;
}

inline void expect_documented(GstElement* element) {
  guint n = 0;
  GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(element), &n);
  for (guint i = 0; i < n; ++i) {
    // The project's own properties; GStreamer's base classes document theirs.
    if (!g_str_has_prefix(g_type_name(specs[i]->owner_type), "GstAvts")) continue;
    const gchar* blurb = g_param_spec_get_blurb(specs[i]);
    EXPECT_TRUE(blurb && strlen(blurb) > 40) << g_param_spec_get_name(specs[i]) << ": " << (blurb ? blurb : "");
  }
  g_free(specs);
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(element);
  expect_metadata(klass);
}

}  // namespace avts_test
