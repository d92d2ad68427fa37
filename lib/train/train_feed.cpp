#include "avts/train_feed.h"

#include <algorithm>
#include <cmath>

#include "avts/error.h"
#include "avts/model.h"
#include "media_timeline.h"

namespace avts {

using timeline::kSecondNs;

const char* feed_stream_name(FeedStream s) { return s == FeedStream::Audio ? "audio" : "video"; }

TrainFeed::TrainFeed(std::shared_ptr<Model> model, const FeedOptions& options, FeedCallbacks callbacks)
    : model_(std::move(model)), options_(options), callbacks_(std::move(callbacks)) {
  if (!(options_.chunk_seconds >= model_->config().clip_seconds))
    throw Error("chunk must be at least one clip (" + std::to_string(model_->config().clip_seconds) + " s)");
}

TrainFeed::TrainFeed(std::unique_ptr<Trainer> resumed, const FeedOptions& options, FeedCallbacks callbacks)
    : TrainFeed(resumed->model(), options, std::move(callbacks)) {
  resumed_ = std::move(resumed);
}

TrainFeed::~TrainFeed() = default;

TrainFeed::Result TrainFeed::state() const {
  if (interrupted_) return Result::Interrupted;
  if (done_ || (trainer_ && trainer_->finished())) return Result::Finished;
  return Result::Ok;
}

void TrainFeed::create_trainer(int epochs) {
  if (resumed_) {
    trainer_ = std::move(resumed_);
  } else {
    TrainOptions o = options_.train;
    if (o.epochs <= 0) o.epochs = std::max(epochs, 1);
    trainer_ = std::make_unique<Trainer>(model_, o);
  }
  if (callbacks_.progress) trainer_->set_progress(callbacks_.progress);
  if (callbacks_.started) callbacks_.started(trainer_->options().epochs);
}

TrainFeed::Result TrainFeed::file_start(FeedStream s, int64_t sequence, const std::string& id, Split split,
                                        int epochs) {
  std::unique_lock<std::mutex> lock(lock_);
  if (mode_ == Mode::Chunks)
    throw Error(std::string(feed_stream_name(s)) + ": an avts-file-start mark came after media without marks");
  mode_ = Mode::Marks;
  if (!trainer_) create_trainer(epochs);
  return enter(lock, s, sequence, /*epoch_end=*/false, id, split);
}

TrainFeed::Result TrainFeed::epoch_end(FeedStream s, int64_t sequence) {
  std::unique_lock<std::mutex> lock(lock_);
  if (mode_ != Mode::Marks)
    throw Error(std::string(feed_stream_name(s)) + ": an avts-epoch-end mark without file marks");
  return enter(lock, s, sequence, /*epoch_end=*/true, "", Split::Auto);
}

// The stream moves on to mark `key`: the entry is created by whichever stream gets there
// first, and what both streams have now passed goes to the trainer.
TrainFeed::Result TrainFeed::enter(std::unique_lock<std::mutex>& lock, FeedStream s, int64_t key, bool epoch_end,
                                   const std::string& id, Split split) {
  Cursor& me = cursors_[static_cast<int>(s)];
  me.begun = true;
  if (key <= me.position)
    throw Error(std::string(feed_stream_name(s)) + ": mark " + std::to_string(key) + " after mark " +
                std::to_string(me.position) + ": marks must increase");
  if (!epoch_end) wait_for_other(lock, s);
  if (const Result r = state(); r != Result::Ok) return r;
  me.position = key;
  if (!pending_.count(key)) {
    Pending p;
    p.epoch_end = epoch_end;
    if (!epoch_end) {
      p.file = std::make_unique<TrainingFile>(model_->config(), id, split);
      ++pending_files_;
    }
    pending_.emplace(key, std::move(p));
  }
  complete();
  return state();
}

// Holds the stream that is ahead while too many files are open; a stream that never began
// is given start_timeout to begin, then its media counts as missing.
void TrainFeed::wait_for_other(std::unique_lock<std::mutex>& lock, FeedStream s) {
  const FeedStream o = s == FeedStream::Audio ? FeedStream::Video : FeedStream::Audio;
  const Cursor& me = cursors_[static_cast<int>(s)];
  const Cursor& other = cursors_[static_cast<int>(o)];
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  while (!interrupted_ && !other.ended && pending_files_ >= options_.max_pending_files &&
         me.position > other.position) {
    if (other.begun) {
      moved_.wait(lock);
    } else if (moved_.wait_until(lock, deadline) == std::cv_status::timeout && !other.begun) {
      throw Error(std::string("the media has no ") + feed_stream_name(o) + ": " + feed_stream_name(o) +
                  "_sink got nothing while " + feed_stream_name(s) + "_sink received " +
                  std::to_string(pending_files_) + " files");
    }
  }
}

TrainFeed::Result TrainFeed::chunk_of(std::unique_lock<std::mutex>& lock, FeedStream s, int64_t running_time,
                                      TrainingFile** file) {
  if (mode_ == Mode::Marks) {
    // avtsdatasrc: media between marks belongs to the file entered last.
    const auto it = pending_.find(cursors_[static_cast<int>(s)].position);
    *file = it != pending_.end() ? it->second.file.get() : nullptr;
    return state();
  }
  mode_ = Mode::Chunks;
  if (!trainer_) create_trainer(0);
  const auto chunk_ns = static_cast<int64_t>(std::llround(options_.chunk_seconds * kSecondNs));
  const int64_t key = std::max<int64_t>(running_time, 0) / chunk_ns;
  Cursor& me = cursors_[static_cast<int>(s)];
  if (key > me.position) {  // (time going back stays in the current chunk)
    const Result r = enter(lock, s, key, /*epoch_end=*/false, "chunk-" + std::to_string(key), Split::Train);
    if (r != Result::Ok) return r;
  }
  *file = pending_.at(me.position).file.get();
  return state();
}

TrainFeed::Result TrainFeed::push_audio(int64_t running_time, const float* samples, size_t n) {
  std::unique_lock<std::mutex> lock(lock_);
  Cursor& me = cursors_[static_cast<int>(FeedStream::Audio)];
  me.begun = true;
  ++me.buffers;
  const int64_t rate = model_->config().audio.sample_rate;
  const auto chunk_ns = static_cast<int64_t>(std::llround(options_.chunk_seconds * kSecondNs));
  // Without marks a buffer across a chunk boundary is split there.
  while (n > 0) {
    TrainingFile* file = nullptr;
    if (const Result r = chunk_of(lock, FeedStream::Audio, running_time, &file); r != Result::Ok) return r;
    if (!file) return Result::Ok;  // between an epoch end and the next file: nothing to add to
    size_t take = n;
    if (mode_ == Mode::Chunks) {
      const int64_t left = (me.position + 1) * chunk_ns - running_time;
      take = std::clamp<size_t>(static_cast<size_t>((left * rate + kSecondNs - 1) / kSecondNs), 1, n);
    }
    file->push_audio(running_time, samples, take);
    samples += take;
    n -= take;
    running_time += static_cast<int64_t>(take) * kSecondNs / rate;
  }
  return Result::Ok;
}

TrainFeed::Result TrainFeed::push_video(int64_t running_time, const RgbImage& frame, int64_t duration,
                                        const FrameRegion* region) {
  std::unique_lock<std::mutex> lock(lock_);
  Cursor& me = cursors_[static_cast<int>(FeedStream::Video)];
  me.begun = true;
  ++me.buffers;
  TrainingFile* file = nullptr;
  if (const Result r = chunk_of(lock, FeedStream::Video, running_time, &file); r != Result::Ok) return r;
  if (file) file->push_video(running_time, frame, duration, region);
  return Result::Ok;
}

void TrainFeed::begin(FeedStream s) {
  std::lock_guard<std::mutex> guard(lock_);
  cursors_[static_cast<int>(s)].begun = true;
  moved_.notify_all();
}

// Hands whatever both streams are past to the trainer, in mark order.
void TrainFeed::complete() {
  const auto passed = [](const Cursor& c, int64_t key, bool epoch_end) {
    return c.ended || c.position > key || (epoch_end && c.position == key);
  };
  while (!pending_.empty()) {
    const auto it = pending_.begin();
    const int64_t key = it->first;
    const bool epoch_end = it->second.epoch_end;
    if (!passed(cursors_[0], key, epoch_end) || !passed(cursors_[1], key, epoch_end)) break;
    std::unique_ptr<TrainingFile> file = std::move(it->second.file);
    pending_.erase(it);
    if (epoch_end) {
      end_epoch();
    } else {
      --pending_files_;
      add(std::move(file));
    }
  }
  moved_.notify_all();
}

void TrainFeed::add(std::unique_ptr<TrainingFile> file) {
  if (!trainer_ || trainer_->finished()) return;
  const std::string id = file->id();
  std::string why;
  try {
    if (trainer_->add_file(std::move(*file)) > 0) {
      ++files_this_epoch_;
      return;
    }
    why = "shorter than one clip (" + std::to_string(std::lround(model_->config().clip_seconds * 1000)) + " ms)";
  } catch (const DistributedError&) {
    throw;  // the run's fault, not the file's
  } catch (const Error& e) {
    why = e.what();
  }
  skip(id, why);
}

void TrainFeed::end_epoch() {
  if (!trainer_ || trainer_->finished()) return;
  files_this_epoch_ = 0;
  trainer_->end_epoch();  // trains what is queued, validates, writes the model and checkpoint
}

void TrainFeed::skip(const std::string& id, const std::string& why) {
  const int n = ++skipped_;
  if (callbacks_.skipped) callbacks_.skipped(id, why, n);
}

bool TrainFeed::end(FeedStream s) {
  std::unique_lock<std::mutex> lock(lock_);
  Cursor& me = cursors_[static_cast<int>(s)];
  const Cursor& other = cursors_[1 - static_cast<int>(s)];
  const FeedStream o = s == FeedStream::Audio ? FeedStream::Video : FeedStream::Audio;
  if (me.ended) return done_;
  me.ended = true;
  moved_.notify_all();
  // A stream that has not begun yet may still be on its way.
  moved_.wait_until(lock, std::chrono::steady_clock::now() + options_.start_timeout,
                    [&] { return other.begun || interrupted_; });
  if (interrupted_) return false;
  for (const FeedStream x : {s, o}) {
    const Cursor& c = cursors_[static_cast<int>(x)];
    const Cursor& d = cursors_[1 - static_cast<int>(x)];
    if ((c.ended || !c.begun) && c.buffers == 0 && d.buffers > 0)
      throw Error(std::string("the media has no ") + feed_stream_name(x) + ": " + feed_stream_name(x) + "_sink " +
                  (c.begun ? "ended without data" : "got nothing") + " while " +
                  feed_stream_name(x == FeedStream::Audio ? FeedStream::Video : FeedStream::Audio) + "_sink received " +
                  std::to_string(d.buffers) + " buffers");
  }
  if (!other.begun) throw Error("no media: audio_sink and video_sink got no data");
  complete();
  if (!other.ended) return false;

  if (me.buffers == 0 && other.buffers == 0) throw Error("no media: audio_sink and video_sink ended without data");
  if (trainer_ && !trainer_->finished() && files_this_epoch_ > 0) {
    // A stream without epoch marks (or one cut short) ends its epoch here.
    try {
      end_epoch();
    } catch (const Error& e) {
      if (mode_ != Mode::Chunks) throw;
      throw Error(std::string(e.what()) + " (a stream without avtsdatasrc's marks is cut into files of chunk = " +
                  std::to_string(options_.chunk_seconds) + " s: lower chunk or feed more media)");
    }
  }
  if (!trainer_ || trainer_->epoch() == 0) throw Error("no epoch was trained: no usable media reached avtstrain");
  done_ = true;
  return true;
}

void TrainFeed::interrupt() {
  std::lock_guard<std::mutex> guard(lock_);
  interrupted_ = true;
  moved_.notify_all();
}

void TrainFeed::resume() {
  std::lock_guard<std::mutex> guard(lock_);
  interrupted_ = false;
}

int TrainFeed::skipped() const { return skipped_; }

}  // namespace avts
