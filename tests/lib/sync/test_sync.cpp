// Offset estimation on synthetic embedding streams with known offsets: recovery, sign,
// sub-hop refinement, range edges, silence, gaps, streams that end early, context, status
// hysteresis, standards and the whole-stream summary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "avts/error.h"
#include "avts/sync.h"
#include "sync_curve.h"
#include "synthetic_sync.h"

using namespace avts;
using namespace avts_sync_test;

namespace {

constexpr int64_t kAudioHop = 40 * kMs;
constexpr int64_t kVideoHop = 200 * kMs;

struct Outcome {
  std::vector<SyncReport> reports;
  SyncSummary summary;
};

// Feeds both streams in time order (8 audio rows, 4 video rows a buffer) and finishes.
Outcome run(const RowAt& audio, int64_t audio_to, const RowAt& video, int64_t video_to, SyncOptions options = {},
            int64_t video_from = 0) {
  OffsetEstimator e(options);
  Outcome r;
  interleave(
      rows_between(0, audio_to, kAudioHop, 8, audio), rows_between(video_from, video_to, kVideoHop, 4, video),
      [&](const FeatureRows& rows) { e.push_audio(rows, r.reports); },
      [&](const FeatureRows& rows) { e.push_video(rows, r.reports); });
  r.summary = e.finish(r.reports);
  return r;
}

Outcome run_shift(double audio_early_ms, int64_t duration = 20 * kSecond, SyncOptions options = {}) {
  const Path path;
  return run(audio_of(path, audio_early_ms), duration, video_of(path), duration, options);
}

// Reports whose context is full of judged windows (past the first context and the edges).
std::vector<SyncReport> settled(const std::vector<SyncReport>& reports, int min_windows = 20) {
  std::vector<SyncReport> out;
  for (const SyncReport& r : reports)
    if (r.windows >= min_windows) out.push_back(r);
  return out;
}

TEST(SyncEstimator, RecoversKnownOffsetsWithTheirStatus) {
  for (double d : {-400.0, -120.0, -40.0, 0.0, 40.0, 80.0, 400.0}) {
    SCOPED_TRACE("audio early by " + std::to_string(d) + " ms");
    const Outcome r = run_shift(d);
    const auto good = settled(r.reports);
    ASSERT_GE(good.size(), 10u);
    for (const SyncReport& rep : good) {
      EXPECT_NEAR(rep.offset_ms, d, 3.0) << rep.start_ns / kMs;
      EXPECT_FALSE(rep.out_of_range);
      EXPECT_GT(rep.confidence, 0.5);
      EXPECT_GT(rep.probability, 0.99);
    }
    EXPECT_NEAR(r.summary.offset_ms, d, 1.0);
    EXPECT_FALSE(r.summary.out_of_range);
    // EBU R37: audio at most 40 ms early, 60 ms late (+40 sits on the bound: either way).
    if (d != 40.0) {
      const bool inside = d < 40 && d > -60;
      EXPECT_EQ(r.summary.status, inside ? SyncStatus::Ok : SyncStatus::Fail);
      EXPECT_EQ(r.reports.back().status, inside ? SyncStatus::Ok : SyncStatus::Fail);
    }
  }
}

TEST(SyncEstimator, PositiveMeansAudioEarly) {
  // Audio stamped 120 ms before the picture it belongs to: the sound of video time t sits
  // at audio time t - 120 ms.
  const Path path;
  const RowAt video = video_of(path);
  const RowAt audio_stamped_early = [&](int64_t tau) -> std::optional<Row> {
    return path.at(static_cast<double>(tau + 120 * kMs) / kMs);
  };
  const Outcome early = run(audio_stamped_early, 12 * kSecond, video, 12 * kSecond);
  EXPECT_NEAR(early.summary.offset_ms, 120.0, 1.0);

  const RowAt audio_stamped_late = [&](int64_t tau) -> std::optional<Row> {
    return path.at(static_cast<double>(tau - 120 * kMs) / kMs);
  };
  const Outcome late = run(audio_stamped_late, 12 * kSecond, video, 12 * kSecond);
  EXPECT_NEAR(late.summary.offset_ms, -120.0, 1.0);
  EXPECT_STREQ(kSyncSign, "positive = audio early");
}

TEST(SyncEstimator, RefinesBelowOneAudioHop) {
  for (double d : {20.0, -13.0, 7.0, 100.0}) {
    SCOPED_TRACE(d);
    const Outcome r = run_shift(d);
    for (const SyncReport& rep : settled(r.reports)) EXPECT_NEAR(rep.offset_ms, d, 3.0) << rep.start_ns / kMs;
    EXPECT_NEAR(r.summary.offset_ms, d, 3.0);
  }
}

TEST(SyncEstimator, VideoOffTheAudioGrid) {
  const Path path;
  // Video windows 20 ms off the audio grid (as after a pad offset): shifts sit on the
  // audio rows' grid, 20 ms off zero.
  {
    const Outcome r = run(audio_of(path, 60.0), 12 * kSecond, video_of(path), 12 * kSecond, {}, 20 * kMs);
    EXPECT_NEAR(r.summary.offset_ms, 60.0, 3.0);
  }
  // A video hop that is no multiple of the audio hop: windows between audio rows use
  // distances interpolated between the two neighbouring rows.
  {
    SyncOptions o;
    OffsetEstimator e(o);
    std::vector<SyncReport> reports;
    interleave(
        rows_between(0, 12 * kSecond, kAudioHop, 8, audio_of(path, -80.0)),
        rows_between(0, 12 * kSecond, 100 * kMs, 4, video_of(path)),
        [&](const FeatureRows& rows) { e.push_audio(rows, reports); },
        [&](const FeatureRows& rows) { e.push_video(rows, reports); });
    const SyncSummary s = e.finish(reports);
    EXPECT_NEAR(s.offset_ms, -80.0, 5.0);
    EXPECT_EQ(s.windows_skipped, 12);  // 6 at each end without +-600 ms of audio
  }
}

TEST(SyncEstimator, MinimumAtTheRangeEdgeIsOutOfRangeNotClamped) {
  struct Case {
    double d;
    bool out;
    double reported;
  };
  for (const Case& c : {Case{560, false, 560}, Case{600, true, 600}, Case{640, true, 600}, Case{-600, true, -600},
                        Case{-640, true, -600}}) {
    SCOPED_TRACE(c.d);
    const Outcome r = run_shift(c.d);
    const auto good = settled(r.reports);
    ASSERT_FALSE(good.empty());
    for (const SyncReport& rep : good) {
      EXPECT_EQ(rep.out_of_range, c.out);
      EXPECT_NEAR(rep.offset_ms, c.reported, c.out ? 0.0 : 2.0);  // the edge value exactly
      EXPECT_GE(rep.confidence, 0.1);                             // confident, yet not an estimate
    }
    EXPECT_EQ(r.summary.out_of_range, c.out);
    EXPECT_EQ(r.summary.status, SyncStatus::Fail);
    // Out-of-range reports count as outside: the status reaches fail after `hold`.
    EXPECT_EQ(r.reports.back().status, SyncStatus::Fail);
  }
  // A smaller range moves the edge.
  SyncOptions narrow;
  narrow.max_offset_ns = 200 * kMs;
  const Outcome r = run_shift(400, 20 * kSecond, narrow);
  for (const SyncReport& rep : settled(r.reports)) {
    // Beyond the range the curve holds no minimum worth a report or it lies on the edge.
    if (rep.status != SyncStatus::Inconclusive) {
      EXPECT_TRUE(rep.out_of_range);
      EXPECT_DOUBLE_EQ(std::fabs(rep.offset_ms), 200.0);
    }
  }
}

TEST(SyncEstimator, SilenceIsInconclusive) {
  const Path path;
  const Row constant = path.at(0);
  const RowAt silence = [&](int64_t) -> std::optional<Row> { return constant; };
  const Outcome r = run(silence, 12 * kSecond, video_of(path), 12 * kSecond);
  ASSERT_GE(r.reports.size(), 10u);
  for (const SyncReport& rep : r.reports) {
    EXPECT_EQ(rep.status, SyncStatus::Inconclusive);
    EXPECT_NEAR(rep.confidence, 0.0, 1e-9);
    EXPECT_LT(rep.probability, 0.05);
    EXPECT_FALSE(rep.out_of_range);  // a flat curve reads as shift 0, not as an edge
  }
  EXPECT_EQ(r.summary.status, SyncStatus::Inconclusive);
  EXPECT_DOUBLE_EQ(r.summary.inconclusive_share, 1.0);
  EXPECT_GT(r.summary.windows, 0);
}

TEST(SyncEstimator, AudioGapSkipsExactlyTheWindowsThatNeedIt) {
  const Path path;
  // 20 s, audio rows missing in [8.00, 9.00) s.
  const Outcome r =
      run(with_gap(audio_of(path, 40.0), 8000 * kMs, 9000 * kMs), 20 * kSecond, video_of(path), 20 * kSecond);
  // A window at t needs audio rows over [t - 600, t + 600] ms: skipped are t < 600
  // (3 windows), 7400 <= t <= 9400 (11) and t + 600 > 19960 (3).
  EXPECT_EQ(r.summary.windows_skipped, 17);
  EXPECT_EQ(r.summary.windows, 100 - 17);
  EXPECT_EQ(r.reports.size(), 20u);  // every interval reported: no stall at the gap
  for (const SyncReport& rep : r.reports) {
    if (rep.windows >= 10) {
      EXPECT_NEAR(rep.offset_ms, 40.0, 3.0) << rep.start_ns / kMs;
    }
  }
  EXPECT_NEAR(r.summary.offset_ms, 40.0, 1.0);
}

TEST(SyncEstimator, VideoGapKeepsReporting) {
  const Path path;
  const Outcome r =
      run(audio_of(path, -40.0), 20 * kSecond, with_gap(video_of(path), 10 * kSecond, 12 * kSecond), 20 * kSecond);
  ASSERT_EQ(r.reports.size(), 20u);
  for (size_t i = 0; i < r.reports.size(); ++i) EXPECT_EQ(r.reports[i].start_ns, static_cast<int64_t>(i) * kSecond);
  // The report for [11, 12) s has only the windows of [7, 10) s in its context.
  EXPECT_EQ(r.reports[11].windows, 15);
  EXPECT_EQ(r.summary.windows + r.summary.windows_skipped, 90);
}

TEST(SyncEstimator, OneStreamEndingEarlyStillReportsToTheEnd) {
  const Path path;
  // Audio stops at 6 s, video goes on to 12 s.
  {
    const Outcome r = run(audio_of(path, 80.0), 6 * kSecond, video_of(path), 12 * kSecond);
    ASSERT_EQ(r.reports.size(), 12u);
    EXPECT_EQ(r.reports.back().start_ns, 11 * kSecond);
    // Windows up to 5.2 s are judged (5.2 + 0.6 <= 5.96); contexts after 10.2 s are empty.
    EXPECT_EQ(r.reports.back().windows, 0);
    EXPECT_EQ(r.reports.back().status, SyncStatus::Inconclusive);
    EXPECT_EQ(r.summary.windows, 24);  // 0.6 .. 5.2 s
    EXPECT_NEAR(r.summary.offset_ms, 80.0, 2.0);
  }
  // Video stops at 6 s, audio goes on to 12 s.
  {
    const Outcome r = run(audio_of(path, 80.0), 12 * kSecond, video_of(path), 6 * kSecond);
    ASSERT_EQ(r.reports.size(), 12u);
    EXPECT_EQ(r.summary.windows, 27);  // 0.6 .. 5.8 s
    EXPECT_NEAR(r.summary.offset_ms, 80.0, 2.0);
  }
  // Without finish(): end_video() lets the reports follow the audio.
  {
    OffsetEstimator e;
    std::vector<SyncReport> reports;
    interleave(
        rows_between(0, 12 * kSecond, kAudioHop, 8, audio_of(path, 0.0)),
        rows_between(0, 6 * kSecond, kVideoHop, 4, video_of(path)),
        [&](const FeatureRows& rows) { e.push_audio(rows, reports); },
        [&](const FeatureRows& rows) { e.push_video(rows, reports); });
    EXPECT_LE(reports.size(), 6u);  // waits for video that may still come
    e.end_video(reports);
    EXPECT_GE(reports.size(), 11u);
  }
}

TEST(SyncEstimator, AdvanceReportsOnTimeWhenAStreamStops) {
  // A live monitor: both streams to 5 s, then video only. Every second the data before
  // `now` has arrived and a deadline passes (as avtssync does on its aggregator timeout).
  const Path path;
  const auto audio = rows_between(0, 5 * kSecond, kAudioHop, 8, audio_of(path, 0.0));
  const auto video = rows_between(0, 15 * kSecond, kVideoHop, 4, video_of(path));
  OffsetEstimator e;
  std::vector<SyncReport> reports;
  size_t a = 0, v = 0;
  size_t most_buffered = 0;
  EXPECT_FALSE(e.next_report_start().has_value());
  for (int64_t now = kSecond; now <= 15 * kSecond; now += kSecond) {
    while (a < audio.size() && audio[a].pts_ns < now) e.push_audio(audio[a++], reports);
    while (v < video.size() && video[v].pts_ns < now) e.push_video(video[v++], reports);
    e.advance(now, reports);
    most_buffered = std::max(most_buffered, e.buffered_rows());
    // Windows up to now - max_offset are decided: the report ending at the last whole
    // second before that is out, whether or not the audio still flows.
    if (now >= 2 * kSecond) {
      ASSERT_FALSE(reports.empty()) << now / kMs;
      EXPECT_EQ(reports.back().start_ns + reports.back().duration_ns, (now - 600 * kMs) / kSecond * kSecond)
          << now / kMs;
      EXPECT_EQ(e.next_report_start(), reports.back().start_ns + reports.back().duration_ns);
    }
  }
  ASSERT_EQ(reports.size(), 14u);
  EXPECT_EQ(reports.back().windows, 0);  // no audio around the windows of [9, 14) s
  EXPECT_EQ(reports.back().status, SyncStatus::Inconclusive);
  EXPECT_GT(reports[4].windows, 0);
  EXPECT_LE(most_buffered, 40u);
}

TEST(SyncEstimator, MemoryStaysBoundedOnALongStream) {
  const Path path;
  OffsetEstimator e;
  std::vector<SyncReport> reports;
  size_t most = 0;
  interleave(
      rows_between(0, 600 * kSecond, kAudioHop, 8, audio_of(path, 40.0)),
      rows_between(0, 600 * kSecond, kVideoHop, 4, video_of(path)),
      [&](const FeatureRows& rows) {
        e.push_audio(rows, reports);
        most = std::max(most, e.buffered_rows());
      },
      [&](const FeatureRows& rows) {
        e.push_video(rows, reports);
        most = std::max(most, e.buffered_rows());
      });
  EXPECT_LE(most, 2 * 600 / 40 + 8 + 8 + 4);  // the offset range, plus a buffer of each
  EXPECT_EQ(reports.size(), 599u);
  const SyncSummary s = e.finish(reports);
  EXPECT_EQ(s.reports, 600);
  EXPECT_LE(s.spread_ms, 4.0);
  EXPECT_NEAR(s.drift_ms_per_min, 0.0, 0.1);
}

TEST(SyncEstimator, ContextAveragesCurvesOverTime) {
  // The offset jumps from 0 to +200 ms at 20 s.
  const Path path;
  const auto jump = [](double ms) { return ms < 20000 ? 0.0 : 200.0; };
  SyncOptions long_context;
  SyncOptions short_context;
  short_context.context_ns = kSecond;
  const Outcome slow = run(audio_of(path, jump), 40 * kSecond, video_of(path), 40 * kSecond, long_context);
  const Outcome fast = run(audio_of(path, jump), 40 * kSecond, video_of(path), 40 * kSecond, short_context);
  const auto at = [](const Outcome& r, int64_t start_s) {
    for (const SyncReport& rep : r.reports)
      if (rep.start_ns == start_s * kSecond) return rep;
    ADD_FAILURE() << "no report at " << start_s << " s";
    return SyncReport();
  };
  // [20, 21) s: 5 s of context is mostly before the jump; 1 s of context is after it.
  EXPECT_EQ(at(slow, 20).windows, 25);
  EXPECT_NEAR(at(slow, 20).offset_ms, 0.0, 10.0);
  EXPECT_EQ(at(fast, 20).windows, 5);
  EXPECT_NEAR(at(fast, 20).offset_ms, 200.0, 10.0);  // one of its windows straddles the jump
  EXPECT_NEAR(at(slow, 25).offset_ms, 200.0, 3.0);
  EXPECT_EQ(slow.summary.steps, 1);
  EXPECT_EQ(fast.summary.steps, 1);
}

TEST(SyncEstimator, SummaryCountsStepsAndSpread) {
  const Path path;
  const auto levels = [](double ms) { return ms < 20000 ? 0.0 : ms < 40000 ? 200.0 : -120.0; };
  const Outcome r = run(audio_of(path, levels), 60 * kSecond, video_of(path), 60 * kSecond);
  EXPECT_EQ(r.summary.steps, 2);
  // Confident offsets: about a third at each level, so the quartiles are near -120 and 200.
  EXPECT_GT(r.summary.spread_ms, 250.0);
  EXPECT_LT(r.summary.spread_ms, 330.0);
  // The whole-stream minimum is one of the levels; the stream failed EBU R37 for a while.
  const bool global_inside = SyncTolerance::of(SyncStandard::EbuR37).contains(r.summary.offset_ms);
  EXPECT_EQ(r.summary.status, global_inside ? SyncStatus::Warn : SyncStatus::Fail) << r.summary.offset_ms;

  const Outcome still = run_shift(40.0);
  EXPECT_EQ(still.summary.steps, 0);
  EXPECT_LE(still.summary.spread_ms, 4.0);
}

TEST(SyncEstimator, SummaryCarriesTheMeanCurveAndEachWindowsMinimum) {
  const Outcome r = run_shift(80.0);
  const SyncSummary& s = r.summary;
  ASSERT_GT(s.windows, 0);
  // +-600 ms in audio hops, on the offset axis (descending).
  EXPECT_EQ(s.curve.size(), static_cast<size_t>(2 * 600 * kMs / kAudioHop + 1));
  EXPECT_EQ(s.window_minima.size(), s.curve.size());
  EXPECT_DOUBLE_EQ(s.curve_hop_ms, static_cast<double>(kAudioHop) / kMs);
  EXPECT_DOUBLE_EQ(s.curve_first_offset_ms, 600.0);
  // The curve's minimum is the reported offset, and every judged window is counted once.
  const size_t k = std::min_element(s.curve.begin(), s.curve.end()) - s.curve.begin();
  EXPECT_NEAR(s.curve_first_offset_ms - static_cast<double>(k) * s.curve_hop_ms, s.offset_ms, 5.0);
  EXPECT_EQ(std::accumulate(s.window_minima.begin(), s.window_minima.end(), int64_t{0}), s.windows);
  EXPECT_GT(s.window_minima[k], s.windows / 2);  // a clean path: windows agree
}

TEST(SyncEstimator, SummaryMeasuresDrift) {
  // Audio drifts earlier by 10 ms per minute over 3 minutes (0 -> 30 ms).
  const Path path;
  const auto drifting = [](double ms) { return 10.0 * ms / 60000.0; };
  const Outcome r = run(audio_of(path, drifting), 180 * kSecond, video_of(path), 180 * kSecond);
  EXPECT_NEAR(r.summary.drift_ms_per_min, 10.0, 1.5);
  EXPECT_EQ(r.summary.steps, 0);
  EXPECT_NEAR(r.summary.offset_ms, 15.0, 5.0);  // the mean curve's minimum: mid-stream

  const auto back = [](double ms) { return -20.0 * ms / 60000.0; };
  const Outcome b = run(audio_of(path, back), 120 * kSecond, video_of(path), 120 * kSecond);
  EXPECT_NEAR(b.summary.drift_ms_per_min, -20.0, 2.0);
}

TEST(SyncEstimator, InconclusiveReportsDoNotMoveTheStatus) {
  // 0-15 s: audio 200 ms early (fail); 15-30 s: silence; 30-50 s: in sync.
  const Path path;
  const Row constant = path.at(-5000);
  const RowAt audio = [&](int64_t t) -> std::optional<Row> {
    const double ms = static_cast<double>(t) / kMs;
    if (ms < 15000) return path.at(ms + 200);
    if (ms < 30000) return constant;
    return path.at(ms);
  };
  SyncOptions o;
  o.context_ns = 2 * kSecond;
  const Outcome r = run(audio, 50 * kSecond, video_of(path), 50 * kSecond, o);
  std::vector<SyncStatus> statuses;
  for (const SyncReport& rep : r.reports) statuses.push_back(rep.status);
  ASSERT_EQ(statuses.size(), 50u);
  EXPECT_EQ(statuses[14], SyncStatus::Fail);
  int inconclusive_run = 0;
  for (int i = 17; i < 30; ++i) inconclusive_run += statuses[i] == SyncStatus::Inconclusive;
  EXPECT_EQ(inconclusive_run, 13);
  // The first confident reports after the silence still say fail: the state was held.
  size_t first = 30;
  while (first < statuses.size() && statuses[first] == SyncStatus::Inconclusive) ++first;
  ASSERT_LT(first + 3, statuses.size());
  EXPECT_EQ(statuses[first], SyncStatus::Fail);
  EXPECT_EQ(statuses[first + 1], SyncStatus::Fail);
  EXPECT_EQ(statuses[first + 2], SyncStatus::Ok);  // hold = 3 reports inside
  EXPECT_EQ(statuses.back(), SyncStatus::Ok);
  EXPECT_EQ(r.summary.status, SyncStatus::Warn);  // fine overall, failed for a while
}

TEST(SyncEstimator, StatusFollowsTheChosenStandard) {
  // Audio 30 ms early: inside EBU R37 (+40) but outside ATSC IS-191 (+15).
  SyncOptions atsc;
  atsc.tolerance = SyncTolerance::of(SyncStandard::AtscIs191);
  EXPECT_EQ(run_shift(30, 10 * kSecond).summary.status, SyncStatus::Ok);
  EXPECT_EQ(run_shift(30, 10 * kSecond, atsc).summary.status, SyncStatus::Fail);
  SyncOptions custom;
  custom.tolerance = SyncTolerance::custom(25, 5);
  EXPECT_EQ(run_shift(-20, 10 * kSecond, custom).summary.status, SyncStatus::Fail);
  EXPECT_EQ(run_shift(20, 10 * kSecond, custom).summary.status, SyncStatus::Ok);
}

TEST(SyncEstimator, RefusesInconsistentInput) {
  EXPECT_THROW(OffsetEstimator(SyncOptions{0}), Error);
  SyncOptions bad;
  bad.interval_ns = 0;
  EXPECT_THROW(OffsetEstimator{bad}, Error);
  bad = {};
  bad.hold = 0;
  EXPECT_THROW(OffsetEstimator{bad}, Error);
  bad = {};
  bad.probability_scale = 0;
  EXPECT_THROW(OffsetEstimator{bad}, Error);

  const Path path;
  std::vector<SyncReport> out;
  const auto audio = rows_between(0, kSecond, kAudioHop, 8, audio_of(path, 0.0));
  {
    OffsetEstimator e;
    e.push_audio(audio[0], out);
    FeatureRows wide = audio[1];
    wide.n = wide.n * wide.dim / 8;  // the same values, as rows of 8
    wide.dim = 8;
    try {
      e.push_video(wide, out);
      ADD_FAILURE() << "no error";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find("8 wide"), std::string::npos) << err.what();
    }
    FeatureRows other_hop = audio[1];
    other_hop.hop_ns = 80 * kMs;
    EXPECT_THROW(e.push_audio(other_hop, out), Error);
    e.finish(out);
    EXPECT_THROW(e.push_audio(audio[1], out), Error);
    e.reset();
    EXPECT_NO_THROW(e.push_audio(audio[1], out));
  }
  {
    SyncOptions tight;
    tight.max_offset_ns = 60 * kMs;  // less than two 40 ms hops
    OffsetEstimator e(tight);
    try {
      e.push_audio(audio[0], out);
      ADD_FAILURE() << "no error";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find("60 ms"), std::string::npos) << err.what();
    }
  }
}

