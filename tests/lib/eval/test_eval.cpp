// avts eval's logic: the sync pairs drawn from embedding streams, their metrics, the offset
// statistics with the sign convention, and the manifest split rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "avts/error.h"
#include "avts/eval.h"

using namespace avts;

namespace {

constexpr int64_t kHop = 40'000'000;  // 40 ms

// A clip whose rows say where they are from: audio and video rows at the same time are
// equal (distance 0), rows elsewhere differ by a code of (clip, time).
EvalClip coded_clip(const std::string& id, int code, int windows, int dim = 4) {
  EvalClip c;
  c.id = id;
  for (int i = 0; i < windows; ++i) {
    std::vector<float> row(dim, 0.0f);
    row[0] = static_cast<float>(code);
    row[1] = static_cast<float>(i) * 0.01f;
    c.audio.append(i * kHop, kHop, 1, dim, row.data());
    c.video.append(i * kHop, kHop, 1, dim, row.data());
  }
  return c;
}

SyncPair pair(PairKind kind, double distance) {
  SyncPair p;
  p.kind = kind;
  p.distance = distance;
  return p;
}

OffsetTrial trial(double shift, double estimate, bool conclusive = true, bool out_of_range = false) {
  OffsetTrial t;
  t.clip = "c";
  t.shift_ms = shift;
  t.truth_ms = true_offset_ms(shift);
  t.estimate_ms = estimate;
  t.conclusive = conclusive;
  t.out_of_range = out_of_range;
  return t;
}

}  // namespace

TEST(EvalSyncPairs, KindsComeFromWhereTheyShould) {
  // 3 s clips at a 40 ms hop: 51 windows.
  const std::vector<EvalClip> clips = {coded_clip("a", 1, 51), coded_clip("b", 2, 51), coded_clip("c", 3, 51)};
  SyncPairOptions options;
  const std::vector<SyncPair> pairs = draw_sync_pairs(clips, options);
  ASSERT_EQ(pairs.size(), 3u * 4u * 3u);  // 3 clips x 4 anchors x (positive, easy, hard)
  std::set<int64_t> anchors;
  for (const SyncPair& p : pairs) {
    switch (p.kind) {
      case PairKind::Positive:
        EXPECT_EQ(p.audio_clip, p.video_clip);
        EXPECT_EQ(p.audio_ns, p.video_ns);
        EXPECT_DOUBLE_EQ(p.distance, 0.0);
        if (p.video_clip == 0) anchors.insert(p.video_ns);
        break;
      case PairKind::Easy:
        EXPECT_NE(p.audio_clip, p.video_clip);
        EXPECT_GE(p.distance, 1.0);  // the clip code differs by at least 1
        break;
      case PairKind::Hard: {
        EXPECT_EQ(p.audio_clip, p.video_clip);
        const double shift = std::fabs(static_cast<double>(p.audio_ns - p.video_ns)) / 1e9;
        EXPECT_GE(shift, 0.5 - 1e-9);
        EXPECT_LE(shift, 2.0 + 1e-9);
        EXPECT_NEAR(p.distance, shift / 0.04 * 0.01, 1e-5);  // the time code, nothing else
        break;
      }
    }
  }
  // Anchors spread evenly from the first window to the last.
  EXPECT_EQ(anchors, (std::set<int64_t>{0, 16 * kHop, 33 * kHop, 50 * kHop}));
}

TEST(EvalSyncPairs, DeterministicWhateverTheOrder) {
  std::vector<EvalClip> clips = {coded_clip("a", 1, 51), coded_clip("b", 2, 51), coded_clip("c", 3, 51)};
  SyncPairOptions options;
  const auto first = draw_sync_pairs(clips, options);
  std::reverse(clips.begin(), clips.end());
  const auto reversed = draw_sync_pairs(clips, options);
  ASSERT_EQ(first.size(), reversed.size());
  // Same pairs, with clip indices into the reversed list.
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].kind, reversed[i].kind);
    EXPECT_EQ(first[i].video_ns, reversed[i].video_ns);
    EXPECT_EQ(first[i].audio_ns, reversed[i].audio_ns);
    EXPECT_EQ(first[i].audio_clip, 2 - reversed[i].audio_clip);
    EXPECT_EQ(first[i].distance, reversed[i].distance);
  }
  // Another seed draws other negatives.
  options.seed = 2;
  const auto other = draw_sync_pairs(clips, options);
  ASSERT_EQ(other.size(), reversed.size());
  int differ = 0;
  for (size_t i = 0; i < other.size(); ++i) differ += other[i].audio_ns != reversed[i].audio_ns;
  EXPECT_GT(differ, 0);
}

