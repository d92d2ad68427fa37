// The lip-sync corrector's decisions: when it acts (stable, sure, agreeing reports), what
// it aims at (their median), how it ignores noise (dead band, inconclusive and
// out-of-range reports) and how it moves (bounded slew that lands exactly).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "avts/error.h"
#include "avts/sync_corrector.h"

using namespace avts;

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1000 * kMs;

SyncReport sure(double offset_ms) {
  SyncReport r;
  r.windows = 25;
  r.offset_ms = offset_ms;
  r.confidence = 0.5;
  r.probability = 0.99;
  r.status = SyncStatus::Warn;
  return r;
}

SyncReport inconclusive() {
  SyncReport r = sure(0);
  r.probability = 0.2;
  r.status = SyncStatus::Inconclusive;
  return r;
}

// Feeds `offset` `n` times; returns how many times the target changed.
int feed(SyncCorrector& c, double offset_ms, int n) {
  int changes = 0;
  for (int i = 0; i < n; ++i) changes += c.report(sure(offset_ms));
  return changes;
}

}  // namespace

TEST(SyncCorrector, StartsWithNoCorrection) {
  SyncCorrector c;
  EXPECT_EQ(c.target_ms(), 0);
  EXPECT_EQ(c.advance(0), 0);
  EXPECT_EQ(c.advance(10 * kSecond), 0);
  EXPECT_TRUE(c.settled());
}

TEST(SyncCorrector, ActsOnlyAfterTheStableRun) {
  SyncCorrector c;  // 3 stable reports
  EXPECT_FALSE(c.report(sure(100)));
  EXPECT_FALSE(c.report(sure(100)));
  EXPECT_EQ(c.target_ms(), 0);
  EXPECT_TRUE(c.report(sure(100)));
  EXPECT_EQ(c.target_ms(), 100);
  EXPECT_FALSE(c.report(sure(100)));  // no change: not reported again
}

TEST(SyncCorrector, TargetIsTheMedianOfTheStableRun) {
  SyncCorrector c;
  c.report(sure(90));
  c.report(sure(120));
  EXPECT_TRUE(c.report(sure(100)));
  EXPECT_EQ(c.target_ms(), 100);

  SyncCorrectorOptions four;
  four.stable_reports = 4;
  SyncCorrector even(four);
  for (double v : {-80.0, -90.0, -70.0, -100.0}) even.report(sure(v));
  EXPECT_EQ(even.target_ms(), -85);
}

TEST(SyncCorrector, ReportsThatDisagreeDoNotMoveIt) {
  SyncCorrector c;  // agree within 40 ms
  c.report(sure(60));
  c.report(sure(120));
  EXPECT_FALSE(c.report(sure(100)));  // 60, 120, 100: spread 60 ms
  EXPECT_EQ(c.target_ms(), 0);
  EXPECT_TRUE(c.report(sure(110)));  // 120, 100, 110: spread 20 ms (the 60 has left)
  EXPECT_EQ(c.target_ms(), 110);
}

TEST(SyncCorrector, UnsureReportsRestartTheRunAndKeepTheCorrection) {
  SyncCorrector c;
  feed(c, 100, 3);
  ASSERT_EQ(c.target_ms(), 100);

  // An unsure report between every two sure ones: a run of 3 never forms.
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(c.report(sure(-200)));
    EXPECT_FALSE(c.report(sure(-200)));
    EXPECT_FALSE(c.report(inconclusive()));
  }
  SyncReport edge = sure(-200);
  edge.out_of_range = true;
  SyncReport doubtful = sure(-200);
  doubtful.probability = 0.7;  // below min_probability 0.8, though conclusive
  for (const SyncReport& r : {edge, doubtful}) {
    feed(c, -200, 2);
    EXPECT_FALSE(c.report(r));
  }
  EXPECT_EQ(c.target_ms(), 100);
  EXPECT_FALSE(c.report(sure(-200)));
  EXPECT_FALSE(c.report(sure(-200)));
  EXPECT_TRUE(c.report(sure(-200)));
  EXPECT_EQ(c.target_ms(), -200);
}

TEST(SyncCorrector, DeadBandIgnoresSmallChanges) {
  SyncCorrector c;               // dead band 20 ms
  EXPECT_EQ(feed(c, 15, 5), 0);  // too small to correct at all
  EXPECT_EQ(c.target_ms(), 0);
  EXPECT_EQ(feed(c, 100, 3), 1);
  EXPECT_EQ(feed(c, 118, 6), 0);
  EXPECT_EQ(c.target_ms(), 100);
  EXPECT_EQ(feed(c, 125, 3), 1);
  EXPECT_EQ(c.target_ms(), 125);
}

