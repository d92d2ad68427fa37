#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <tuple>

#include "avts/error.h"
#include "avts/face_tracker.h"

namespace avts {

namespace {

// A frame's coarse luma: kThumb x kThumb cell means, enough to see a cut and cheap.
constexpr int kThumb = 16;

std::vector<float> thumbnail(const RgbImage& f) {
  std::vector<float> cells(kThumb * kThumb, 0.0f);
  std::vector<int> counts(kThumb * kThumb, 0);
  const int step_y = std::max(1, f.height / (4 * kThumb)), step_x = std::max(1, f.width / (4 * kThumb));
  for (int y = 0; y < f.height; y += step_y) {
    const uint8_t* row = f.data + static_cast<size_t>(y) * f.stride;
    const int cy = y * kThumb / f.height;
    for (int x = 0; x < f.width; x += step_x) {
      const uint8_t* p = row + 3 * static_cast<size_t>(x);
      const int c = cy * kThumb + x * kThumb / f.width;
      cells[c] += (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / 255.0f;
      ++counts[c];
    }
  }
  for (size_t i = 0; i < cells.size(); ++i) cells[i] /= std::max(counts[i], 1);
  return cells;
}

double overlap(const Face& a, const Face& b) {
  const double w = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const double h = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const double inter = w * h;
  return inter / (static_cast<double>(a.width) * a.height + static_cast<double>(b.width) * b.height - inter);
}

float mix(float old_value, float new_value, double weight) {
  return static_cast<float>(old_value + weight * (new_value - old_value));
}

// `track` moved towards detection `d` by `weight`.
void smooth(Face& track, const Face& d, double weight) {
  track.x = mix(track.x, d.x, weight);
  track.y = mix(track.y, d.y, weight);
  track.width = mix(track.width, d.width, weight);
  track.height = mix(track.height, d.height, weight);
  if (track.has_landmarks && d.has_landmarks) {
    for (size_t k = 0; k < d.landmarks.size(); ++k)
      track.landmarks[k] = {mix(track.landmarks[k].x, d.landmarks[k].x, weight),
                            mix(track.landmarks[k].y, d.landmarks[k].y, weight)};
  } else {
    track.landmarks = d.landmarks;
    track.has_landmarks = d.has_landmarks;
  }
  track.score = d.score;
}

}  // namespace

struct FaceTracker::Impl {
  struct Track {
    TrackedFace face;
    int64_t last_detected = 0;  // frame number
  };

  Detect detect;
  FaceTrackerOptions options;
  std::vector<Track> tracks;
  std::vector<TrackedFace> current;
  std::vector<float> last_thumb;
  int64_t frame = 0;
  int64_t next_detection = 0;
  int next_id = 1;

  void end_all() {
    tracks.clear();
    last_thumb.clear();
  }

  void update(const std::vector<Face>& found) {
    // Greedy matching, best overlap first.
    std::vector<std::tuple<double, size_t, size_t>> pairs;
    for (size_t t = 0; t < tracks.size(); ++t)
      for (size_t d = 0; d < found.size(); ++d)
        if (const double o = overlap(tracks[t].face.face, found[d]); o >= options.min_overlap)
          pairs.emplace_back(o, t, d);
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return std::get<0>(a) > std::get<0>(b); });
    std::vector<bool> track_taken(tracks.size(), false), found_taken(found.size(), false);
    for (const auto& [o, t, d] : pairs) {
      if (track_taken[t] || found_taken[d]) continue;
      track_taken[t] = found_taken[d] = true;
      smooth(tracks[t].face.face, found[d], options.smoothing);
      tracks[t].face.detected = true;
      tracks[t].last_detected = frame;
    }
    for (size_t d = 0; d < found.size(); ++d)
      if (!found_taken[d]) tracks.push_back({TrackedFace{next_id++, found[d], true, 0}, frame});
  }
};

FaceTracker::FaceTracker(Detect detect, const FaceTrackerOptions& options) : impl_(std::make_unique<Impl>()) {
  if (!detect) throw Error("face tracker: no detector");
  if (options.detect_interval < 1) throw Error("face tracker: detect interval must be at least 1 frame");
  if (!(options.smoothing > 0 && options.smoothing <= 1)) throw Error("face tracker: smoothing must be in (0, 1]");
  if (options.max_missed < 0) throw Error("face tracker: max missed frames must not be negative");
  if (!(options.min_overlap > 0 && options.min_overlap <= 1))
    throw Error("face tracker: minimum overlap must be in (0, 1]");
  if (!(options.shot_change > 0)) throw Error("face tracker: shot change threshold must be positive");
  impl_->detect = std::move(detect);
  impl_->options = options;
}

FaceTracker::FaceTracker(std::shared_ptr<FaceDetector> detector, const FaceTrackerOptions& options)
    : FaceTracker(detector ? Detect([detector](const RgbImage& f) { return detector->detect(f); }) : Detect(),
                  options) {}

FaceTracker::~FaceTracker() = default;

const std::vector<TrackedFace>& FaceTracker::push(const RgbImage& frame) {
  if (!frame.data || frame.width <= 0 || frame.height <= 0 || frame.stride < 3 * frame.width)
    throw Error("face tracker: empty video frame or stride too small");
  Impl& s = *impl_;
  std::vector<float> thumb = thumbnail(frame);
  if (!s.last_thumb.empty()) {
    double change = 0;
    for (size_t i = 0; i < thumb.size(); ++i) change += std::abs(thumb[i] - s.last_thumb[i]);
    if (change / static_cast<double>(thumb.size()) > s.options.shot_change) {
      s.end_all();
      s.next_detection = s.frame;
    }
  }
  s.last_thumb = std::move(thumb);

  for (auto& t : s.tracks) t.face.detected = false;
  if (s.frame >= s.next_detection) {
    s.update(s.detect(frame));
    s.next_detection = s.frame + s.options.detect_interval;
  }
  const int64_t now = s.frame;
  s.tracks.erase(std::remove_if(s.tracks.begin(), s.tracks.end(),
                                [&](const Impl::Track& t) { return now - t.last_detected > s.options.max_missed; }),
                 s.tracks.end());
  s.current.clear();
  for (auto& t : s.tracks) {
    ++t.face.frames;
    s.current.push_back(t.face);
  }
  std::sort(s.current.begin(), s.current.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  ++s.frame;
  return s.current;
}

void FaceTracker::reset() {
  impl_->end_all();
  impl_->next_detection = impl_->frame;
}

}  // namespace avts