TEST(EvalSyncPairs, NegativesOnlyWhereThereIsRoom) {
  // One clip: no easy negatives. 1.2 s of windows (0.00-1.16 s): a hard negative needs a
  // window >= 0.5 s away, which every anchor has.
  const std::vector<EvalClip> alone = {coded_clip("a", 1, 30)};
  auto pairs = draw_sync_pairs(alone, {});
  EXPECT_EQ(std::count_if(pairs.begin(), pairs.end(), [](const SyncPair& p) { return p.kind == PairKind::Easy; }), 0);
  EXPECT_EQ(std::count_if(pairs.begin(), pairs.end(), [](const SyncPair& p) { return p.kind == PairKind::Hard; }), 4);
  // 0.4 s of windows: no hard negative; and fewer windows than anchors: each is one.
  const std::vector<EvalClip> short_clips = {coded_clip("a", 1, 3), coded_clip("b", 2, 51)};
  pairs = draw_sync_pairs(short_clips, {});
  int positives_a = 0, hard_a = 0;
  for (const SyncPair& p : pairs) {
    if (p.video_clip != 0) continue;
    positives_a += p.kind == PairKind::Positive;
    hard_a += p.kind == PairKind::Hard;
  }
  EXPECT_EQ(positives_a, 3);
  EXPECT_EQ(hard_a, 0);
}

TEST(EvalSyncPairs, VideoWithoutAudioUnderItIsNoAnchor) {
  EvalClip c = coded_clip("a", 1, 10);
  c.audio = EmbeddingTrack();
  c.audio.append(5 * kHop + 20'000'000, kHop, 5, 4, std::vector<float>(20, 0.0f).data());  // off the grid
  EXPECT_TRUE(draw_sync_pairs({c}, {}).empty());
}

TEST(EvalSyncPairs, BadInputsThrow) {
  EmbeddingTrack t;
  const std::vector<float> row(8, 0.0f);
  t.append(0, kHop, 1, 4, row.data());
  EXPECT_THROW(t.append(kHop, kHop, 1, 8, row.data()), Error);  // width changes
  EXPECT_THROW(t.append(0, kHop, 1, 4, row.data()), Error);     // time goes back
  SyncPairOptions bad;
  bad.anchors_per_clip = 0;
  EXPECT_THROW(draw_sync_pairs({coded_clip("a", 1, 5)}, bad), Error);
  EXPECT_THROW(draw_sync_pairs({coded_clip("a", 1, 5, 4), coded_clip("b", 1, 5, 6)}, {}), Error);
}

TEST(EvalClassification, KnownAccuracyAndAuc) {
  // Positives 0.2, 0.6; easy 0.4, 0.8; hard 0.1, 0.3. Threshold 0.5: positives in 1/2,
  // easy out 1/2 -> 0.5; hard out 0/2 -> 0.25.
  // AUC easy: (0.4 > 0.2) + (0.8 > 0.2) + (0.8 > 0.6) = 3 of 4; hard: (0.3 > 0.2) = 1 of 4.
  const std::vector<SyncPair> pairs = {pair(PairKind::Positive, 0.2), pair(PairKind::Positive, 0.6),
                                       pair(PairKind::Easy, 0.4),     pair(PairKind::Easy, 0.8),
                                       pair(PairKind::Hard, 0.1),     pair(PairKind::Hard, 0.3)};
  const SyncClassification c = classify_sync(pairs, 0.5);
  EXPECT_EQ(c.positives, 2);
  EXPECT_EQ(c.easy_pairs, 2);
  EXPECT_EQ(c.hard_pairs, 2);
  EXPECT_EQ(c.clips, 1);
  EXPECT_DOUBLE_EQ(c.accuracy_easy, 0.5);
  EXPECT_DOUBLE_EQ(c.accuracy_hard, 0.25);
  EXPECT_DOUBLE_EQ(c.auc_easy, 0.75);
  EXPECT_DOUBLE_EQ(c.auc_hard, 0.25);
  EXPECT_DOUBLE_EQ(c.mean_distance_positive, 0.4);
  EXPECT_DOUBLE_EQ(c.mean_distance_hard, 0.2);
  // The threshold is the caller's: at 0.9 every pair is called in sync.
  EXPECT_DOUBLE_EQ(classify_sync(pairs, 0.9).accuracy_easy, 0.5);
  EXPECT_DOUBLE_EQ(classify_sync(pairs, 0.7).accuracy_easy, 0.75);
}

