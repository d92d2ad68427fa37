// avtsfacetrack on real decoded video: GRID talking heads, two people side by side, frames
// without a face, television face crops (when ../shared/media-wild is there), a bad model.
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <cstdlib>
#include <map>
#include <set>

#include "avts/face.h"
#include "element_test.h"
#include "face_meta.h"

using namespace avts_test;

namespace {

std::string media(const std::string& name) {
  const char* dir = std::getenv("AVTS_TEST_MEDIA");
  return std::string(dir ? dir : "tests/media") + "/" + name;
}

// The faces of every frame that came out of `launch` (ending in "appsink name=out").
struct Frames {
  std::vector<std::vector<avts::TrackedFace>> faces;
  int width = 0, height = 0;
  std::string error;
};

Frames run(const std::string& launch) {
  Frames f;
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  EXPECT_EQ(err, nullptr) << (err ? err->message : "");
  if (err) {
    g_error_free(err);
    return f;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  g_object_set(sink, "sync", FALSE, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  for (;;) {
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 100 * GST_MSECOND);
    if (!sample) {
      if (gst_app_sink_is_eos(GST_APP_SINK(sink))) break;
      if (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
        GError* e = nullptr;
        gst_message_parse_error(m, &e, nullptr);
        f.error = e->message;
        g_error_free(e);
        gst_message_unref(m);
        break;
      }
      continue;
    }
    GstVideoInfo info;
    gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    f.width = GST_VIDEO_INFO_WIDTH(&info);
    f.height = GST_VIDEO_INFO_HEIGHT(&info);
    f.faces.push_back(avts_gst::faces_on(gst_sample_get_buffer(sample), g_quark_from_static_string("face")));
    gst_sample_unref(sample);
  }
  if (GstMessage* m = f.error.empty() ? gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR) : nullptr) {
    GError* e = nullptr;
    gst_message_parse_error(m, &e, nullptr);
    f.error = e->message;
    g_error_free(e);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return f;
}

std::string decode(const std::string& path) {
  std::string demux = path.size() > 4 && path.substr(path.size() - 4) == ".mpg"
                          ? "filesrc location=" + path + " ! mpegpsdemux ignore-scr=true ! decodebin"
                          : "filesrc location=" + path + " ! decodebin";
  return demux + " ! videoconvert ! video/x-raw,format=RGB";
}

class FaceTrack : public ElementTest {};

TEST_F(FaceTrack, PropertiesAndDocs) {
  GstElement* e = gst_element_factory_make("avtsfacetrack", nullptr);
  ASSERT_NE(e, nullptr);
  guint interval = 0, missed = 0;
  gdouble score = 0;
  g_object_get(e, "detect-interval", &interval, "max-missed", &missed, "min-score", &score, nullptr);
  EXPECT_EQ(interval, 5u);
  EXPECT_EQ(missed, 12u);
  EXPECT_DOUBLE_EQ(score, 0.6);
  expect_documented(e);
  gst_object_unref(e);
}

// GRID: one speaker, framed alike: one face in every frame, one id, and the mouth (from the
// landmarks) where the speaker's mouth is (s1: x 147-185, y 207-225 in frame 30; he barely
// moves).
TEST_F(FaceTrack, GridHasOneFaceInEveryFrameAndTheMouthStaysOnTheMouth) {
  const Frames f = run(decode(media("grid_s1_bbal8p.mpg")) + " ! avtsfacetrack ! appsink name=out");
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.faces.size(), 75u);
  for (size_t i = 0; i < f.faces.size(); ++i) {
    ASSERT_EQ(f.faces[i].size(), 1u) << "frame " << i;
    const avts::TrackedFace& t = f.faces[i][0];
    EXPECT_EQ(t.id, 1) << "frame " << i;
    ASSERT_TRUE(t.face.has_landmarks);
    const avts::FacePoint m = t.face.mouth();
    EXPECT_TRUE(m.x > 140 && m.x < 195 && m.y > 195 && m.y < 235) << "frame " << i << ": " << m.x << ", " << m.y;
  }
}

TEST_F(FaceTrack, GridWebmSpeakerToo) {
  const Frames f = run(decode(media("grid_s2_bbil4a.webm")) + " ! avtsfacetrack detect-interval=3 ! appsink name=out");
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_GT(f.faces.size(), 70u);
  for (size_t i = 0; i < f.faces.size(); ++i) {
    ASSERT_EQ(f.faces[i].size(), 1u) << "frame " << i;
    EXPECT_EQ(f.faces[i][0].id, 1);
    EXPECT_EQ(f.faces[i][0].detected, i % 3 == 0) << "frame " << i;
  }
}

// Two real recordings side by side (a two-person shot): two tracks, each keeping its id and
// its side of the picture.
TEST_F(FaceTrack, TwoPeopleGiveTwoTracksWithStableIds) {
  const std::string left = decode(media("grid_s1_bbal8p.mpg")) + ",width=360,height=288 ! queue ! c.sink_0 ";
  const std::string right = decode(media("grid_s2_bbil4a.webm")) +
                            " ! videoscale ! video/x-raw,format=RGB,width=288,height=288 ! queue ! c.sink_1 ";
  const Frames f =
      run("compositor name=c sink_1::xpos=360 ! video/x-raw,format=RGBA,width=648,height=288 ! "
          "videoconvert ! video/x-raw,format=RGB ! avtsfacetrack detect-size=648 ! appsink name=out " +
          left + right);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_GT(f.faces.size(), 70u);
  std::map<int, std::set<bool>> side_of;  // id -> left half?
  for (size_t i = 0; i < 70; ++i) {       // while both clips play (3 s at 25 fps)
    ASSERT_EQ(f.faces[i].size(), 2u) << "frame " << i;
    for (const avts::TrackedFace& t : f.faces[i]) side_of[t.id].insert(t.face.mouth().x < 360);
  }
  ASSERT_EQ(side_of.size(), 2u);
  for (const auto& [id, sides] : side_of) EXPECT_EQ(sides.size(), 1u) << "face " << id << " changed sides";
}

TEST_F(FaceTrack, NoFaceMeansNoMetaAndTheVideoPassesUnchanged) {
  const Frames f =
      run("videotestsrc num-buffers=20 pattern=smpte ! video/x-raw,format=RGB,width=320,height=240 ! "
          "avtsfacetrack ! appsink name=out");
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.faces.size(), 20u);
  for (const auto& faces : f.faces) EXPECT_TRUE(faces.empty());
}