TEST(SyncEstimator, EmptyStreamsGiveAnInconclusiveSummary) {
  OffsetEstimator e;
  std::vector<SyncReport> out;
  const SyncSummary s = e.finish(out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.status, SyncStatus::Inconclusive);
  EXPECT_EQ(s.reports, 0);
  EXPECT_EQ(s.windows, 0);
  EXPECT_TRUE(s.curve.empty());
  EXPECT_TRUE(s.window_minima.empty());
}

TEST(SyncProbability, IsMonotoneAndHalfAtTheThreshold) {
  SyncOptions o;
  EXPECT_DOUBLE_EQ(sync_probability(o.min_confidence, o), 0.5);
  double last = 0;
  for (double c = 0; c <= 2.0; c += 0.01) {
    const double p = sync_probability(c, o);
    EXPECT_GE(p, last);
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
    last = p;
  }
  EXPECT_LT(sync_probability(0, o), 0.05);
  EXPECT_GT(sync_probability(0.3, o), 0.99);
}

TEST(SyncCurve, ParabolaOnSquaredDistancesFindsTheVertex) {
  // d(s) = sqrt(b^2 + (c (s - s0))^2): the squared curve is an exact parabola.
  for (double s0 : {-13.0, 0.0, 7.5, 19.9, 20.0, 33.0}) {
    std::vector<double> curve;
    for (int k = -15; k <= 15; ++k) {
      const double s = 40.0 * k;
      curve.push_back(std::sqrt(0.09 + std::pow(0.02 * (s - s0), 2)));
    }
    const CurveReading r = read_curve(curve, -600 * kMs, 40 * kMs);
    EXPECT_NEAR(r.shift_ns / kMs, s0, 1e-6) << s0;
    EXPECT_FALSE(r.out_of_range);
  }
}

