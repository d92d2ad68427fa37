// lib/face: the mouth region of a face, YuNet on a real GRID frame, and the tracker's ids,
// smoothing, misses and cuts on scripted detections.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "avts/error.h"
#include "avts/face.h"
#include "avts/face_tracker.h"

namespace {

using avts::Face;
using avts::FaceTracker;
using avts::FaceTrackerOptions;
using avts::RgbImage;

struct Picture {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  RgbImage image() const { return {rgb.data(), width, height, 3 * width}; }
};

// A binary PPM (P6, maxval 255) as the media tools write it.
Picture read_ppm(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string magic;
  int maxval = 0;
  Picture p;
  in >> magic >> p.width >> p.height >> maxval;
  in.get();
  if (magic != "P6" || maxval != 255) throw std::runtime_error(path + ": not a binary 8-bit PPM");
  p.rgb.resize(static_cast<size_t>(3) * p.width * p.height);
  in.read(reinterpret_cast<char*>(p.rgb.data()), static_cast<std::streamsize>(p.rgb.size()));
  if (!in) throw std::runtime_error(path + ": truncated");
  return p;
}

std::string media(const std::string& name) {
  const char* dir = std::getenv("AVTS_TEST_MEDIA");
  return std::string(dir ? dir : "tests/media") + "/" + name;
}

// GRID s1, frame 30 (360x288); the mouth, read off the picture by eye: x 147-185, y 207-225.
Picture grid_frame() { return read_ppm(media("frames/grid_s1_bbal8p_frame30.ppm")); }

Picture side_by_side(const Picture& a, const Picture& b) {
  Picture p{a.width + b.width, a.height, {}};
  p.rgb.resize(static_cast<size_t>(3) * p.width * p.height);
  for (int y = 0; y < a.height; ++y) {
    std::copy_n(&a.rgb[3 * static_cast<size_t>(y) * a.width], 3 * a.width,
                &p.rgb[3 * static_cast<size_t>(y) * p.width]);
    std::copy_n(&b.rgb[3 * static_cast<size_t>(y) * b.width], 3 * b.width,
                &p.rgb[3 * (static_cast<size_t>(y) * p.width + a.width)]);
  }
  return p;
}

Face box(float x, float y, float w, float h) {
  Face f;
  f.x = x;
  f.y = y;
  f.width = w;
  f.height = h;
  f.score = 0.9f;
  return f;
}

avts::VideoFrontEndConfig front_end() {
  avts::VideoFrontEndConfig c;
  c.resize = 72;
  c.crop = 64;
  return c;
}

TEST(MouthRegion, CentredOnTheMouthCornersAndSizedByTheFace) {
  Face f = box(100, 100, 100, 130);
  f.has_landmarks = true;
  f.landmarks[Face::kMouthRight] = {130, 200};
  f.landmarks[Face::kMouthLeft] = {170, 204};
  const auto r = avts::mouth_region(f, 400, 400, front_end());
  const double side = avts::kMouthViewFaceWidths * 100 * 72 / 64;  // what the front end keeps is 1.1 face widths
  EXPECT_NEAR(r[2] * 400, side, 1e-6);
  EXPECT_NEAR(r[3] * 400, side, 1e-6);
  EXPECT_NEAR((r[0] + r[2] / 2) * 400, 150, 1e-6);
  EXPECT_NEAR((r[1] + r[3] / 2) * 400, 202, 1e-6);
}

TEST(MouthRegion, FromABoxAloneTheMouthIsInItsLowerMiddle) {
  const Face f = box(100, 100, 100, 100);
  EXPECT_FLOAT_EQ(f.mouth().x, 150);
  EXPECT_FLOAT_EQ(f.mouth().y, 174);
}

TEST(MouthRegion, StaysInsideTheFrame) {
  const Face edge = box(-20, 300, 100, 100);  // mouth near the bottom-left corner
  const auto r = avts::mouth_region(edge, 400, 400, front_end());
  EXPECT_GE(r[0], 0.0);
  EXPECT_GE(r[1], 0.0);
  EXPECT_LE(r[0] + r[2], 1.0 + 1e-9);
  EXPECT_LE(r[1] + r[3], 1.0 + 1e-9);
  const Face huge = box(0, 0, 400, 400);  // a face larger than the frame: the whole frame
  const auto all = avts::mouth_region(huge, 300, 200, front_end());
  EXPECT_NEAR(all[3], 1.0, 1e-9);
  EXPECT_NEAR(all[2] * 300, 200, 1e-6);
}

TEST(FaceDetector, FindsTheOneFaceOfAGridFrameAndItsMouth) {
  avts::FaceDetector detector(avts::FaceDetector::default_model_path(), {});
  const Picture p = grid_frame();
  const std::vector<Face> faces = detector.detect(p.image());
  ASSERT_EQ(faces.size(), 1u);
  const Face& f = faces[0];
  EXPECT_GT(f.score, 0.9f);
  EXPECT_TRUE(f.has_landmarks);
  EXPECT_GT(f.width, 90);
  EXPECT_LT(f.width, 150);
  const avts::FacePoint m = f.mouth();
  EXPECT_GE(m.x, 147);
  EXPECT_LE(m.x, 185);
  EXPECT_GE(m.y, 200);
  EXPECT_LE(m.y, 230);
  // The region that crop shows holds the whole mouth.
  const auto r = avts::mouth_region(f, p.width, p.height, front_end());
  const double keep = 64.0 / 72.0, cx = (r[0] + r[2] / 2) * p.width, cy = (r[1] + r[3] / 2) * p.height;
  const double half = r[2] * p.width * keep / 2;
  EXPECT_LT(cx - half, 147);
  EXPECT_GT(cx + half, 185);
  EXPECT_LT(cy - half, 207);
  EXPECT_GT(cy + half, 225);
}

TEST(FaceDetector, ScalesLargeFramesDownAndAnswersInFramePixels) {
  const Picture p = grid_frame();
  avts::FaceDetector small(avts::FaceDetector::default_model_path(), {0.6f, 160});
  const std::vector<Face> faces = small.detect(p.image());
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_GE(faces[0].mouth().x, 140);
  EXPECT_LE(faces[0].mouth().x, 192);
  EXPECT_GE(faces[0].mouth().y, 195);
  EXPECT_LE(faces[0].mouth().y, 235);
}

TEST(FaceDetector, TwoPeopleSideBySide) {
  avts::FaceDetector detector(avts::FaceDetector::default_model_path(), {0.6f, 720});
  const Picture g = grid_frame();
  const std::vector<Face> faces = detector.detect(side_by_side(g, g).image());
  ASSERT_EQ(faces.size(), 2u);
  const float left = std::min(faces[0].mouth().x, faces[1].mouth().x);
  const float right = std::max(faces[0].mouth().x, faces[1].mouth().x);
  EXPECT_NEAR(right - left, 360, 6);
}

TEST(FaceDetector, TinyFramesHaveNoFacesAndNoErrors) {
  avts::FaceDetector detector(avts::FaceDetector::default_model_path(), {});
  for (const auto& [w, h] : {std::pair{16, 16}, std::pair{40, 30}, std::pair{65, 33}, std::pair{1, 200}}) {
    const Picture p{w, h, std::vector<uint8_t>(static_cast<size_t>(3) * w * h, 128)};
    EXPECT_TRUE(detector.detect(p.image()).empty()) << w << "x" << h;
  }
}

TEST(FaceDetector, RefusesAMissingOrBadModelFile) {
  EXPECT_THROW(avts::FaceDetector("/nonexistent/yunet.onnx", {}), avts::Error);
  const std::string bad = testing::TempDir() + "not_a_model.onnx";
  std::ofstream(bad) << "this is not an ONNX file";
  try {
    avts::FaceDetector d(bad, {});
    FAIL() << "a text file loaded as a face detector";
  } catch (const avts::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be loaded"), std::string::npos) << e.what();
  }
  std::remove(bad.c_str());
}

// A tracker over scripted detections: frame i's faces are script[i].
struct Scripted {
  std::vector<std::vector<Face>> script;
  int calls = 0;
  FaceTracker::Detect detect() {
    return [this](const RgbImage&) { return script[static_cast<size_t>(calls++) % script.size()]; };
  }
};

Picture flat(uint8_t value) {
  Picture p{64, 48, std::vector<uint8_t>(64 * 48 * 3, value)};
  return p;
}

TEST(FaceTracker, KeepsIdsWhileFacesMoveAndGivesNewFacesNewIds) {
  Scripted s;
  for (int i = 0; i < 10; ++i) {
    std::vector<Face> faces{box(10.0f + i, 10, 40, 50)};
    if (i >= 5) faces.push_back(box(200, 10, 40, 50));
    s.script.push_back(faces);
  }
  FaceTracker tracker(s.detect(), FaceTrackerOptions{});
  const Picture p = flat(100);
  for (int i = 0; i < 10; ++i) {
    const auto& faces = tracker.push(p.image());
    ASSERT_EQ(faces.size(), i >= 5 ? 2u : 1u) << "frame " << i;
    EXPECT_EQ(faces[0].id, 1);
    EXPECT_TRUE(faces[0].detected);
    if (i >= 5) {
      EXPECT_EQ(faces[1].id, 2);
    }
  }
}

TEST(FaceTracker, SmoothsTheBox) {
  Scripted s;
  s.script = {{box(0, 0, 40, 40)}, {box(20, 0, 40, 40)}};
  FaceTrackerOptions o;
  o.smoothing = 0.5;
  FaceTracker tracker(s.detect(), o);
  const Picture p = flat(100);
  EXPECT_FLOAT_EQ(tracker.push(p.image())[0].face.x, 0);   // a new track starts at its detection
  EXPECT_FLOAT_EQ(tracker.push(p.image())[0].face.x, 10);  // then moves half way
}

TEST(FaceTracker, DetectsEveryNthFrameAndHoldsTheBoxesBetween) {
  Scripted s;
  s.script = {{box(0, 0, 40, 40)}};
  FaceTrackerOptions o;
  o.detect_interval = 4;
  FaceTracker tracker(s.detect(), o);
  const Picture p = flat(100);
  for (int i = 0; i < 12; ++i) {
    const auto& faces = tracker.push(p.image());
    ASSERT_EQ(faces.size(), 1u);
    EXPECT_EQ(faces[0].detected, i % 4 == 0) << "frame " << i;
    EXPECT_EQ(faces[0].id, 1);
  }
  EXPECT_EQ(s.calls, 3);
}

TEST(FaceTracker, ATrackOutlivesShortMissesAndEndsAfterLongOnes) {
  Scripted s;
  for (int i = 0; i < 30; ++i)
    s.script.push_back((i < 5 || (i >= 8 && i < 10)) ? std::vector<Face>{box(0, 0, 40, 40)} : std::vector<Face>{});
  FaceTrackerOptions o;
  o.max_missed = 5;
  FaceTracker tracker(s.detect(), o);
  const Picture p = flat(100);
  for (int i = 0; i < 30; ++i) {
    const auto& faces = tracker.push(p.image());
    const bool alive = i < 15;  // last detected at frame 9, then 5 frames of grace
    ASSERT_EQ(faces.size(), alive ? 1u : 0u) << "frame " << i;
    if (alive) {
      EXPECT_EQ(faces[0].id, 1);
    }
  }
}

TEST(FaceTracker, ACutEndsEveryTrack) {
  Scripted s;
  s.script = {{box(0, 0, 40, 40)}};
  FaceTrackerOptions o;
  o.detect_interval = 100;
  FaceTracker tracker(s.detect(), o);
  const Picture dark = flat(20), bright = flat(220);
  EXPECT_EQ(tracker.push(dark.image())[0].id, 1);
  EXPECT_EQ(tracker.push(dark.image())[0].id, 1);
  const auto& after_cut = tracker.push(bright.image());  // detects again at once
  ASSERT_EQ(after_cut.size(), 1u);
  EXPECT_EQ(after_cut[0].id, 2);
  EXPECT_EQ(s.calls, 2);
  tracker.reset();
  EXPECT_EQ(tracker.push(bright.image())[0].id, 3);
}

TEST(FaceTracker, RefusesBadOptions) {
  Scripted s;
  s.script = {{}};
  FaceTrackerOptions o;
  o.detect_interval = 0;
  EXPECT_THROW(FaceTracker(s.detect(), o), avts::Error);
  o = {};
  o.smoothing = 0;
  EXPECT_THROW(FaceTracker(s.detect(), o), avts::Error);
  EXPECT_THROW(FaceTracker(FaceTracker::Detect(), FaceTrackerOptions{}), avts::Error);
}

}  // namespace

