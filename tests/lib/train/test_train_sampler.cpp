// Sampling: anchors, positives, easy negatives really from another file, hard negatives in
// the shift range and inside the file, the curriculum's mix, the fixed validation pairs.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "avts/error.h"
#include "train_fixtures.h"

using namespace avts;
using namespace avts::train;
using avts::test::stored_file;
using avts::test::tiny_train_config;

namespace {

using Bank = std::vector<std::shared_ptr<const StoredFile>>;

TrainOptions paper_options() {
  TrainOptions o;
  o.curriculum = Curriculum::PaperFine;
  o.easy_epochs = 2;
  o.mixed_epochs = 3;
  return o;
}

}  // namespace

TEST(TrainSampler, CurriculumStages) {
  const ModelConfig c = tiny_train_config();
  TrainOptions o = paper_options();
  for (int e : {0, 1}) {
    EXPECT_EQ(stage_for_epoch(o, c, e).number, 1);
    EXPECT_EQ(stage_for_epoch(o, c, e).hard_fraction, 0.0);
  }
  for (int e : {2, 4}) {
    const Stage s = stage_for_epoch(o, c, e);
    EXPECT_EQ(s.number, 2);
    EXPECT_EQ(s.hard_fraction, 0.25);
    EXPECT_EQ(s.shift_min, 50);  // 0.5 s of 10 ms log-mel frames
    EXPECT_EQ(s.shift_max, 200);
  }
  const Stage fine = stage_for_epoch(o, c, 5);
  EXPECT_EQ(fine.number, 3);
  EXPECT_EQ(fine.hard_fraction, 0.25);
  EXPECT_EQ(fine.shift_min, 8);  // 80 ms: two video frames
  EXPECT_EQ(fine.shift_max, 40);

  o.curriculum = Curriculum::Paper;
  EXPECT_EQ(stage_for_epoch(o, c, 100).number, 2);
  o.curriculum = Curriculum::None;
  EXPECT_EQ(stage_for_epoch(o, c, 0).number, 2);
  o.curriculum = Curriculum::EasyOnly;
  EXPECT_EQ(stage_for_epoch(o, c, 100).number, 1);
}

TEST(TrainSampler, ClipStartsKeepBothStreamsInsideTheFile) {
  // 75 video frames, 300 log-mel frames (3 s): starts 0..50 (video bound and audio bound).
  EXPECT_EQ(stored_file("a", 75, 300)->clip_starts(), 51);
  // Audio shorter (2 s): 4 j + 100 <= 200 -> j <= 25.
  EXPECT_EQ(stored_file("a", 75, 200)->clip_starts(), 26);
  // Video shorter.
  EXPECT_EQ(stored_file("a", 30, 300)->clip_starts(), 6);
  // Less than a clip of either.
  EXPECT_EQ(stored_file("a", 24, 300)->clip_starts(), 0);
  EXPECT_EQ(stored_file("a", 75, 99)->clip_starts(), 0);
  EXPECT_EQ(anchor_slots(*stored_file("a", 75, 99)), 0);
}

TEST(TrainSampler, AnchorsCoverTheirSlot) {
  const auto f = stored_file("a", 75, 300);  // starts 0..50, two slots
  ASSERT_EQ(anchor_slots(*f), 2);
  Rng rng(1);
  std::set<int64_t> seen0, seen1;
  for (int i = 0; i < 2000; ++i) {
    seen0.insert(draw_anchor_start(*f, 0, rng));
    seen1.insert(draw_anchor_start(*f, 1, rng));
  }
  EXPECT_EQ(*seen0.begin(), 0);
  EXPECT_EQ(*seen0.rbegin(), 24);
  EXPECT_EQ(seen0.size(), 25u);
  EXPECT_EQ(*seen1.begin(), 25);
  EXPECT_EQ(*seen1.rbegin(), 50);  // the last slot takes the remainder
  EXPECT_EQ(seen1.size(), 26u);
  EXPECT_EQ(anchor_slots(*stored_file("b", 30, 300)), 1);  // shorter than two clips: one slot
}

