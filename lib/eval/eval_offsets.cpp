// Offset accuracy: whole-clip offset estimates against the known shifts of the audio.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "avts/eval.h"

namespace avts {

namespace {

double share(double part, double whole) { return whole > 0 ? part / whole : std::numeric_limits<double>::quiet_NaN(); }

OffsetStats stats_of(const std::vector<const OffsetTrial*>& trials, double tolerance_ms) {
  OffsetStats s;
  double abs_error = 0;
  for (const OffsetTrial* t : trials) {
    ++s.trials;
    if (t->windows == 0) ++s.no_estimate;
    if (!t->conclusive) {
      ++s.inconclusive;
      continue;
    }
    if (t->out_of_range) ++s.out_of_range;
    if (offset_correct(*t, tolerance_ms)) ++s.correct;
    abs_error += std::fabs(t->estimate_ms - t->truth_ms);
  }
  const int conclusive = s.trials - s.inconclusive;
  s.accuracy = share(s.correct, s.trials);
  s.conclusive_accuracy = share(s.correct, conclusive);
  s.mean_abs_error_ms = share(abs_error, conclusive);
  s.inconclusive_share = share(s.inconclusive, s.trials);
  return s;
}

}  // namespace

bool offset_correct(const OffsetTrial& trial, double tolerance_ms) {
  return trial.conclusive && !trial.out_of_range && std::fabs(trial.estimate_ms - trial.truth_ms) <= tolerance_ms;
}

OffsetAccuracy summarize_offsets(const std::vector<OffsetTrial>& trials, double tolerance_ms) {
  OffsetAccuracy a;
  a.tolerance_ms = tolerance_ms;
  std::vector<const OffsetTrial*> all;
  std::map<double, std::vector<const OffsetTrial*>> by_shift;  // ascending shifts
  for (const OffsetTrial& t : trials) {
    all.push_back(&t);
    by_shift[t.shift_ms].push_back(&t);
  }
  a.overall = stats_of(all, tolerance_ms);
  for (const auto& [shift, group] : by_shift) {
    a.shifts_ms.push_back(shift);
    a.per_shift.push_back(stats_of(group, tolerance_ms));
  }
  return a;
}

AnswerStats answers_at(const std::vector<OffsetTrial>& trials, double min_confidence, double tolerance_ms) {
  AnswerStats a;
  a.min_confidence = min_confidence;
  for (const OffsetTrial& t : trials) {
    ++a.trials;
    if (t.windows == 0 || !(t.confidence >= min_confidence)) continue;
    ++a.answered;
    if (!t.out_of_range && std::fabs(t.estimate_ms - t.truth_ms) <= tolerance_ms) ++a.right;
  }
  a.precision = share(a.right, a.answered);
  a.coverage = share(a.answered, a.trials);
  return a;
}

std::optional<AnswerStats> calibrate_min_confidence(const std::vector<OffsetTrial>& trials, double target_precision,
                                                    double tolerance_ms, int min_answers) {
  std::vector<double> candidates;
  for (const OffsetTrial& t : trials)
    if (t.windows > 0 && std::isfinite(t.confidence)) candidates.push_back(t.confidence);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (double c : candidates) {  // ascending: the first that qualifies answers the most
    const AnswerStats a = answers_at(trials, c, tolerance_ms);
    if (a.answered < min_answers) break;  // higher thresholds answer fewer still
    if (a.precision >= target_precision) return a;
  }
  return std::nullopt;
}

}  // namespace avts
