// The media timeline's rules, which the featurizers and the trainer's files share.
#include "media_timeline.h"

#include <gtest/gtest.h>

using namespace avts::timeline;

namespace {

constexpr int64_t kMs = 1'000'000;

}  // namespace

TEST(MediaTimeline, SampleClockRoundsToTheNearestAndRoundTrips) {
  EXPECT_EQ(samples_to_ns(16000, 16000), kSecondNs);
  EXPECT_EQ(samples_to_ns(1, 44100), 22676);  // 22675.7 ns
  EXPECT_EQ(ns_to_samples(22676, 44100), 1);
  // Days of audio, exactly.
  const int64_t day = int64_t{86400} * 48000;
  EXPECT_EQ(samples_to_ns(day, 48000), int64_t{86400} * kSecondNs);
  for (int64_t n : {0, 1, 159, 160, 12345, 999999}) EXPECT_EQ(ns_to_samples(samples_to_ns(n, 16000), 16000), n);
}

TEST(MediaTimeline, ModelFramesLieOnMultiplesOfTheFramePeriod) {
  EXPECT_EQ(frame_offset_ns(3, 25.0), 120 * kMs);
  EXPECT_EQ(frame_offset_ns(1, 30.0), 33'333'333);
  EXPECT_EQ(first_frame_index_at_or_after(0, 25.0), 0);
  EXPECT_EQ(first_frame_index_at_or_after(40 * kMs, 25.0), 1);
  EXPECT_EQ(first_frame_index_at_or_after(40 * kMs + 1, 25.0), 2);
  EXPECT_EQ(first_frame_index_at_or_after(13 * kMs, 25.0), 1);
  EXPECT_EQ(first_frame_index_at_or_after(-13 * kMs, 25.0), 0);
  EXPECT_EQ(first_frame_index_at_or_after(-40 * kMs, 25.0), -1);
  // At 30 fps the grid times are rounded: frame 1 is at 33 333 333 ns, not after it.
  EXPECT_EQ(first_frame_index_at_or_after(33'333'333, 30.0), 1);
  EXPECT_EQ(first_frame_index_at_or_after(33'333'334, 30.0), 2);
}

TEST(MediaTimeline, WindowGridStartsAtOrAfterTheFirstTimestamp) {
  EXPECT_EQ(grid_start(0, 200 * kMs), 0);
  EXPECT_EQ(grid_start(130 * kMs, 200 * kMs), 200 * kMs);
  EXPECT_EQ(grid_start(-130 * kMs, 200 * kMs), 0);
  EXPECT_EQ(grid_start(-230 * kMs, 200 * kMs), -200 * kMs);
  EXPECT_EQ(grid_start(130 * kMs, 200 * kMs, 50 * kMs), 250 * kMs);  // the grid through the origin
}

TEST(MediaTimeline, AFrameIsHeldUntilTheNextArrivesWithinTheTolerance) {
  // The next frame at 80 ms: the model frame at 40 ms shows the held one, 80 ms the new one,
  // and so does 79.5 ms (the new frame 0.5 ms late still counts as on time).
  EXPECT_TRUE(shows_held_frame(40 * kMs, 80 * kMs));
  EXPECT_FALSE(shows_held_frame(80 * kMs, 80 * kMs));
  EXPECT_FALSE(shows_held_frame(80 * kMs - kMs / 2, 80 * kMs));
  EXPECT_TRUE(shows_held_frame(80 * kMs - 2 * kMs, 80 * kMs));
}

TEST(MediaTimeline, TheLastFrameEndsAtItsDurationElseItsSpacingElseOneModelFrame) {
  EXPECT_EQ(last_frame_end_ns(1000 * kMs, 100 * kMs, 33 * kMs, 25.0), 1100 * kMs);
  EXPECT_EQ(last_frame_end_ns(1000 * kMs, -1, 33 * kMs, 25.0), 1033 * kMs);
  EXPECT_EQ(last_frame_end_ns(1000 * kMs, 0, 0, 25.0), 1040 * kMs);
}
