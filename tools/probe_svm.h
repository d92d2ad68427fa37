// Linear-probe scoring: a linear SVM (liblinear) on fixed feature vectors, measured by
// k-fold cross-validation. Plain C++: feature rows and class labels in, accuracies out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace avts {

// n examples of `dim` features (row-major) with class labels 0 .. n_classes - 1.
struct ProbeData {
  int dim = 0;
  std::vector<float> features;  // n x dim
  std::vector<int> labels;      // n
  size_t size() const { return labels.size(); }
};

// Assigns each example a fold 1 .. k, balanced per class: each class's examples, shuffled
// with `seed`, are dealt round robin over the folds, the deal continuing from one class to
// the next so that fold sizes differ by at most one. Throws avts::Error unless
// 2 <= k <= number of examples.
std::vector<int> stratified_folds(const std::vector<int>& labels, int k, uint64_t seed);

struct SvmOptions {
  double C = 1.0;       // the SVM's cost, unless auto_C
  bool auto_C = false;  // choose C per outer fold by inner cross-validation
  std::vector<double> C_grid = {0.001, 0.01, 0.1, 1.0, 10.0, 100.0};
  int inner_folds = 3;
  uint64_t seed = 0;  // of the inner folds
};

struct FoldScore {
  int fold = 0;  // the fold's id, as given
  int n_train = 0;
  int n_test = 0;
  int n_correct = 0;
  double C = 0;  // the cost the fold's SVM was trained with
  double accuracy() const { return n_test ? static_cast<double>(n_correct) / n_test : 0.0; }
};

struct ProbeScore {
  std::vector<FoldScore> folds;  // in ascending fold id
  double mean_accuracy() const;  // mean over folds (the ESC-50 protocol's figure)
  double std_accuracy() const;   // standard deviation over folds (population)
};

// For each fold id in `folds` (one per example, any integers, at least two distinct):
// trains a one-vs-rest linear SVM (L2-regularised, squared hinge loss, with bias) on the
// other folds and tests on it. Features are standardised with the training part's mean
// and standard deviation, so nothing of the test part leaks into training. A class absent
// from a training part cannot be predicted: its test examples count as errors.
// Deterministic. Throws avts::Error on inconsistent sizes or fewer than two folds.
ProbeScore cross_validate(const ProbeData& data, const std::vector<int>& folds, const SvmOptions& options);

}  // namespace avts
