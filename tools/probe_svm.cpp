#include "probe_svm.h"

#include <linear.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "avts/error.h"

namespace avts {

namespace {

using Rows = std::vector<size_t>;

// liblinear reports its solver's progress on stdout unless told otherwise.
void quiet(const char*) {}

// Per-feature mean and scale, fitted on training rows only.
struct Standardiser {
  std::vector<double> mean, inv_std;

  Standardiser(const ProbeData& data, const Rows& rows) : mean(data.dim, 0.0), inv_std(data.dim, 1.0) {
    std::vector<double> sq(data.dim, 0.0);
    for (size_t r : rows) {
      const float* x = &data.features[r * data.dim];
      for (int j = 0; j < data.dim; ++j) {
        mean[j] += x[j];
        sq[j] += static_cast<double>(x[j]) * x[j];
      }
    }
    const double n = static_cast<double>(rows.size());
    for (int j = 0; j < data.dim; ++j) {
      mean[j] /= n;
      const double var = sq[j] / n - mean[j] * mean[j];
      // A constant feature (variance at rounding level) stays as it is, centred at 0.
      if (var > 1e-12 * sq[j] / n) inv_std[j] = 1.0 / std::sqrt(var);
    }
  }

  // One row in liblinear's form: features 1..dim, the bias term dim+1, the terminator.
  void row(const ProbeData& data, size_t r, feature_node* out) const {
    const float* x = &data.features[r * data.dim];
    for (int j = 0; j < data.dim; ++j) out[j] = {j + 1, (x[j] - mean[j]) * inv_std[j]};
    out[data.dim] = {data.dim + 1, 1.0};
    out[data.dim + 1] = {-1, 0.0};
  }
};

// One-vs-rest linear SVM trained on some rows of the data.
class LinearSvm {
 public:
  LinearSvm(const ProbeData& data, const Rows& rows, double C) : standardiser_(data, rows) {
    const std::set<int> classes = [&] {
      std::set<int> s;
      for (size_t r : rows) s.insert(data.labels[r]);
      return s;
    }();
    if (classes.size() == 1) {  // nothing to separate: every answer is that class
      only_class_ = *classes.begin();
      return;
    }
    const size_t width = static_cast<size_t>(data.dim) + 2;
    std::vector<feature_node> nodes(rows.size() * width);
    std::vector<feature_node*> x(rows.size());
    std::vector<double> y(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      x[i] = &nodes[i * width];
      standardiser_.row(data, rows[i], x[i]);
      y[i] = data.labels[rows[i]];
    }
    problem prob{};
    prob.l = static_cast<int>(rows.size());
    prob.n = data.dim + 1;
    prob.y = y.data();
    prob.x = x.data();
    prob.bias = 1.0;
    // The primal solver (trust-region Newton) is deterministic; the dual ones shuffle with rand().
    parameter param{};
    param.solver_type = L2R_L2LOSS_SVC;
    param.eps = 0.01;
    param.C = C;
#if LIBLINEAR_VERSION >= 240
    param.regularize_bias = 1;  // as liblinear's own default, and as older versions always did
#endif
    if (const char* why = check_parameter(&prob, &param)) throw Error(std::string("liblinear: ") + why);
    set_print_string_function(quiet);
    model_ = ::train(&prob, &param);  // copies what it keeps: nodes may go
  }

  ~LinearSvm() {
    if (model_) free_and_destroy_model(&model_);
  }
  LinearSvm(const LinearSvm&) = delete;
  LinearSvm& operator=(const LinearSvm&) = delete;

  int count_correct(const ProbeData& data, const Rows& test) const {
    std::vector<feature_node> x(static_cast<size_t>(data.dim) + 2);
    int correct = 0;
    for (size_t r : test) {
      int guess = only_class_;
      if (model_) {
        standardiser_.row(data, r, x.data());
        guess = static_cast<int>(predict(model_, x.data()));
      }
      correct += guess == data.labels[r];
    }
    return correct;
  }

