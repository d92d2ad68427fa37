// TrainFeed: two streams (as avtstrain's pads deliver them) lined up into training files, by
// avtsdatasrc's file marks or cut into chunks, and epochs trained and saved.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "avts/error.h"
#include "avts/train_feed.h"
#include "temp_dir.h"
#include "train_fixtures.h"

using namespace avts;
using avts::test::blink_corpus;
using avts::test::BlinkMedia;
using avts::test::TempDir;
using avts::test::tiny_train_config;

namespace {

FeedOptions quick_feed(const TempDir& dir, int epochs) {
  FeedOptions o;
  o.train.seed = 3;
  o.train.epochs = epochs;
  o.train.batch_size = 8;
  o.train.optimizer = OptimizerKind::AdamW;
  o.train.lr = 1e-3;
  o.train.output = dir / "model.avts";
  o.chunk_seconds = 2.0;
  return o;
}

// One file's media on both streams, audio first (one thread: the streams never wait).
void push_file(TrainFeed& feed, const BlinkMedia& media, int sample_rate) {
  media.decode(
      sample_rate, 1, [&](int64_t pts, const float* s, size_t n) { feed.push_audio(pts, s, n); },
      [&](int64_t pts, const RgbImage& frame) { feed.push_video(pts, frame, 40'000'000); });
}

}  // namespace

TEST(TrainFeed, MarksLineUpFilesAndEpochsAndTheLastEndSaves) {
  Model::set_threads(1);
  const TempDir dir("avts-train-feed-");
  const auto model = Model::create(tiny_train_config(), 1);
  std::vector<int> started;
  int epochs_done = 0;
  FeedCallbacks callbacks;
  callbacks.started = [&](int epochs) { started.push_back(epochs); };
  callbacks.progress = [&](const TrainProgress& p) { epochs_done += p.kind == TrainProgress::Kind::Epoch; };
  TrainFeed feed(model, quick_feed(dir, /*epochs=*/0), callbacks);  // epochs from the marks
  const int sr = model->config().audio.sample_rate;
  const std::vector<BlinkMedia> files = blink_corpus("f", 3, 3.0);
  feed.begin(FeedStream::Audio);
  feed.begin(FeedStream::Video);
  int64_t sequence = 0;
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (const BlinkMedia& f : files) {
      const Split split = &f == &files.back() ? Split::Validation : Split::Train;
      for (FeedStream s : {FeedStream::Audio, FeedStream::Video})
        EXPECT_EQ(feed.file_start(s, sequence, f.id, split, 2), TrainFeed::Result::Ok);
      push_file(feed, f, sr);
      ++sequence;
    }
    for (FeedStream s : {FeedStream::Audio, FeedStream::Video}) feed.epoch_end(s, sequence);
    ++sequence;
  }
  EXPECT_FALSE(feed.end(FeedStream::Audio));  // the video is still coming
  EXPECT_TRUE(feed.end(FeedStream::Video));
  EXPECT_EQ(started, std::vector<int>{2});
  EXPECT_EQ(epochs_done, 2);
  ASSERT_NE(feed.trainer(), nullptr);
  EXPECT_EQ(feed.trainer()->epoch(), 2);
  EXPECT_EQ(feed.trainer()->validation_files(), 1);
  EXPECT_EQ(feed.skipped(), 0);
  EXPECT_NO_THROW(Model::load(dir / "model.avts"));
}

TEST(TrainFeed, AStreamWithoutMarksIsCutIntoChunksAllForTraining) {
  Model::set_threads(1);
  const TempDir dir("avts-train-feed-");
  const auto model = Model::create(tiny_train_config(), 1);
  FeedOptions o = quick_feed(dir, 1);
  o.max_pending_files = 8;  // one thread: the audio is all pushed before the video
  TrainFeed feed(model, o, {});
  feed.begin(FeedStream::Audio);
  feed.begin(FeedStream::Video);
  BlinkMedia media;
  media.id = "long";
  media.seconds = 8.0;
  push_file(feed, media, model->config().audio.sample_rate);
  feed.end(FeedStream::Audio);
  EXPECT_TRUE(feed.end(FeedStream::Video));
  ASSERT_NE(feed.trainer(), nullptr);
  EXPECT_EQ(feed.trainer()->epoch(), 1);
  EXPECT_EQ(feed.trainer()->validation_files(), 0);  // a short stream loses nothing to validation
}

TEST(TrainFeed, MarksAfterMediaAndMissingStreamsAreErrors) {
  Model::set_threads(1);
  const TempDir dir("avts-train-feed-");
  const auto model = Model::create(tiny_train_config(), 1);
  {
    TrainFeed feed(model, quick_feed(dir, 1), {});
    const float silence[160] = {};
    feed.push_audio(0, silence, 160);
    EXPECT_THROW(feed.file_start(FeedStream::Audio, 0, "late", Split::Train, 1), Error);
  }
  {
    FeedOptions o = quick_feed(dir, 1);
    o.start_timeout = std::chrono::milliseconds(50);
    TrainFeed feed(model, o, {});
    feed.begin(FeedStream::Audio);
    // The video never begins: the audio's file cannot be lined up with anything.
    try {
      feed.file_start(FeedStream::Audio, 0, "a", Split::Train, 1);
      BlinkMedia media;
      media.decode(
          model->config().audio.sample_rate, 1,
          [&](int64_t pts, const float* samples, size_t n) { feed.push_audio(pts, samples, n); },
          [](int64_t, const RgbImage&) {});
      feed.end(FeedStream::Audio);
      FAIL() << "media without video was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no video"), std::string::npos) << e.what();
    }
  }
}

TEST(TrainFeed, InterruptWakesAWaitingStream) {
  Model::set_threads(1);
  const TempDir dir("avts-train-feed-");
  const auto model = Model::create(tiny_train_config(), 1);
  FeedOptions o = quick_feed(dir, 1);
  o.max_pending_files = 1;
  TrainFeed feed(model, o, {});
  feed.begin(FeedStream::Audio);
  feed.begin(FeedStream::Video);
  std::atomic<int> result{-1};
  // The audio runs ahead of a video that does not come: it waits, until interrupted.
  std::thread audio([&] {
    TrainFeed::Result r = TrainFeed::Result::Ok;
    for (int64_t i = 0; i < 4 && r == TrainFeed::Result::Ok; ++i)
      r = feed.file_start(FeedStream::Audio, i, "f" + std::to_string(i), Split::Train, 1);
    result = static_cast<int>(r);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(result.load(), -1);  // still waiting
  feed.interrupt();
  audio.join();
  EXPECT_EQ(result.load(), static_cast<int>(TrainFeed::Result::Interrupted));
}
