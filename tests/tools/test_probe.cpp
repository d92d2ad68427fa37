// The linear probe's plain-C++ parts: SVM cross-validation on synthetic features with a
// known answer, fold assignment, and the labelled-clip manifests.
#include <glib.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "avts/error.h"
#include "probe_manifest.h"
#include "probe_svm.h"

namespace avts {
namespace {

// `per_class` examples of each of `n_classes` Gaussian blobs in `dim` dimensions: class c
// is centred at `separation` along axis c, unit noise elsewhere.
ProbeData blobs(int n_classes, int per_class, int dim, double separation, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  ProbeData d;
  d.dim = dim;
  for (int i = 0; i < per_class; ++i)
    for (int c = 0; c < n_classes; ++c) {
      for (int j = 0; j < dim; ++j) d.features.push_back(noise(rng) + (j == c ? separation : 0.0f));
      d.labels.push_back(c);
    }
  return d;
}

std::vector<int> fold_of_each(size_t n, int k) {
  std::vector<int> folds(n);
  for (size_t i = 0; i < n; ++i) folds[i] = 1 + static_cast<int>(i % k);
  return folds;
}

int total_correct(const ProbeScore& s) {
  int n = 0;
  for (const auto& f : s.folds) n += f.n_correct;
  return n;
}

TEST(ProbeSvm, WellSeparatedClassesAreAllRecognised) {
  const ProbeData d = blobs(3, 20, 6, 8.0, 1);
  const ProbeScore s = cross_validate(d, stratified_folds(d.labels, 5, 0), {});
  ASSERT_EQ(s.folds.size(), 5u);
  EXPECT_DOUBLE_EQ(s.mean_accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(s.std_accuracy(), 0.0);
}

TEST(ProbeSvm, LabelNoiseSetsTheAccuracy) {
  // The sign of feature 0 is the class, with a margin; every fifth label is flipped. A linear
  // classifier that generalises gets the clean 80 % right and the flipped 20 % wrong.
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  ProbeData d;
  d.dim = 4;
  for (int i = 0; i < 200; ++i) {
    const int clean = i % 2;
    d.features.push_back(clean ? u(rng) : -u(rng));
    for (int j = 1; j < d.dim; ++j) d.features.push_back(noise(rng));
    d.labels.push_back(i % 5 == 0 ? 1 - clean : clean);
  }
  const ProbeScore s = cross_validate(d, fold_of_each(d.size(), 5), {});
  EXPECT_NEAR(s.mean_accuracy(), 0.8, 0.03);
}

TEST(ProbeSvm, RandomLabelsStayAtChance) {
  // Nothing of a test fold may leak into its training: labels unrelated to the features
  // give chance accuracy, however well the SVM fits the training part.
  ProbeData d = blobs(1, 400, 32, 0.0, 3);
  std::mt19937_64 rng(4);
  for (int& label : d.labels) label = static_cast<int>(rng() % 2);
  const ProbeScore s = cross_validate(d, stratified_folds(d.labels, 5, 0), {});
  EXPECT_NEAR(s.mean_accuracy(), 0.5, 0.08);
}

TEST(ProbeSvm, FeaturesAreStandardised) {
  // The class lives in a feature a million times smaller than the noise features: only
  // after standardisation can a regularised SVM give it the weight it needs.
  std::mt19937_64 rng(5);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  ProbeData d;
  d.dim = 5;
  for (int i = 0; i < 100; ++i) {
    d.labels.push_back(i % 2);
    d.features.push_back((i % 2 ? 1e-6f : -1e-6f) * (1.0f + 0.1f * noise(rng)));
    for (int j = 1; j < d.dim; ++j) d.features.push_back(noise(rng));
  }
  EXPECT_DOUBLE_EQ(cross_validate(d, stratified_folds(d.labels, 4, 0), {}).mean_accuracy(), 1.0);
}

TEST(ProbeSvm, AutoCPicksTheCostThatWorks) {
  // The class is x0 - x1; both share a large common term. A vanishing C leaves w along the
  // class means' difference (x0 alone), which the common term swamps; C = 1 finds x0 - x1.
  std::mt19937_64 rng(6);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  ProbeData d;
  d.dim = 2;
  for (int i = 0; i < 90; ++i) {
    const float common = 5.0f * noise(rng);
    d.labels.push_back(i % 2);
    d.features.push_back((i % 2 ? 1.0f : -1.0f) + common + 0.05f * noise(rng));
    d.features.push_back(common + 0.05f * noise(rng));
  }
  const std::vector<int> folds = stratified_folds(d.labels, 3, 0);
  SvmOptions tiny;
  tiny.C = 1e-7;
  EXPECT_LT(cross_validate(d, folds, tiny).mean_accuracy(), 0.7);
  SvmOptions automatic;
  automatic.auto_C = true;
  automatic.C_grid = {1.0, 1e-7};
  const ProbeScore s = cross_validate(d, folds, automatic);
  for (const auto& f : s.folds) EXPECT_EQ(f.C, 1.0);
  EXPECT_GT(s.mean_accuracy(), 0.95);
}

TEST(ProbeSvm, IsDeterministic) {
  const ProbeData d = blobs(4, 15, 10, 1.0, 7);
  const auto folds = stratified_folds(d.labels, 5, 0);
  const ProbeScore a = cross_validate(d, folds, {}), b = cross_validate(d, folds, {});
  for (size_t f = 0; f < a.folds.size(); ++f) EXPECT_EQ(a.folds[f].n_correct, b.folds[f].n_correct);
}

TEST(ProbeFolds, GivenFoldIdsAreUsedAsTheyAre) {
  const ProbeData d = blobs(2, 6, 3, 8.0, 8);  // 12 examples
  std::vector<int> folds = {9, 3, 7, 9, 3, 7, 9, 3, 7, 9, 9, 9};
  const ProbeScore s = cross_validate(d, folds, {});
  ASSERT_EQ(s.folds.size(), 3u);
  const std::map<int, int> expected_test = {{3, 3}, {7, 3}, {9, 6}};
  for (const auto& f : s.folds) {
    ASSERT_TRUE(expected_test.count(f.fold)) << f.fold;
    EXPECT_EQ(f.n_test, expected_test.at(f.fold));
    EXPECT_EQ(f.n_train, 12 - f.n_test);
  }
  EXPECT_EQ(s.folds.front().fold, 3);
  EXPECT_EQ(s.folds.back().fold, 9);
}

TEST(ProbeFolds, OneFoldOrMismatchedSizesAreRefused) {
  const ProbeData d = blobs(2, 5, 3, 8.0, 9);
  EXPECT_THROW(cross_validate(d, std::vector<int>(d.size(), 1), {}), Error);
  EXPECT_THROW(cross_validate(d, std::vector<int>(d.size() - 1, 1), {}), Error);
}

TEST(ProbeFolds, StratifiedFoldsBalanceEveryClass) {
  std::vector<int> labels;
  for (int i = 0; i < 23; ++i) labels.push_back(0);
  for (int i = 0; i < 11; ++i) labels.push_back(1);
  for (int i = 0; i < 7; ++i) labels.push_back(2);
  const int k = 5;
  const std::vector<int> folds = stratified_folds(labels, k, 42);
  ASSERT_EQ(folds.size(), labels.size());
  std::map<int, int> size;
  std::map<std::pair<int, int>, int> per_class;
  for (size_t i = 0; i < folds.size(); ++i) {
    ASSERT_GE(folds[i], 1);
    ASSERT_LE(folds[i], k);
    ++size[folds[i]];
    ++per_class[{labels[i], folds[i]}];
  }
  EXPECT_EQ(size.size(), static_cast<size_t>(k));
  for (const auto& [f, n] : size) EXPECT_TRUE(n == 8 || n == 9) << "fold " << f << ": " << n;
  for (int c = 0; c < 3; ++c) {
    int lo = 1 << 30, hi = 0;
    for (int f = 1; f <= k; ++f) lo = std::min(lo, per_class[{c, f}]), hi = std::max(hi, per_class[{c, f}]);
    EXPECT_LE(hi - lo, 1) << "class " << c;
  }
  EXPECT_EQ(stratified_folds(labels, k, 42), folds);
  EXPECT_NE(stratified_folds(labels, k, 43), folds);
}

TEST(ProbeFolds, FoldCountMustFitTheData) {
  EXPECT_THROW(stratified_folds({0, 1, 0}, 1, 0), Error);
  EXPECT_THROW(stratified_folds({0, 1, 0}, 4, 0), Error);
  EXPECT_NO_THROW(stratified_folds({0, 1, 0}, 3, 0));
}

TEST(ProbeSvm, AClassWithOneExampleCountsAsOneError) {
  // Two separable classes and a third, far away, with one example: wherever that example is
  // tested, its class is absent from training, so it is the only error.
  ProbeData d = blobs(2, 10, 3, 8.0, 10);
  d.features.insert(d.features.end(), {0.0f, 0.0f, 30.0f});
  d.labels.push_back(2);
  const std::vector<int> folds = stratified_folds(d.labels, 5, 0);
  const ProbeScore s = cross_validate(d, folds, {});
  EXPECT_EQ(total_correct(s), 20);
  for (const auto& f : s.folds) EXPECT_EQ(f.n_test - f.n_correct, f.fold == folds.back() ? 1 : 0) << "fold " << f.fold;
}

TEST(ProbeSvm, ATrainingPartOfOneClassPredictsThatClass) {
  const ProbeData d = blobs(2, 6, 3, 8.0, 11);
  // Each fold holds one class: training on the other sees only that other class.
  const ProbeScore s = cross_validate(d, d.labels, {});
  EXPECT_EQ(total_correct(s), 0);
}

// --- manifests --------------------------------------------------------------------------

std::vector<LabelledClip> parse(const std::string& text, const std::string& root = "") {
  std::istringstream in(text);
  return parse_probe_manifest(in, "labels.tsv", root);
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ProbeManifest, ReadsPathsLabelsAndFolds) {
  const auto clips = parse(
      "# path label fold\n"
      "\n"
      "a.wav dog 1\n"
      "  /abs/b.wav\tcat\t2   # a comment\n"
      "file:///c%20d.wav dog 12\n",
      "/media");
  ASSERT_EQ(clips.size(), 3u);
  EXPECT_EQ(clips[0].input, "/media/a.wav");
  EXPECT_EQ(clips[0].label, "dog");
  EXPECT_EQ(clips[0].fold, 1);
  EXPECT_EQ(clips[0].line, 3);
  EXPECT_EQ(clips[1].input, "/abs/b.wav");
  EXPECT_EQ(clips[1].label, "cat");
  EXPECT_EQ(clips[1].fold, 2);
  EXPECT_EQ(clips[2].input, "file:///c%20d.wav");
  EXPECT_EQ(clips[2].fold, 12);
  const auto no_folds = parse("x.wav a\ny.wav b\n");
  EXPECT_EQ(no_folds[0].input, "x.wav");
  EXPECT_EQ(no_folds[1].fold, 0);
}

TEST(ProbeManifest, MalformedLinesAreNamedByNumber) {
  EXPECT_EQ(error_of("a.wav dog\nb.wav cat\nc.wav\n"),
            "labels.tsv:3: expected 'PATH LABEL [FOLD]', got only 'c.wav' (no label)");
  EXPECT_NE(error_of("a.wav dog 1\n# x\nb c d e\n").find("labels.tsv:3: expected 'PATH LABEL [FOLD]', got 4 columns"),
            std::string::npos);
  EXPECT_EQ(error_of("a.wav dog one\n"), "labels.tsv:1: fold 'one' is not a positive integer");
  EXPECT_EQ(error_of("a.wav dog 1\nb.wav dog 0\n"), "labels.tsv:2: fold '0' is not a positive integer");
  EXPECT_NE(error_of("a.wav dog 1\nb.wav cat\n").find("labels.tsv:2: gives no fold but line 1 does"),
            std::string::npos);
  EXPECT_NE(error_of("a.wav dog\n\nb.wav cat 3\n").find("labels.tsv:3: gives a fold but line 1 does not"),
            std::string::npos);
  EXPECT_NE(error_of("# nothing\n\n").find("labels.tsv: no labelled clips"), std::string::npos);
}

class TempDir {
 public:
  TempDir() {
    gchar* d = g_dir_make_tmp("avts-probe-test-XXXXXX", nullptr);
    path_ = d;
    g_free(d);
  }
  ~TempDir() {
    // Only what the tests wrote: one file in one subfolder.
    g_remove((path_ + "/meta/esc50.csv").c_str());
    g_rmdir((path_ + "/meta").c_str());
    g_rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    g_mkdir_with_parents((path_ + "/meta").c_str(), 0700);
    std::ofstream(path_ + "/" + name) << text;
  }

 private:
  std::string path_;
};

TEST(ProbeManifest, ReadsTheEsc50Layout) {
  TempDir dir;
  dir.write("meta/esc50.csv",
            "filename,fold,target,category,esc10,src_file,take\r\n"
            "1-100032-A-0.wav,1,0,dog,True,100032,A\r\n"
            "2-109505-A-21.wav,2,21,sneezing,False,109505,A\r\n");
  const auto clips = read_esc50(dir.path());
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].input, dir.path() + "/audio/1-100032-A-0.wav");
  EXPECT_EQ(clips[0].label, "dog");
  EXPECT_EQ(clips[0].fold, 1);
  EXPECT_EQ(clips[1].label, "sneezing");
  EXPECT_EQ(clips[1].fold, 2);
  EXPECT_EQ(clips[1].line, 3);

  dir.write("meta/esc50.csv", "filename,fold,target\n1-1-A-0.wav,1,0\n");
  EXPECT_THROW(read_esc50(dir.path()), Error);
  dir.write("meta/esc50.csv", "filename,fold,target,category\n1-1-A-0.wav,1,0,dog\n1-2-A-0.wav,x,0,dog\n");
  try {
    read_esc50(dir.path());
    FAIL() << "a bad fold was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("esc50.csv:3: fold 'x'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_esc50(dir.path() + "/missing"), Error);
}

}  // namespace
}  // namespace avts
