// Faces found and followed through a video: YuNet (OpenCV's FaceDetectorYN) every few
// frames, detections joined into tracks with stable ids, boxes smoothed so that the mouth
// crop does not jitter. Plain C++ over OpenCV; what avtsfacetrack runs on every frame.
//
//   frame ──> shot change? ──yes──> every track ends, detect now
//     │                    no
//     v
//   detection frame? ──no──> tracks hold their boxes
//     │ yes
//     v
//   detections ──IoU──> matched: box smoothed │ new: a track with the next id │
//                       tracks unmatched for max_missed frames end
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "avts/face.h"
#include "avts/video_prep.h"

namespace avts {

// YuNet face detection on RGB frames (scaled down to at most `detect_size` pixels on the long
// side first: faces big enough to lip-read survive it and detection stays cheap).
class FaceDetector {
 public:
  struct Options {
    float min_score = 0.6f;  // the detector's confidence, 0..1
    int detect_size = 256;   // long side of the frame the detector sees (pixels)
  };
  // Throws avts::Error when the model file is missing or not a YuNet ONNX model.
  FaceDetector(const std::string& model_path, const Options& options);
  ~FaceDetector();
  FaceDetector(const FaceDetector&) = delete;
  FaceDetector& operator=(const FaceDetector&) = delete;

  // Faces in frame pixels, with their five landmarks, best score first.
  std::vector<Face> detect(const RgbImage& frame);

  // The bundled YuNet model: $AVTS_FACE_MODEL, else the installed copy, else the source tree's.
  static std::string default_model_path();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct FaceTrackerOptions {
  int detect_interval = 1;    // frames from one detection to the next (1: every frame)
  double smoothing = 0.5;     // weight of a new detection in the track's box (1: none)
  int max_missed = 12;        // frames a track lives on without a detection (profile views)
  double min_overlap = 0.3;   // intersection over union that continues a track
  double shot_change = 0.12;  // mean absolute luma change (0..1) between frames that is a cut
};

class FaceTracker {
 public:
  using Detect = std::function<std::vector<Face>(const RgbImage&)>;

  // Throws avts::Error on options out of range.
  FaceTracker(Detect detect, const FaceTrackerOptions& options);
  FaceTracker(std::shared_ptr<FaceDetector> detector, const FaceTrackerOptions& options);
  ~FaceTracker();

  // The faces followed in `frame`, by id.
  const std::vector<TrackedFace>& push(const RgbImage& frame);
  // A new stream (a flush, a gap): every track ends; ids go on counting.
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace avts
