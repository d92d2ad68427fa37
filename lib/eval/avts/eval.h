// Evaluation of a model on clips whose truth is known by construction (`avts eval`):
//
//   sync classification  a video window against the audio under it (positive), audio of
//                        another clip (easy negative) and audio of the same clip shifted by
//                        0.5-2.0 s (hard negative), the paper's pairs; called in sync when
//                        the distance is below the model's threshold. Balanced accuracy and
//                        ROC AUC, for easy and hard negatives separately.
//   offset accuracy      the clip's audio shifted by known amounts; the whole-clip offset
//                        estimate is correct within a tolerance (one video frame).
//
// Pure logic on embeddings and estimates: decoding and the sync pipeline are the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "avts/train.h"

namespace avts {

// ---- Which manifest entries an evaluation takes ----

// The split the trainer puts a manifest entry with this tag and id (its path or URI) in:
// the tag, or for Auto the trainer's stable hash rule with its default validation fraction.
// Never returns Auto.
Split resolved_split(Split tag, const std::string& id);

// ---- Sync classification ----

// One stream of embedding rows: row i is the window that starts at times_ns[i], on a time
// axis shared by both streams of a clip (running time in a pipeline). Times increase.
struct EmbeddingTrack {
  int dim = 0;
  std::vector<int64_t> times_ns;
  std::vector<float> rows;  // times_ns.size() x dim

  size_t size() const { return times_ns.size(); }
  const float* row(size_t i) const { return rows.data() + i * static_cast<size_t>(dim); }
  // Appends `n` rows starting at `time_ns`, `hop_ns` apart. Throws avts::Error when the
  // width differs from earlier rows or time goes back.
  void append(int64_t time_ns, int64_t hop_ns, int n, int dim, const float* data);
};

// The two embedding streams of one clip, in sync as recorded.
struct EvalClip {
  std::string id;
  EmbeddingTrack audio, video;
};

struct SyncPairOptions {
  uint64_t seed = 1;
  int anchors_per_clip = 4;       // video windows per clip, spread evenly over it
  double hard_shift_min_s = 0.5;  // |shift| of hard negatives (the paper's range)
  double hard_shift_max_s = 2.0;
};

enum class PairKind { Positive, Easy, Hard };
const char* pair_kind_name(PairKind k);  // "positive", "easy", "hard"

// A video window of clips[video_clip] against an audio window of clips[audio_clip].
struct SyncPair {
  PairKind kind = PairKind::Positive;
  size_t video_clip = 0, audio_clip = 0;
  int64_t video_ns = 0, audio_ns = 0;  // window starts
  double distance = 0;                 // || v - a ||
};

// For every clip, anchors_per_clip video windows that have an audio window at the same time
// (evenly spread; all of them when there are fewer), each with its positive, an easy
// negative (a uniform audio window of a uniform other clip that has audio) and, where the
// clip has room, a hard negative (uniform over the clip's audio windows whose start is
// hard_shift_min_s..hard_shift_max_s away). Deterministic: drawn from the seed and each
// clip's id and the ids of the others, whatever the order of `clips`. Rows of one time are
// matched within 1 ms. Throws avts::Error for widths that differ or bad options.
std::vector<SyncPair> draw_sync_pairs(const std::vector<EvalClip>& clips, const SyncPairOptions& options);

struct SyncClassification {
  double threshold = 0;  // distance below which a pair is called in sync
  int clips = 0;         // clips that gave at least one positive
  int positives = 0, easy_pairs = 0, hard_pairs = 0;
  // Balanced accuracy at the threshold (share of positives below it and share of negatives
  // at or above it, averaged) and ROC AUC (probability that a negative is farther than a
  // positive, ties 1/2); NaN without pairs of that kind.
  double accuracy_easy = 0, accuracy_hard = 0;
  double auc_easy = 0, auc_hard = 0;
  double mean_distance_positive = 0, mean_distance_easy = 0, mean_distance_hard = 0;  // NaN if none
};

SyncClassification classify_sync(const std::vector<SyncPair>& pairs, double threshold);

// ---- Offset accuracy ----

// SIGN (as avts/sync.h): shifting a clip's audio by +X ms means moving it X ms EARLIER
// (`avts sync --shift-audio X`), which makes the audio early by X: for a clip recorded in
// sync the true offset is +X ms.
inline double true_offset_ms(double audio_shift_ms) { return audio_shift_ms; }

// One clip measured with its audio shifted: the whole-stream summary of the sync estimator.
struct OffsetTrial {
  std::string clip;
  double shift_ms = 0;
  double truth_ms = 0;        // true_offset_ms(shift_ms) for a clip recorded in sync
  double estimate_ms = 0;     // the global offset (positive = audio early)
  bool conclusive = false;    // the estimator's status was not inconclusive
  bool out_of_range = false;  // the minimum was at the edge of the range searched
  double confidence = 0;      // of the global estimate (median minus minimum of its curve)
  int windows = 0;            // video windows judged; 0: nothing to estimate from
};

// Correct: conclusive, in range, and |estimate - truth| <= tolerance.
bool offset_correct(const OffsetTrial& trial, double tolerance_ms);

struct OffsetStats {
  int trials = 0, correct = 0, inconclusive = 0;
  int out_of_range = 0;            // conclusive trials whose minimum was at an edge
  int no_estimate = 0;             // trials with no window judged (a clip shorter than the search needs)
  double accuracy = 0;             // correct / trials (inconclusive counts as not correct)
  double conclusive_accuracy = 0;  // correct / conclusive trials
  double mean_abs_error_ms = 0;    // over the conclusive trials (out of range: the edge value)
  double inconclusive_share = 0;   // inconclusive / trials
  // NaN where the denominator is 0.
};

struct OffsetAccuracy {
  double tolerance_ms = 0;
  OffsetStats overall;
  std::vector<double> shifts_ms;       // the shifts met, ascending
  std::vector<OffsetStats> per_shift;  // per_shift[i] for shifts_ms[i]
};

OffsetAccuracy summarize_offsets(const std::vector<OffsetTrial>& trials, double tolerance_ms);

// ---- Answers a QC user can trust ----
// A trial is answered at a minimum confidence C when it judged windows and its confidence is
// >= C; the answer is right when it is in range and within the tolerance. Precision = right /
// answered, coverage = answered / trials (NaN where the denominator is 0). At C = 0 every
// trial with windows is answered: right / trials is then the forced accuracy.
struct AnswerStats {
  double min_confidence = 0;
  int trials = 0, answered = 0, right = 0;
  double precision = 0, coverage = 0;
};
AnswerStats answers_at(const std::vector<OffsetTrial>& trials, double min_confidence, double tolerance_ms);

// The lowest minimum confidence (among the trials' own confidences) whose answers are right at
// least `target_precision` of the time with at least `min_answers` answers; nullopt when none is.
std::optional<AnswerStats> calibrate_min_confidence(const std::vector<OffsetTrial>& trials, double target_precision,
                                                    double tolerance_ms, int min_answers = 10);

}  // namespace avts