TEST_F(FaceTrack, ABadModelFileIsAnErrorThatNamesIt) {
  const std::string bad = std::string(g_get_tmp_dir()) + "/avts-not-a-face-model.onnx";
  g_file_set_contents(bad.c_str(), "not onnx", -1, nullptr);
  const Frames f = run("videotestsrc num-buffers=2 ! video/x-raw,format=RGB ! avtsfacetrack model-file=" + bad +
                       " ! appsink name=out");
  EXPECT_NE(f.error.find("avts-not-a-face-model.onnx"), std::string::npos) << f.error;
  const Frames missing =
      run("videotestsrc num-buffers=2 ! video/x-raw,format=RGB ! avtsfacetrack "
          "model-file=/nonexistent/yunet.onnx ! appsink name=out");
  EXPECT_NE(missing.error.find("does not exist"), std::string::npos) << missing.error;
  g_remove(bad.c_str());
}

// Television face crops (LRS2 / LRS3, validation media kept outside the repository): a face
// in every frame. Runs where the media collection is checked out beside the project.
TEST_F(FaceTrack, TelevisionFaceCropsHaveAFaceInEveryFrame) {
  const char* dir = std::getenv("AVTS_WILD_MEDIA");
  if (!dir || !g_file_test(dir, G_FILE_TEST_IS_DIR)) GTEST_SKIP() << "no media-wild folder (AVTS_WILD_MEDIA)";
  GDir* d = g_dir_open(dir, 0, nullptr);
  ASSERT_NE(d, nullptr);
  int files = 0;
  while (const gchar* name = g_dir_read_name(d)) {
    if (!g_str_has_suffix(name, ".mp4")) continue;
    const Frames f = run(decode(std::string(dir) + "/" + name) + " ! avtsfacetrack ! appsink name=out");
    ASSERT_TRUE(f.error.empty()) << name << ": " << f.error;
    ASSERT_FALSE(f.faces.empty()) << name;
    size_t with_face = 0;
    for (const auto& faces : f.faces) with_face += !faces.empty();
    EXPECT_EQ(with_face, f.faces.size()) << name;
    ++files;
  }
  g_dir_close(d);
  EXPECT_GT(files, 50);
}

}  // namespace