namespace {

avts::TrackedFace tracked(int id, float size) {
  avts::TrackedFace t;
  t.id = id;
  t.face = box(0, 0, size, size);
  return t;
}

TEST(FaceFollower, TakesTheLargestFaceAndStaysOnItWhileItIsThere) {
  avts::FaceFollower follower;
  EXPECT_EQ(follower.choose({}), nullptr);
  EXPECT_EQ(follower.choose({tracked(1, 40), tracked(2, 80)})->id, 2);
  EXPECT_EQ(follower.choose({tracked(1, 90), tracked(2, 80)})->id, 2);  // no switching back and forth
  EXPECT_EQ(follower.choose({tracked(1, 90)})->id, 1);                  // gone: the largest left
  follower.reset();
  EXPECT_EQ(follower.choose({tracked(1, 10), tracked(3, 50)})->id, 3);
}

TEST(FaceFollower, AGivenIdOnly) {
  avts::FaceFollower follower(5);
  EXPECT_EQ(follower.choose({tracked(1, 40)}), nullptr);
  EXPECT_EQ(follower.choose({tracked(1, 40), tracked(5, 10)})->id, 5);
}

}  // namespace

namespace {

TEST(MouthFraming, HoldsTheCropWhileTheFaceStaysAndMovesWithIt) {
  avts::MouthFraming framing;
  const avts::VideoFrontEndConfig c = front_end();
  avts::FrameRegion first{}, r{};
  EXPECT_EQ(framing.view({}, 400, 300, c, &r), avts::FrameView::ModelRegion);  // no face: the model's region
  avts::TrackedFace t = tracked(1, 100);
  t.face.x = 100;
  t.face.y = 50;
  ASSERT_EQ(framing.view({t}, 400, 300, c, &first), avts::FrameView::Mouth);
  EXPECT_EQ(first, avts::mouth_region(t.face, 400, 300, c));
  t.face.x += 2;  // detection noise: the crop stays
  t.face.width += 2;
  ASSERT_EQ(framing.view({t}, 400, 300, c, &r), avts::FrameView::Mouth);
  EXPECT_EQ(r, first);
  t.face.x += 30;  // the head moved
  ASSERT_EQ(framing.view({t}, 400, 300, c, &r), avts::FrameView::Mouth);
  EXPECT_EQ(r, avts::mouth_region(t.face, 400, 300, c));
  avts::TrackedFace other = tracked(2, 120);  // another face: its own crop at once
  ASSERT_EQ(framing.view({other}, 400, 300, c, &r), avts::FrameView::Mouth);
  EXPECT_EQ(r, avts::mouth_region(other.face, 400, 300, c));
}

// A model trained on mouths judges no picture without a face: such frames are left out.
TEST(MouthFraming, AFaceModelLeavesFramesWithoutAFaceOut) {
  avts::MouthFraming framing;
  avts::VideoFrontEndConfig c = front_end();
  c.framing = "face";
  avts::FrameRegion r{};
  EXPECT_EQ(framing.view({}, 400, 300, c, &r), avts::FrameView::LeftOut);
  EXPECT_EQ(framing.view({tracked(1, 100)}, 400, 300, c, &r), avts::FrameView::Mouth);
  EXPECT_EQ(framing.view({}, 400, 300, c, &r), avts::FrameView::LeftOut);
}

}  // namespace