TEST(TrainSampler, HardShiftsAreInRangeInsideTheFileAndUniform) {
  const auto f = stored_file("a", 75, 300);  // audio starts 0..200
  Rng rng(2);
  std::map<int64_t, int> count;
  for (int i = 0; i < 40800; ++i) {
    const auto shift = draw_hard_shift(*f, 100, 50, 200, rng);
    ASSERT_TRUE(shift);
    ASSERT_GE(std::abs(*shift), 50);
    ASSERT_LE(std::abs(*shift), 200);
    ASSERT_GE(100 + *shift, 0);
    ASSERT_LE(100 + *shift, 200);
    ++count[*shift];
  }
  // Feasible: -100..-50 and 50..100, 102 shifts, 400 draws each expected.
  EXPECT_EQ(count.size(), 102u);
  for (const auto& [shift, n] : count) EXPECT_NEAR(n, 400, 100) << shift;
  // At the file's start only forward shifts fit.
  for (int i = 0; i < 1000; ++i) EXPECT_GE(*draw_hard_shift(*f, 0, 50, 200, rng), 50);
}

TEST(TrainSampler, NoHardShiftInAShortFile) {
  const auto f = stored_file("a", 75, 140);  // audio starts 0..40: no room for 0.5 s
  Rng rng(3);
  EXPECT_FALSE(draw_hard_shift(*f, 20, 50, 200, rng));
  EXPECT_TRUE(draw_hard_shift(*f, 20, 8, 40, rng));
}

TEST(TrainSampler, EasyNegativesComeFromAnotherFile) {
  const Bank bank{stored_file("a", 75, 300, 1), stored_file("b", 75, 300, 2), stored_file("c", 75, 250, 3)};
  Rng rng(4);
  std::map<std::string, int> from;
  for (int i = 0; i < 3000; ++i) {
    const AudioRef ref = draw_easy(bank, *bank[0], rng);
    ASSERT_NE(ref.file->id, "a");
    ASSERT_GE(ref.start, 0);
    ASSERT_LT(ref.start, ref.file->audio_starts());
    ++from[ref.file->id];
  }
  EXPECT_NEAR(from["b"], 1500, 150);
  EXPECT_NEAR(from["c"], 1500, 150);
  // A bank with only the anchor's own file (even as a second copy) has no easy negative.
  EXPECT_THROW(draw_easy({bank[0], stored_file("a", 75, 300)}, *bank[0], rng), Error);
}

TEST(TrainSampler, CurriculumMixIsWhatWasAsked) {
  const ModelConfig c = tiny_train_config();
  const Bank bank{stored_file("a", 250, 1000, 1), stored_file("b", 250, 1000, 2)};
  const TrainOptions o = paper_options();
  for (int epoch : {0, 2, 5}) {
    const Stage stage = stage_for_epoch(o, c, epoch);
    Rng rng(5);
    int hard = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const int64_t start = draw_anchor_start(*bank[0], i % anchor_slots(*bank[0]), rng);
      const Sample s = draw_sample(stage, bank[0], start, bank, rng);
      ASSERT_FALSE(s.hard_fallback);
      ASSERT_EQ(s.file->id, "a");
      if (s.kind == NegativeKind::Hard) {
        ++hard;
        ASSERT_EQ(s.negative.file->id, "a");
        const int64_t shift = std::abs(s.negative.start - s.file->audio_start(start));
        ASSERT_GE(shift, stage.shift_min);
        ASSERT_LE(shift, stage.shift_max);
      } else {
        ASSERT_EQ(s.negative.file->id, "b");
      }
    }
    EXPECT_NEAR(static_cast<double>(hard) / n, stage.hard_fraction, 0.012) << "epoch " << epoch;
  }
}