TEST(EvalClassification, NoNegativesGiveNaN) {
  const SyncClassification c = classify_sync({pair(PairKind::Positive, 0.2)}, 0.5);
  EXPECT_TRUE(std::isnan(c.accuracy_easy));
  EXPECT_TRUE(std::isnan(c.auc_hard));
  EXPECT_TRUE(std::isnan(c.mean_distance_easy));
}

TEST(EvalOffsets, SignAndTolerance) {
  // Audio moved 120 ms earlier is audio early by 120 ms: the truth is +120.
  EXPECT_EQ(true_offset_ms(120), 120);
  EXPECT_TRUE(offset_correct(trial(120, 120), 40));
  EXPECT_FALSE(offset_correct(trial(120, -120), 40));
  EXPECT_TRUE(offset_correct(trial(-80, -40), 40));               // one frame off: still correct
  EXPECT_FALSE(offset_correct(trial(-80, -39.5), 40));            // more than a frame
  EXPECT_FALSE(offset_correct(trial(0, 0, false), 40));           // inconclusive
  EXPECT_FALSE(offset_correct(trial(400, 400, true, true), 40));  // at the edge: no estimate
}

TEST(EvalOffsets, Summary) {
  std::vector<OffsetTrial> trials = {
      trial(40, 40),                  // correct
      trial(40, 100),                 // wrong by 60
      trial(40, 0, false),            // inconclusive
      trial(-200, -190),              // correct, off by 10
      trial(-200, -600, true, true),  // out of range, off by 400
  };
  for (OffsetTrial& t : trials) t.windows = 4;  // every one judged some windows
  OffsetAccuracy a = summarize_offsets(trials, 40);
  EXPECT_EQ(a.overall.trials, 5);
  EXPECT_EQ(a.overall.correct, 2);
  EXPECT_EQ(a.overall.inconclusive, 1);
  EXPECT_EQ(a.overall.no_estimate, 0);
  EXPECT_EQ(a.overall.out_of_range, 1);
  EXPECT_DOUBLE_EQ(a.overall.accuracy, 2.0 / 5);
  EXPECT_DOUBLE_EQ(a.overall.conclusive_accuracy, 2.0 / 4);
  EXPECT_DOUBLE_EQ(a.overall.inconclusive_share, 1.0 / 5);
  EXPECT_DOUBLE_EQ(a.overall.mean_abs_error_ms, (0 + 60 + 10 + 400) / 4.0);
  ASSERT_EQ(a.shifts_ms, (std::vector<double>{-200, 40}));
  EXPECT_EQ(a.per_shift[0].trials, 2);
  EXPECT_DOUBLE_EQ(a.per_shift[0].accuracy, 0.5);
  EXPECT_DOUBLE_EQ(a.per_shift[0].mean_abs_error_ms, 205);
  EXPECT_EQ(a.per_shift[1].trials, 3);
  EXPECT_DOUBLE_EQ(a.per_shift[1].accuracy, 1.0 / 3);
  EXPECT_DOUBLE_EQ(a.per_shift[1].inconclusive_share, 1.0 / 3);
  EXPECT_DOUBLE_EQ(a.per_shift[1].mean_abs_error_ms, 30);
  // A clip too short for the search: inconclusive, and counted as having no estimate at all.
  std::vector<OffsetTrial> with_short = trials;
  with_short.push_back(trial(400, 0, false));
  with_short.back().windows = 0;
  a = summarize_offsets(with_short, 40);
  EXPECT_EQ(a.overall.inconclusive, 2);
  EXPECT_EQ(a.overall.no_estimate, 1);
}