 private:
  Standardiser standardiser_;
  model* model_ = nullptr;
  int only_class_ = -1;
};

// Fisher-Yates with mt19937_64, whose output the standard fixes (std::shuffle's is not).
void shuffle(Rows& rows, std::mt19937_64& rng) {
  for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng() % i]);
}

// The C of the grid with the best pooled accuracy over inner folds of `train`; ties go to the
// smaller C (the more regularised model).
double choose_C(const ProbeData& data, const Rows& train, const SvmOptions& options) {
  const int k = std::min<int>(options.inner_folds, static_cast<int>(train.size()));
  if (k < 2 || options.C_grid.empty()) return options.C;
  std::vector<int> labels(train.size());
  for (size_t i = 0; i < train.size(); ++i) labels[i] = data.labels[train[i]];
  const std::vector<int> inner = stratified_folds(labels, k, options.seed);
  std::vector<double> grid = options.C_grid;
  std::sort(grid.begin(), grid.end());
  double best_C = grid.front();
  int best_correct = -1;
  for (double C : grid) {
    int correct = 0;
    for (int f = 1; f <= k; ++f) {
      Rows fit, held_out;
      for (size_t i = 0; i < train.size(); ++i) (inner[i] == f ? held_out : fit).push_back(train[i]);
      correct += LinearSvm(data, fit, C).count_correct(data, held_out);
    }
    if (correct > best_correct) {
      best_correct = correct;
      best_C = C;
    }
  }
  return best_C;
}

}  // namespace

std::vector<int> stratified_folds(const std::vector<int>& labels, int k, uint64_t seed) {
  if (k < 2) throw Error("at least 2 folds are needed, got " + std::to_string(k));
  if (static_cast<size_t>(k) > labels.size())
    throw Error(std::to_string(k) + " folds need at least " + std::to_string(k) + " examples, got " +
                std::to_string(labels.size()));
  std::map<int, Rows> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<int> folds(labels.size());
  int next = 0;
  for (auto& [label, rows] : by_class) {
    shuffle(rows, rng);
    for (size_t r : rows) folds[r] = 1 + next++ % k;
  }
  return folds;
}

double ProbeScore::mean_accuracy() const {
  if (folds.empty()) return 0.0;
  double sum = 0;
  for (const auto& f : folds) sum += f.accuracy();
  return sum / static_cast<double>(folds.size());
}

double ProbeScore::std_accuracy() const {
  if (folds.empty()) return 0.0;
  const double mean = mean_accuracy();
  double sum = 0;
  for (const auto& f : folds) sum += (f.accuracy() - mean) * (f.accuracy() - mean);
  return std::sqrt(sum / static_cast<double>(folds.size()));
}

ProbeScore cross_validate(const ProbeData& data, const std::vector<int>& folds, const SvmOptions& options) {
  const size_t n = data.size();
  if (data.dim < 1 || data.features.size() != n * static_cast<size_t>(data.dim))
    throw Error("probe data: " + std::to_string(data.features.size()) + " features for " + std::to_string(n) +
                " examples of dimension " + std::to_string(data.dim));
  if (folds.size() != n)
    throw Error("probe data: " + std::to_string(folds.size()) + " fold ids for " + std::to_string(n) + " examples");
  const std::set<int> fold_ids(folds.begin(), folds.end());
  if (fold_ids.size() < 2)
    throw Error("cross-validation needs at least 2 folds, the examples are in " + std::to_string(fold_ids.size()));

  ProbeScore score;
  for (int f : fold_ids) {
    Rows train, test;
    for (size_t i = 0; i < n; ++i) (folds[i] == f ? test : train).push_back(i);
    FoldScore fold;
    fold.fold = f;
    fold.n_train = static_cast<int>(train.size());
    fold.n_test = static_cast<int>(test.size());
    fold.C = options.auto_C ? choose_C(data, train, options) : options.C;
    fold.n_correct = LinearSvm(data, train, fold.C).count_correct(data, test);
    score.folds.push_back(fold);
  }
  return score;
}

}  // namespace avts