TEST(TrainSampler, ShortFilesFallBackToEasyNegatives) {
  const ModelConfig c = tiny_train_config();
  const Bank bank{stored_file("short", 30, 120, 1), stored_file("b", 75, 300, 2)};
  const Stage stage = stage_for_epoch(TrainOptions{}, c, 20);  // Paper, stage 2
  Rng rng(6);
  int fallbacks = 0;
  for (int i = 0; i < 4000; ++i) {
    const Sample s = draw_sample(stage, bank[0], 0, bank, rng);
    ASSERT_EQ(s.kind, NegativeKind::Easy);
    ASSERT_EQ(s.negative.file->id, "b");
    fallbacks += s.hard_fallback;
  }
  EXPECT_NEAR(fallbacks / 4000.0, 0.25, 0.03);
}

TEST(TrainSampler, SameSeedSameDraws) {
  const Bank bank{stored_file("a", 250, 1000, 1), stored_file("b", 250, 1000, 2)};
  const Stage stage = stage_for_epoch(TrainOptions{}, tiny_train_config(), 20);
  Rng r1 = seeded_rng({7, 3}), r2 = seeded_rng({7, 3}), r3 = seeded_rng({7, 4});
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const Sample a = draw_sample(stage, bank[0], 10, bank, r1);
    const Sample b = draw_sample(stage, bank[0], 10, bank, r2);
    const Sample c = draw_sample(stage, bank[0], 10, bank, r3);
    ASSERT_EQ(a.negative.start, b.negative.start);
    ASSERT_EQ(a.negative.file, b.negative.file);
    differs |= a.negative.start != c.negative.start;
  }
  EXPECT_TRUE(differs);
}

TEST(TrainSampler, ValidationPairsAreFixedAndIndependentOfFileOrder) {
  const ModelConfig c = tiny_train_config();
  TrainOptions o;
  o.validation_clips_per_file = 3;
  const Bank files{stored_file("v1", 150, 600, 1), stored_file("v2", 150, 600, 2), stored_file("v3", 40, 200, 3)};
  const auto a = validation_items(files, o, c);
  const auto b = validation_items({files[2], files[0], files[1]}, o, c);
  ASSERT_EQ(a.size(), 3u + 3u + 1u);  // v3 holds a single slot
  ASSERT_EQ(a.size(), b.size());
  int hard = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].file, b[i].file);
    EXPECT_EQ(a[i].video_start, b[i].video_start);
    EXPECT_EQ(a[i].easy.file, b[i].easy.file);
    EXPECT_EQ(a[i].easy.start, b[i].easy.start);
    EXPECT_EQ(a[i].hard_start, b[i].hard_start);
    ASSERT_TRUE(a[i].easy.file);
    EXPECT_NE(a[i].easy.file->id, a[i].file->id);
    if (a[i].hard_start) {
      ++hard;
      const int64_t shift = std::abs(*a[i].hard_start - a[i].file->audio_start(a[i].video_start));
      EXPECT_GE(shift, 50);
      EXPECT_LE(shift, 200);
    }
  }
  EXPECT_GE(hard, 6);  // the two long files always have room
  // Clips spread over the file: first and last start of v1.
  EXPECT_EQ(a[0].video_start, 0);
  EXPECT_EQ(a[2].video_start, files[0]->clip_starts() - 1);
  // Another seed, other negatives.
  o.seed = 2;
  const auto other = validation_items(files, o, c);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs |= other[i].easy.start != a[i].easy.start;
  EXPECT_TRUE(differs);
  // One file alone: no easy negatives.
  EXPECT_FALSE(validation_items({files[0]}, o, c)[0].easy.file);
}

TEST(TrainSampler, AutoSplitIsStableAndHoldsTheFraction) {
  int validation = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string id = "clips/video-" + std::to_string(i) + ".mp4";
    const bool v = auto_is_validation(id, 0.1);
    ASSERT_EQ(v, auto_is_validation(id, 0.1));
    validation += v;
  }
  EXPECT_NEAR(validation / 20000.0, 0.1, 0.01);
  EXPECT_FALSE(auto_is_validation("anything", 0.0));
}
