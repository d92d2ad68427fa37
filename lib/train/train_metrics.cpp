// Validation numbers: the decision threshold fitted on validation scores, balanced accuracy
// and ROC AUC. Scores are distances (or the fusion head's out-of-sync probability): low
// means in sync.
#include <algorithm>
#include <cmath>
#include <limits>

#include "train_internal.h"

namespace avts::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double balanced_accuracy(const std::vector<double>& positives, const std::vector<double>& negatives, double threshold) {
  if (positives.empty() || negatives.empty()) return kNaN;
  const auto below = std::count_if(positives.begin(), positives.end(), [&](double s) { return s < threshold; });
  const auto above = std::count_if(negatives.begin(), negatives.end(), [&](double s) { return s >= threshold; });
  return 0.5 * (static_cast<double>(below) / positives.size() + static_cast<double>(above) / negatives.size());
}

double fit_threshold(const std::vector<double>& positives, const std::vector<double>& negatives) {
  if (positives.empty() || negatives.empty()) return kNaN;
  // Sweep the sorted scores; a threshold just above score i calls everything up to i in sync.
  struct Scored {
    double score;
    bool positive;
  };
  std::vector<Scored> all;
  for (double s : positives) all.push_back({s, true});
  for (double s : negatives) all.push_back({s, false});
  std::sort(all.begin(), all.end(), [](const Scored& a, const Scored& b) { return a.score < b.score; });

  const double wp = 1.0 / positives.size(), wn = 1.0 / negatives.size();
  double accuracy = 0.5;  // threshold below everything: no positive in, every negative out
  double best = accuracy;
  double best_threshold = all.front().score;
  for (size_t i = 0; i < all.size(); ++i) {
    accuracy += 0.5 * (all[i].positive ? wp : -wn);
    // Only between distinct scores can a threshold separate them.
    if (i + 1 < all.size() && all[i + 1].score == all[i].score) continue;
    const double threshold = i + 1 < all.size() ? 0.5 * (all[i].score + all[i + 1].score) : all[i].score + 1e-6;
    if (accuracy > best + 1e-12) {
      best = accuracy;
      best_threshold = threshold;
    }
  }
  return best_threshold;
}

double roc_auc(const std::vector<double>& positives, const std::vector<double>& negatives) {
  if (positives.empty() || negatives.empty()) return kNaN;
  // Mann-Whitney U from the ranks of the merged scores (ties get their mean rank).
  std::vector<std::pair<double, bool>> all;
  for (double s : positives) all.emplace_back(s, true);
  for (double s : negatives) all.emplace_back(s, false);
  std::sort(all.begin(), all.end());
  double negative_rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mean_rank = 0.5 * (i + 1 + j);  // ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (!all[k].second) negative_rank_sum += mean_rank;
    i = j;
  }
  const double n_neg = negatives.size(), n_pos = positives.size();
  return (negative_rank_sum - n_neg * (n_neg + 1) / 2) / (n_neg * n_pos);
}

}  // namespace avts::train
