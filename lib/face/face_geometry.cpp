#include <algorithm>
#include <cmath>

#include "avts/face.h"

namespace avts {

namespace {

// Where the mouth sits in a face box without landmarks, as a fraction of the box: measured
// with YuNet on GRID and on television face crops (0.49-0.63 across, 0.70-0.76 down).
constexpr float kMouthInBoxX = 0.5f;
constexpr float kMouthInBoxY = 0.74f;

}  // namespace

FacePoint Face::mouth() const {
  if (has_landmarks) {
    const FacePoint& r = landmarks[kMouthRight];
    const FacePoint& l = landmarks[kMouthLeft];
    return {(r.x + l.x) / 2, (r.y + l.y) / 2};
  }
  return {x + kMouthInBoxX * width, y + kMouthInBoxY * height};
}

FrameRegion mouth_region(const Face& face, int frame_width, int frame_height, const VideoFrontEndConfig& config) {
  const double w = std::max(frame_width, 1), h = std::max(frame_height, 1);
  // The front end keeps the centre crop / resize of the region's short side.
  double side = kMouthViewFaceWidths * std::max(face.width, 1.0f) * config.resize / config.crop;
  side = std::min({side, w, h});
  const FacePoint m = face.mouth();
  const double x = std::clamp(m.x - side / 2, 0.0, w - side);
  const double y = std::clamp(m.y - side / 2, 0.0, h - side);
  return {x / w, y / h, side / w, side / h};
}

const TrackedFace* FaceFollower::choose(const std::vector<TrackedFace>& faces) {
  const auto with_id = [&](int id) -> const TrackedFace* {
    for (const TrackedFace& f : faces)
      if (f.id == id) return &f;
    return nullptr;
  };
  if (wanted_ >= 0) return with_id(wanted_);
  if (const TrackedFace* same = current_ >= 0 ? with_id(current_) : nullptr) return same;
  const TrackedFace* largest = nullptr;
  for (const TrackedFace& f : faces)
    if (!largest || f.face.width * f.face.height > largest->face.width * largest->face.height) largest = &f;
  current_ = largest ? largest->id : -1;
  return largest;
}

FrameView MouthFraming::view(const std::vector<TrackedFace>& faces, int frame_width, int frame_height,
                             const VideoFrontEndConfig& config, FrameRegion* mouth) {
  const TrackedFace* face = follower_.choose(faces);
  if (!face) return config.framing == "face" ? FrameView::LeftOut : FrameView::ModelRegion;
  const FrameRegion now = mouth_region(face->face, frame_width, frame_height, config);
  const auto moved = [&] {
    const double side = std::max(held_[2] * frame_width, 1.0);
    const double dx = (now[0] + now[2] / 2 - held_[0] - held_[2] / 2) * frame_width;
    const double dy = (now[1] + now[3] / 2 - held_[1] - held_[3] / 2) * frame_height;
    return std::hypot(dx, dy) > kMouthDeadband * side || std::abs(now[2] * frame_width - side) > kMouthDeadband * side;
  };
  if (face->id != id_ || moved()) {
    id_ = face->id;
    held_ = now;
  }
  *mouth = held_;
  return FrameView::Mouth;
}

void MouthFraming::reset() {
  follower_.reset();
  id_ = -1;
}

}  // namespace avts