TEST(SyncCurve, EdgesTiesAndConfidence) {
  std::vector<double> curve = {1.0, 1.2, 1.4, 1.4, 1.4};
  CurveReading r = read_curve(curve, -80 * kMs, 40 * kMs);
  EXPECT_TRUE(r.out_of_range);
  EXPECT_DOUBLE_EQ(r.shift_ns, -80.0 * kMs);  // not refined, not clamped inward
  EXPECT_DOUBLE_EQ(r.confidence, 0.4);        // median 1.4 - min 1.0

  curve = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0};       // flat, even length
  r = read_curve(curve, -100 * kMs, 40 * kMs);  // shifts -100 -60 -20 20 60 100
  EXPECT_FALSE(r.out_of_range);
  EXPECT_EQ(r.argmin, 2u);  // the tie nearest to zero (first of -20 / +20)
  EXPECT_DOUBLE_EQ(r.confidence, 0.0);

  curve = {2.0, 1.0, 3.0, 4.0};
  r = read_curve(curve, 0, 40 * kMs);
  EXPECT_DOUBLE_EQ(r.confidence, 1.5);  // median of 1 2 3 4 = 2.5
  EXPECT_THROW(read_curve({1.0, 2.0}, 0, 40 * kMs), Error);
}

TEST(SyncStandards, BoundsNamesAndCustom) {
  struct Case {
    SyncStandard standard;
    const char* name;
    double early, late;
  };
  for (const Case& c :
       {Case{SyncStandard::EbuR37, "ebu-r37", 40, 60}, Case{SyncStandard::ItuBt1359, "itu-bt1359", 45, 125},
        Case{SyncStandard::ItuBt1359Accept, "itu-bt1359-accept", 90, 185},
        Case{SyncStandard::AtscIs191, "atsc-is191", 15, 45}}) {
    SCOPED_TRACE(c.name);
    EXPECT_STREQ(sync_standard_name(c.standard), c.name);
    EXPECT_EQ(sync_standard_from_name(c.name), c.standard);
    const SyncTolerance t = SyncTolerance::of(c.standard);
    EXPECT_EQ(t.early_ms, c.early);
    EXPECT_EQ(t.late_ms, c.late);
    EXPECT_TRUE(t.contains(c.early));
    EXPECT_FALSE(t.contains(c.early + 0.5));
    EXPECT_TRUE(t.contains(-c.late));
    EXPECT_FALSE(t.contains(-c.late - 0.5));
    EXPECT_TRUE(t.contains(0));
    EXPECT_FALSE(t.contains(c.early - 5, 10));  // inside, but not by the margin
    EXPECT_TRUE(t.contains(c.early - 10, 10));
  }
  EXPECT_EQ(sync_standards().size(), 5u);
  EXPECT_EQ(sync_standard_from_name("custom"), SyncStandard::Custom);
  try {
    sync_standard_from_name("smpte");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ebu-r37"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SyncTolerance::of(SyncStandard::Custom), Error);
  EXPECT_THROW(SyncTolerance::custom(-1, 10), Error);
  const SyncTolerance c = SyncTolerance::custom(20, 0);
  EXPECT_TRUE(c.contains(20));
  EXPECT_TRUE(c.contains(0));
  EXPECT_FALSE(c.contains(-0.1));
}

TEST(SyncStatusTracker, HysteresisTransitions) {
  SyncStatusTracker t(SyncTolerance::of(SyncStandard::EbuR37), 3, 10);  // +40 / -60, margin 10
  const auto feed = [&](std::initializer_list<double> offsets) {
    std::string s;
    for (double o : offsets) s += std::string(sync_status_name(t.update(o, false))) + " ";
    return s;
  };
  EXPECT_EQ(t.status(), SyncStatus::Ok);
  EXPECT_EQ(feed({0, 40, -60}), "ok ok ok ");                        // bounds included
  EXPECT_EQ(feed({50, 0, 0, 0}), "warn warn warn ok ");              // one glitch: warn, back after 3
  EXPECT_EQ(feed({50, 50, 50}), "warn warn fail ");                  // 3 outside: fail
  EXPECT_EQ(feed({35, 35, 0, 0, 35}), "fail fail fail fail fail ");  // 35 is in the margin band
  EXPECT_EQ(feed({0, 0, 0}), "fail fail ok ");
  EXPECT_EQ(feed({-55, -55, -45, -45, -45}), "ok ok ok ok ok ");          // inside: ok stays ok
  EXPECT_EQ(feed({-61, 0, -61, -61, -61}), "warn warn warn warn fail ");  // runs must be consecutive
  EXPECT_EQ(feed({-55, -51, -45, -45}), "fail fail fail fail ");          // -55, -51: margin band
  EXPECT_EQ(feed({-45}), "ok ");
  EXPECT_TRUE(t.ever_failed());
  // Out of range counts as outside whatever the edge value.
  EXPECT_EQ(t.update(0, true), SyncStatus::Warn);
  t.reset();
  EXPECT_FALSE(t.ever_failed());
  EXPECT_EQ(t.status(), SyncStatus::Ok);

  SyncStatusTracker at_once(SyncTolerance::of(SyncStandard::EbuR37), 1, 10);
  EXPECT_EQ(at_once.update(41, false), SyncStatus::Fail);
  EXPECT_EQ(at_once.update(35, false), SyncStatus::Fail);
  EXPECT_EQ(at_once.update(30, false), SyncStatus::Ok);
  EXPECT_THROW(SyncStatusTracker(SyncTolerance{}, 0, 10), Error);
  EXPECT_THROW(SyncStatusTracker(SyncTolerance{}, 3, -1), Error);
}

}  // namespace