TEST(EvalOffsets, AllInconclusiveHasNoError) {
  const OffsetAccuracy a = summarize_offsets({trial(0, 5, false)}, 40);
  EXPECT_DOUBLE_EQ(a.overall.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(a.overall.inconclusive_share, 1.0);
  EXPECT_TRUE(std::isnan(a.overall.mean_abs_error_ms));
  EXPECT_TRUE(std::isnan(a.overall.conclusive_accuracy));
}

// Answers at a minimum confidence: precision over the answers, coverage over the trials, and
// the lowest threshold whose answers are right 95 % of the time.
TEST(EvalAnswers, PrecisionCoverageAndCalibration) {
  std::vector<OffsetTrial> trials;
  // 20 confident right answers (confidence 0.5 .. 0.69), 10 unsure wrong ones (0.1 .. 0.19),
  // one confident wrong one (0.605), one out of range (0.9) and one with nothing judged.
  for (int i = 0; i < 20; ++i) trials.push_back(trial(200, 210));
  for (int i = 0; i < 20; ++i) trials[i].confidence = 0.5 + 0.01 * i;
  for (int i = 0; i < 10; ++i) {
    trials.push_back(trial(0, 300, false));
    trials.back().confidence = 0.1 + 0.01 * i;
  }
  trials.push_back(trial(-40, 120));
  trials.back().confidence = 0.605;
  trials.push_back(trial(400, 600, true, /*out_of_range=*/true));
  trials.back().confidence = 0.9;
  for (OffsetTrial& t : trials) t.windows = 10;
  trials.push_back(trial(0, 0, false));  // windows 0: never an answer
  ASSERT_EQ(trials.size(), 33u);

  const AnswerStats forced = answers_at(trials, 0, 40);
  EXPECT_EQ(forced.answered, 32);
  EXPECT_EQ(forced.right, 20);
  EXPECT_NEAR(forced.coverage, 32.0 / 33, 1e-12);
  const AnswerStats high = answers_at(trials, 0.5, 40);
  EXPECT_EQ(high.answered, 22);
  EXPECT_EQ(high.right, 20);
  EXPECT_NEAR(high.precision, 20.0 / 22, 1e-12);

  // 95 %: the out-of-range answer at 0.9 keeps every threshold with 10 answers or more below
  // it (0.61: 9 right of 10; above that fewer than 10 answers)...
  EXPECT_FALSE(calibrate_min_confidence(trials, 0.95, 40).has_value());
  // ...and without it 0.5 qualifies: the 20 right answers and the wrong one at 0.605, 20 / 21;
  // asking for 25 answers or more, nothing does.
  trials.erase(trials.begin() + 31);
  const auto calibrated = calibrate_min_confidence(trials, 0.95, 40);
  ASSERT_TRUE(calibrated.has_value());
  EXPECT_NEAR(calibrated->min_confidence, 0.5, 1e-9);
  EXPECT_EQ(calibrated->answered, 21);
  EXPECT_EQ(calibrated->right, 20);
  EXPECT_FALSE(calibrate_min_confidence(trials, 0.95, 40, 25).has_value());
  // 90 %: the lowest threshold is 0.19, which answers the 20 right ones and two wrong ones
  // (0.19 and 0.605): 20 / 22.
  const auto ninety = calibrate_min_confidence(trials, 0.9, 40);
  ASSERT_TRUE(ninety.has_value());
  EXPECT_NEAR(ninety->min_confidence, 0.19, 1e-9);
  EXPECT_EQ(ninety->answered, 22);
  EXPECT_EQ(ninety->right, 20);
}

TEST(EvalSplit, TagsWinAndAutoFollowsTheTrainersRule) {
  EXPECT_EQ(resolved_split(Split::Train, "x.mp4"), Split::Train);
  EXPECT_EQ(resolved_split(Split::Validation, "x.mp4"), Split::Validation);
  int validation = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "/media/clip" + std::to_string(i) + ".mp4";
    const Split s = resolved_split(Split::Auto, id);
    ASSERT_NE(s, Split::Auto);
    EXPECT_EQ(s, resolved_split(Split::Auto, id));  // stable
    validation += s == Split::Validation;
  }
  EXPECT_NEAR(validation / 2000.0, TrainOptions().validation_fraction, 0.03);
}
