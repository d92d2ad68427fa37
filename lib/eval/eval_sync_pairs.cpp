// Sync classification on embeddings: the paper's positive, easy and hard pairs drawn from
// clips' embedding streams, scored by distance against the model's threshold. The metrics
// are the trainer's validation metrics (train_metrics.cpp).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "avts/error.h"
#include "avts/eval.h"
#include "media_timeline.h"
#include "train_internal.h"

namespace avts {

namespace {

using timeline::kToleranceNs;  // rows this close are the same window

// Index of the row of `track` at `t` (within 1 ms), or -1.
int64_t row_at(const EmbeddingTrack& track, int64_t t) {
  const auto it = std::lower_bound(track.times_ns.begin(), track.times_ns.end(), t - kToleranceNs);
  if (it == track.times_ns.end() || *it > t + kToleranceNs) return -1;
  return it - track.times_ns.begin();
}

double distance(const float* a, const float* b, int dim) {
  double sum = 0;
  for (int i = 0; i < dim; ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    sum += d * d;
  }
  return std::sqrt(sum);
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

void EmbeddingTrack::append(int64_t time_ns, int64_t hop_ns, int n, int width, const float* data) {
  if (n <= 0) return;
  if (dim != 0 && width != dim)
    throw Error("embedding rows of width " + std::to_string(width) + " after rows of width " + std::to_string(dim));
  if (!times_ns.empty() && time_ns <= times_ns.back()) throw Error("embedding rows go back in time");
  dim = width;
  for (int i = 0; i < n; ++i) times_ns.push_back(time_ns + i * hop_ns);
  rows.insert(rows.end(), data, data + static_cast<size_t>(n) * static_cast<size_t>(width));
}

const char* pair_kind_name(PairKind k) {
  switch (k) {
    case PairKind::Positive:
      return "positive";
    case PairKind::Easy:
      return "easy";
    case PairKind::Hard:
      return "hard";
  }
  return "?";
}

std::vector<SyncPair> draw_sync_pairs(const std::vector<EvalClip>& clips, const SyncPairOptions& options) {
  if (options.anchors_per_clip < 1) throw Error("anchors per clip must be at least 1");
  if (!(options.hard_shift_min_s > 0) || options.hard_shift_max_s < options.hard_shift_min_s)
    throw Error("the hard-negative shift range must satisfy 0 < min <= max");
  int dim = 0;
  for (const EvalClip& c : clips)
    for (const EmbeddingTrack* t : {&c.audio, &c.video}) {
      if (t->size() == 0) continue;
      if (dim != 0 && t->dim != dim)
        throw Error("clip '" + c.id + "' has embeddings of width " + std::to_string(t->dim) + ", others " +
                    std::to_string(dim));
      dim = t->dim;
    }

  // Clips in id order, so that the draws do not depend on the order they were given in.
  std::vector<size_t> by_id(clips.size());
  std::iota(by_id.begin(), by_id.end(), 0);
  std::stable_sort(by_id.begin(), by_id.end(), [&](size_t a, size_t b) { return clips[a].id < clips[b].id; });

  const auto shift_min = static_cast<int64_t>(std::llround(options.hard_shift_min_s * 1e9));
  const auto shift_max = static_cast<int64_t>(std::llround(options.hard_shift_max_s * 1e9));
  std::vector<SyncPair> pairs;
  for (size_t ci : by_id) {
    const EvalClip& clip = clips[ci];
    // Video windows with the audio under them.
    std::vector<std::pair<size_t, size_t>> matched;  // (video row, audio row)
    for (size_t v = 0; v < clip.video.size(); ++v)
      if (const int64_t a = row_at(clip.audio, clip.video.times_ns[v]); a >= 0)
        matched.emplace_back(v, static_cast<size_t>(a));
    if (matched.empty()) continue;

    std::vector<size_t> others;  // easy-negative sources, in id order
    for (size_t oi : by_id)
      if (clips[oi].id != clip.id && clips[oi].audio.size() > 0) others.push_back(oi);

    train::Rng rng = train::seeded_rng({options.seed, train::id_hash(clip.id), 0x6576616c});  // "eval"
    const size_t k = std::min<size_t>(static_cast<size_t>(options.anchors_per_clip), matched.size());
    for (size_t m = 0; m < k; ++m) {
      const size_t at = k == 1 ? (matched.size() - 1) / 2 : m * (matched.size() - 1) / (k - 1);
      const auto [v, a] = matched[at];
      const float* video = clip.video.row(v);
      const int64_t t = clip.video.times_ns[v];
      pairs.push_back({PairKind::Positive, ci, ci, t, clip.audio.times_ns[a], distance(video, clip.audio.row(a), dim)});

      if (!others.empty()) {
        const size_t oi = others[std::uniform_int_distribution<size_t>(0, others.size() - 1)(rng)];
        const EmbeddingTrack& audio = clips[oi].audio;
        const size_t r = std::uniform_int_distribution<size_t>(0, audio.size() - 1)(rng);
        pairs.push_back({PairKind::Easy, ci, oi, t, audio.times_ns[r], distance(video, audio.row(r), dim)});
      }

      std::vector<size_t> hard;  // audio rows of this clip in the hard-shift range
      for (size_t r = 0; r < clip.audio.size(); ++r) {
        const int64_t shift = std::llabs(clip.audio.times_ns[r] - t);
        if (shift >= shift_min - kToleranceNs && shift <= shift_max + kToleranceNs) hard.push_back(r);
      }
      if (!hard.empty()) {
        const size_t r = hard[std::uniform_int_distribution<size_t>(0, hard.size() - 1)(rng)];
        pairs.push_back({PairKind::Hard, ci, ci, t, clip.audio.times_ns[r], distance(video, clip.audio.row(r), dim)});
      }
    }
  }
  return pairs;
}

SyncClassification classify_sync(const std::vector<SyncPair>& pairs, double threshold) {
  std::vector<double> positive, easy, hard;
  std::vector<size_t> clips;
  for (const SyncPair& p : pairs) {
    (p.kind == PairKind::Positive ? positive : p.kind == PairKind::Easy ? easy : hard).push_back(p.distance);
    if (p.kind == PairKind::Positive) clips.push_back(p.video_clip);
  }
  std::sort(clips.begin(), clips.end());
  SyncClassification c;
  c.threshold = threshold;
  c.clips = static_cast<int>(std::unique(clips.begin(), clips.end()) - clips.begin());
  c.positives = static_cast<int>(positive.size());
  c.easy_pairs = static_cast<int>(easy.size());
  c.hard_pairs = static_cast<int>(hard.size());
  c.accuracy_easy = train::balanced_accuracy(positive, easy, threshold);
  c.accuracy_hard = train::balanced_accuracy(positive, hard, threshold);
  c.auc_easy = train::roc_auc(positive, easy);
  c.auc_hard = train::roc_auc(positive, hard);
  c.mean_distance_positive = mean(positive);
  c.mean_distance_easy = mean(easy);
  c.mean_distance_hard = mean(hard);
  return c;
}

}  // namespace avts
