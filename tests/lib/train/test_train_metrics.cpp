// Validation metrics: the threshold fit, balanced accuracy and ROC AUC on known scores.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "train_internal.h"

using namespace avts::train;

TEST(TrainMetrics, ThresholdSeparatesSeparableScores) {
  const std::vector<double> pos{0.1, 0.2, 0.3}, neg{0.5, 0.7};
  EXPECT_DOUBLE_EQ(fit_threshold(pos, neg), 0.4);
  EXPECT_DOUBLE_EQ(balanced_accuracy(pos, neg, 0.4), 1.0);
}

TEST(TrainMetrics, ThresholdMaximisesBalancedNotPlainAccuracy) {
  // t = 0.3: (1/2 + 4/4) / 2 = 0.75; t = 0.7: (2/2 + 3/4) / 2 = 0.875 (the best);
  // plain accuracy ties the two (5 of 6).
  const std::vector<double> pos{0.2, 0.6}, neg{0.4, 0.8, 0.9, 0.95};
  EXPECT_DOUBLE_EQ(fit_threshold(pos, neg), 0.7);
  EXPECT_DOUBLE_EQ(balanced_accuracy(pos, neg, 0.7), 0.875);
  EXPECT_DOUBLE_EQ(balanced_accuracy(pos, neg, 0.3), 0.75);
}

TEST(TrainMetrics, ThresholdIsTheBestOfAllCuts) {
  std::mt19937 rng(5);
  std::normal_distribution<double> p(0.6, 0.2), n(1.0, 0.2);
  std::vector<double> pos(200), neg(300);
  for (double& s : pos) s = p(rng);
  for (double& s : neg) s = n(rng);
  const double fitted = balanced_accuracy(pos, neg, fit_threshold(pos, neg));
  for (double t = 0.0; t < 1.6; t += 0.001) EXPECT_LE(balanced_accuracy(pos, neg, t), fitted + 1e-12);
  EXPECT_GT(fitted, 0.8);
}

TEST(TrainMetrics, TiedScoresAreNotSplit) {
  const std::vector<double> pos{0.5, 0.5}, neg{0.5, 0.9};
  const double t = fit_threshold(pos, neg);
  EXPECT_DOUBLE_EQ(t, 0.7);  // between 0.5 and 0.9: all positives in, one negative out
  EXPECT_DOUBLE_EQ(balanced_accuracy(pos, neg, t), 0.75);
}

TEST(TrainMetrics, RocAuc) {
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2}, {0.15, 0.3}), 0.75);
  EXPECT_DOUBLE_EQ(roc_auc({0.5}, {0.5}), 0.5);
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.2}, {0.3, 0.4}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.3, 0.4}, {0.1, 0.2}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.1, 0.3, 0.3}, {0.3, 0.2}), (1 + 0.5 + 0.5 + 1) / 6.0);
}

TEST(TrainMetrics, EmptySidesGiveNaN) {
  EXPECT_TRUE(std::isnan(fit_threshold({}, {1.0})));
  EXPECT_TRUE(std::isnan(balanced_accuracy({0.1}, {}, 0.5)));
  EXPECT_TRUE(std::isnan(roc_auc({}, {})));
}

TEST(TrainMetrics, ValidationReportFitsOnDistancesAndScoresTheTrainedScore) {
  ValidationScores s;
  s.d_pos = {0.1, 0.2};
  s.d_easy = {0.8, 0.9};
  s.d_hard = {0.15, 0.6};
  // Distance-trained: the scores are the distances.
  s.s_pos = s.d_pos, s.s_easy = s.d_easy, s.s_hard = s.d_hard;
  avts::ValidationReport r = validation_report(s, 2, false);
  EXPECT_EQ(r.clips, 2);
  EXPECT_EQ(r.easy_pairs, 2);
  EXPECT_EQ(r.hard_pairs, 2);
  EXPECT_DOUBLE_EQ(r.threshold, 0.4);  // between 0.2 and 0.6: one hard negative in, three of four out
  EXPECT_DOUBLE_EQ(r.accuracy_easy, 1.0);
  EXPECT_DOUBLE_EQ(r.accuracy_hard, 0.75);
  EXPECT_DOUBLE_EQ(r.auc_hard, 0.75);
  EXPECT_DOUBLE_EQ(r.mean_distance_positive, 0.15);
  EXPECT_DOUBLE_EQ(r.mean_distance_hard, 0.375);
  // Fusion-trained: the threshold stays on the distances, the accuracies use the scores' own.
  s.s_pos = {0.2, 0.3};
  s.s_easy = {0.9, 0.95};
  s.s_hard = {0.7, 0.8};
  r = validation_report(s, 2, true);
  EXPECT_DOUBLE_EQ(r.threshold, 0.4);
  EXPECT_DOUBLE_EQ(r.accuracy_hard, 1.0);
  EXPECT_DOUBLE_EQ(r.auc_hard, 1.0);
}