TEST(SyncCorrector, DoesNotChaseNoise) {
  // Reports of a steady 80 ms offset with +-10 ms of noise (within the 20 ms dead band of
  // any first target), a tenth of them inconclusive.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> noise(-10, 10);
  SyncCorrector c;
  int changes = 0;
  for (int i = 0; i < 500; ++i) changes += c.report(i % 10 == 9 ? inconclusive() : sure(80 + noise(rng)));
  EXPECT_EQ(changes, 1);
  EXPECT_NEAR(c.target_ms(), 80, 10);
}

TEST(SyncCorrector, SlewIsBoundedAndLandsExactly) {
  SyncCorrector c;  // 20 ms per second
  c.advance(0);
  feed(c, 100, 3);
  double previous = 0;
  for (int64_t t = 100 * kMs; t <= 10 * kSecond; t += 100 * kMs) {
    const double applied = c.advance(t);
    EXPECT_LE(applied - previous, 2.0 + 1e-9) << "at " << t / kMs << " ms";
    EXPECT_GE(applied, previous);
    EXPECT_LE(applied, 100);
    previous = applied;
  }
  EXPECT_NEAR(c.applied_ms(), 100, 1e-9);  // 100 ms at 20 ms/s: 5 s
  EXPECT_EQ(c.advance(5 * kSecond + 10 * kSecond), 100);
  EXPECT_TRUE(c.settled());
}

TEST(SyncCorrector, SlewTimeFollowsTheRate) {
  SyncCorrectorOptions o;
  o.max_rate_ms_per_s = 50;
  SyncCorrector c(o);
  c.advance(0);
  feed(c, -200, 3);
  EXPECT_DOUBLE_EQ(c.advance(1 * kSecond), -50);
  EXPECT_DOUBLE_EQ(c.advance(3 * kSecond), -150);
  EXPECT_DOUBLE_EQ(c.advance(3 * kSecond + 999 * kMs), -199.95);
  EXPECT_FALSE(c.settled());
  EXPECT_EQ(c.advance(4 * kSecond + 1 * kMs), -200);
  EXPECT_TRUE(c.settled());
}

TEST(SyncCorrector, TimeGoingBackOnlyRebases) {
  SyncCorrector c;
  c.advance(10 * kSecond);
  feed(c, 100, 3);
  EXPECT_DOUBLE_EQ(c.advance(11 * kSecond), 20);
  EXPECT_DOUBLE_EQ(c.advance(2 * kSecond), 20);  // a seek back: no movement
  EXPECT_DOUBLE_EQ(c.advance(3 * kSecond), 40);
}

TEST(SyncCorrector, DisabledSlewsBackToNone) {
  SyncCorrector c;
  c.advance(0);
  feed(c, 60, 3);
  c.advance(10 * kSecond);
  ASSERT_EQ(c.applied_ms(), 60);
  c.set_enabled(false);
  EXPECT_EQ(c.target_ms(), 0);
  EXPECT_DOUBLE_EQ(c.advance(11 * kSecond), 40);
  EXPECT_EQ(c.advance(20 * kSecond), 0);
  EXPECT_FALSE(c.report(sure(150)));  // followed, not acted on
  feed(c, 150, 2);
  c.set_enabled(true);
  EXPECT_EQ(c.target_ms(), 150);
}

TEST(SyncCorrector, ResetForgetsEverything) {
  SyncCorrector c;
  c.advance(0);
  feed(c, 100, 3);
  c.advance(2 * kSecond);
  c.report(sure(100));
  c.reset();
  EXPECT_EQ(c.applied_ms(), 0);
  EXPECT_EQ(c.target_ms(), 0);
  EXPECT_FALSE(c.report(sure(100)));      // the run starts again
  EXPECT_EQ(c.advance(50 * kSecond), 0);  // first time after reset: a new base
}

TEST(SyncCorrector, RejectsNonsenseOptions) {
  auto with = [](auto change) {
    SyncCorrectorOptions o;
    change(o);
    return o;
  };
  EXPECT_THROW(SyncCorrector(with([](auto& o) { o.max_rate_ms_per_s = 0; })), Error);
  EXPECT_THROW(SyncCorrector(with([](auto& o) { o.max_rate_ms_per_s = NAN; })), Error);
  EXPECT_THROW(SyncCorrector(with([](auto& o) { o.stable_reports = 0; })), Error);
  EXPECT_THROW(SyncCorrector(with([](auto& o) { o.min_probability = 1.5; })), Error);
  EXPECT_THROW(SyncCorrector(with([](auto& o) { o.agree_ms = -1; })), Error);
  EXPECT_THROW(SyncCorrector(with([](auto& o) { o.deadband_ms = -1; })), Error);
  EXPECT_NO_THROW(SyncCorrector(with([](auto& o) { o.stable_reports = 1; })));
}
