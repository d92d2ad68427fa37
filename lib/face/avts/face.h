// Faces in the picture and the part of a face the video network looks at. Plain geometry:
// any detector's faces (the tracker's, or an upstream element's region-of-interest metadata)
// become a region of the frame here, so that training and every inference path crop alike.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "avts/config.h"
#include "avts/video_prep.h"

namespace avts {

struct FacePoint {
  float x = 0, y = 0;
};

// One face in frame pixels. The five landmarks are the detector's (YuNet's order); a face
// from a detector that gives only a box has none.
struct Face {
  enum Landmark { kRightEye, kLeftEye, kNose, kMouthRight, kMouthLeft };
  float x = 0, y = 0, width = 0, height = 0;
  std::array<FacePoint, 5> landmarks{};
  bool has_landmarks = false;
  float score = 0;

  // The centre of the mouth: between the mouth corners, else where it sits in a face box.
  FacePoint mouth() const;
};

// A face followed through frames (by the tracker, or an upstream element's metadata).
struct TrackedFace {
  int id = 0;             // stable while the face is followed; never reused in one stream
  Face face;              // smoothed
  bool detected = false;  // a detection matched it in this frame
  int64_t frames = 0;     // frames it has been followed
};

// Which face of each frame one feature stream looks at: the face with a given id, else the
// face it has looked at so far while that face is there, else the largest. Staying on one
// face keeps a clip's frames on one mouth when several faces are in the picture.
class FaceFollower {
 public:
  explicit FaceFollower(int id = -1) : wanted_(id) {}
  // The face to look at in this frame; nullptr when there is none (the fixed region then).
  const TrackedFace* choose(const std::vector<TrackedFace>& faces);
  void reset() { current_ = -1; }

 private:
  int wanted_;
  int current_ = -1;
};

// The region (x, y, width, height as fractions of the frame, as VideoFrontEndConfig::region)
// that shows `face`'s mouth to the network as the fixed region showed it in GRID's studio
// frames, on which the models were trained: a square centred on the mouth whose part the
// front end keeps (its centre crop / resize) is kMouthViewFaceWidths face widths across.
// Kept inside the frame: shifted, and shrunk only when the frame is smaller than the square.
FrameRegion mouth_region(const Face& face, int frame_width, int frame_height, const VideoFrontEndConfig& config);

// Measured with YuNet on GRID's .mpg clips (360x288; faces ~116 px wide): the shipped model's
// fixed region shows 1.1 face widths around the mouth.
constexpr double kMouthViewFaceWidths = 1.1;

// What the network sees of one frame: the model's fixed region, a face's mouth, or nothing (a
// model whose framing is "face" judges no picture without a face: the frame is left out).
enum class FrameView { ModelRegion, Mouth, LeftOut };

// The view of each frame of one stream: the followed face's mouth_region(), held still while the
// face stays within a deadband of it, so that a steady head gives a steady crop and the network's
// motion input shows the lips moving, not the crop. One rule for avtsvideofeat and avtstrain.
class MouthFraming {
 public:
  explicit MouthFraming(int face_id = -1) : follower_(face_id) {}
  // This frame's view; for FrameView::Mouth, `mouth` is set.
  FrameView view(const std::vector<TrackedFace>& faces, int frame_width, int frame_height,
                 const VideoFrontEndConfig& config, FrameRegion* mouth);
  void reset();

 private:
  FaceFollower follower_;
  int id_ = -1;
  FrameRegion held_{};
};

// Moves of the mouth smaller than this fraction of the region's side (and size changes smaller
// than it) keep the crop where it is.
constexpr double kMouthDeadband = 0.08;

}  // namespace avts
