// Training from two streams (what avtstrain does with its pads), free of GStreamer: lines the audio and the video
// up by their file marks (avtsdatasrc's avts-file-start / avts-epoch-end, identified by
// sequence number) or, for a stream without marks, cuts both into chunks of equal running
// time (training files all: a short stream must not lose one to validation); collects each file into a TrainingFile and
// hands it to the trainer once both streams are past it; ends an epoch once both streams are past its end mark (a
// stream without marks: at the end of the streams). Memory stays bounded: the trainer keeps a bounded bank, and a
// stream that runs more than `max_pending_files` files ahead of the other waits for it.
//
// Thread-safe: each stream calls in from its own streaming thread. Training runs in the
// call that completes a file or an epoch, under the feed's lock, so the files reach the
// trainer in stream order whatever the threads do. Fatal problems throw Error.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "avts/train.h"

namespace avts {

enum class FeedStream { Audio = 0, Video = 1 };
const char* feed_stream_name(FeedStream s);  // "audio" / "video"

struct FeedOptions {
  TrainOptions train;         // epochs <= 0: as the first file mark says (1 without marks)
  double chunk_seconds = 10;  // length of the files cut from a stream without marks
  int max_pending_files = 3;  // files begun but not complete before the leading stream waits
  // How long a stream may wait for the other one to start at all before the other's
  // media is taken to be missing.
  std::chrono::milliseconds start_timeout{5000};
};

struct FeedCallbacks {
  std::function<void(int epochs)> started;             // the trainer exists (first file)
  std::function<void(const TrainProgress&)> progress;  // every step and epoch
  std::function<void(const std::string& id, const std::string& why, int skipped)> skipped;  // a file not used
};

class TrainFeed {
 public:
  enum class Result { Ok, Interrupted, Finished };  // Finished: every epoch trained, want no more

  TrainFeed(std::shared_ptr<Model> model, const FeedOptions& options, FeedCallbacks callbacks);
  // Goes on with a run resumed from its checkpoint: its model, and its epochs rather than the
  // marks'.
  TrainFeed(std::unique_ptr<Trainer> resumed, const FeedOptions& options, FeedCallbacks callbacks);
  ~TrainFeed();

  // The stream enters the file with mark `sequence`; blocks while it is too far ahead.
  Result file_start(FeedStream s, int64_t sequence, const std::string& id, Split split, int epochs);
  // The stream passes the end of an epoch.
  Result epoch_end(FeedStream s, int64_t sequence);
  // Media in running time (ns): mono float samples at the model's rate; RGB frames.
  Result push_audio(int64_t running_time, const float* samples, size_t n);
  // `region`: the part of the frame to look at instead of the model's (a face's mouth).
  Result push_video(int64_t running_time, const RgbImage& frame, int64_t duration, const FrameRegion* region = nullptr);
  // A stream has begun (STREAM_START) / ended (EOS). end() returns true when both have
  // ended and the last epoch is trained and saved; a stream that never began is given
  // start_timeout to begin before its media counts as missing.
  void begin(FeedStream s);
  bool end(FeedStream s);

  // Wakes and refuses waiting calls (flushing) until resume().
  void interrupt();
  void resume();

  int skipped() const;
  // The trainer (nullptr until the first file, unless resumed): read it between calls (e.g.
  // after end()).
  const Trainer* trainer() const { return trainer_ ? trainer_.get() : resumed_.get(); }

 private:
  struct Cursor {
    bool begun = false, ended = false;
    int64_t position = -1;  // latest mark (sequence or chunk number) entered; -1: none
    int64_t buffers = 0;
  };
  struct Pending {
    bool epoch_end = false;
    std::unique_ptr<TrainingFile> file;
  };
  enum class Mode { Unknown, Marks, Chunks };

  Result enter(std::unique_lock<std::mutex>& lock, FeedStream s, int64_t key, bool epoch_end, const std::string& id,
               Split split);
  Result chunk_of(std::unique_lock<std::mutex>& lock, FeedStream s, int64_t running_time, TrainingFile** file);
  void wait_for_other(std::unique_lock<std::mutex>& lock, FeedStream s);
  void create_trainer(int epochs);
  void complete();
  void add(std::unique_ptr<TrainingFile> file);
  void end_epoch();
  void skip(const std::string& id, const std::string& why);
  Result state() const;

  std::shared_ptr<Model> model_;
  FeedOptions options_;
  FeedCallbacks callbacks_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<Trainer> resumed_;  // becomes trainer_ at the first file

  mutable std::mutex lock_;
  std::condition_variable moved_;  // a stream moved on, or interrupt()
  Mode mode_ = Mode::Unknown;
  Cursor cursors_[2];
  std::map<int64_t, Pending> pending_;  // by mark; files being received, epoch ends not yet passed
  int pending_files_ = 0;
  int files_this_epoch_ = 0;     // given to the trainer since the last epoch end
  std::atomic<int> skipped_{0};  // read by property getters while a stream trains
  bool interrupted_ = false;
  bool done_ = false;
};

}  // namespace avts
