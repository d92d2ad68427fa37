/**
 * SECTION:element-avtstrain
 * @title: avtstrain
 *
 * Self-supervised training of an AVTS model inside a pipeline (Korbar, Tran & Torresani,
 * NeurIPS 2018): decoded audio on audio_sink, decoded video on video_sink; the networks
 * learn to tell in-sync pairs from out-of-sync ones (audio of another file, then audio of
 * the same file shifted), following the paper's curriculum; the model file is written
 * after every epoch.
 *
 * Fed by avtsdatasrc, the files and epochs are the ones its avts-file-start /
 * avts-epoch-end marks give. Fed a plain stream (one file from uridecodebin, a live feed),
 * the stream is cut into files of `chunk` seconds and trained for one epoch at its end.
 *
 * Audio comes as mono F32 at the model's rate, video as RGB; the model's front end takes the
 * region (or the mouth of the faces avtsdatasrc face-track=true puts on the frames) and
 * resizes, as the feature elements do at inference. Files the trainer cannot use are skipped
 * with a warning; media without audio or without video is an error.
 *
 * ## Messages
 * - `avts-train-progress` (after steps, at most every progress-interval, and after each
 *   epoch): kind ("step" / "epoch"), epoch, epochs, stage, step, lr, loss, epoch-loss, pairs,
 *   pairs-per-second, train-files, hard-fallbacks, percent, progress; at epoch ends also
 *   validated, validation-clips, accuracy-easy, accuracy-hard, auc-easy, auc-hard, threshold,
 *   output. GST_MESSAGE_PROGRESS (code "training", with percent) goes with it.
 * - `avts-train-done` (the run is over and the model written; EOS reaches the bus only after
 *   it): epochs, steps, output, checkpoint, model-id, threshold, skipped.
 * - `avts-train-stopped` (the pipeline stopped before the last epoch; the trainer state is saved
 *   to `checkpoint` and `resume` goes on from it): epoch, epochs, step, checkpoint, saved,
 *   world-size.
 *
 * Data-parallel training: started by a launcher that sets RANK and WORLD_SIZE (torchrun,
 * Slurm's srun, a Kubernetes PyTorchJob; MASTER_ADDR, MASTER_PORT), each process's avtstrain
 * joins the group (c10d over Gloo, or NCCL between GPUs: dist-backend) and averages gradients
 * with the others at every step; give each process its share of the corpus with
 * avtsdatasrc's shard=$RANK num-shards=$WORLD_SIZE; device=cuda trains each rank on the GPU
 * its LOCAL_RANK names. Only rank 0 writes the output and checkpoint files.
 *
 * ## Example pipelines
 * |[
 * gst-launch-1.0 avtsdatasrc manifest=train.txt epochs=2 name=d \
 *     d.audio_src ! t.audio_sink  d.video_src ! t.video_sink \
 *     avtstrain name=t preset=avts-compact output=model.avts
 * gst-launch-1.0 uridecodebin uri=file:///talk.mp4 name=d \
 *     d. ! audioconvert ! audioresample ! t.audio_sink \
 *     d. ! videoconvert ! t.video_sink  avtstrain name=t chunk=5 output=model.avts
 * ]|
 */
#include "gstavtstrain.h"

#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "avts/error.h"
#include "avts/face.h"
#include "avts/model.h"
#include "avts/train.h"
#include "avts/train_feed.h"
#include "avtsdatasrc_events.h"
#include "avtstrain_enums.h"
#include "avtstrain_messages.h"
#include "avtstrain_settings.h"
#include "face_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_train_debug);
#define GST_CAT_DEFAULT gst_avts_train_debug

using Stream = avts::FeedStream;
using avts::TrainFeed;

enum { PROP_EPOCH = PROP_SETTINGS_END, PROP_STEP, PROP_SKIPPED, PROP_FRAMING };

#define AUDIO_CAPS "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, channels=(int)1, rate=(int)[1, MAX]"
#define VIDEO_CAPS \
  "video/x-raw, format=(string)RGB, width=(int)[1, MAX], height=(int)[1, MAX], framerate=(fraction)[0/1, MAX]"

static GstStaticPadTemplate audio_sink_template =
    GST_STATIC_PAD_TEMPLATE("audio_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate video_sink_template =
    GST_STATIC_PAD_TEMPLATE("video_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIDEO_CAPS));

// ---------------------------------------------------------------- state

struct PadStream {
  GstSegment segment;
  GstVideoInfo video;
  bool have_caps = false;
};

struct TrainState {
  TrainSettings settings;  // under the object lock

  // Loaded at NULL->READY (again before a second run: training changes it in place).
  std::shared_ptr<avts::Model> model;
  std::string loaded;  // what it was loaded from (model-file, preset, device, seed)
  bool model_trained = false;
  int first_epoch = 0;  // a resumed run's: the epochs its checkpoint had completed
  TrainSettings run;    // the settings of this run

  std::unique_ptr<TrainFeed> feed;  // READY->PAUSED .. PAUSED->READY
  PadStream audio, video;           // each pad's streaming thread
  avts::MouthFraming framing;       // video thread: the mouth a file's frames show

  // Progress, written on the thread that trains (under the feed's lock).
  std::chrono::steady_clock::time_point last_step_message;
  std::atomic<double> epoch_fraction{0};  // of the current epoch, by file marks (audio pad)
  std::atomic<guint> epoch{0};
  std::atomic<guint64> step{0};
  std::atomic<guint> skipped{0};
  std::atomic<bool> failed{false};  // training failed: its state is not worth a checkpoint
};

struct _GstAvtsTrain {
  GstElement parent;
  GstPad* audio_pad;
  GstPad* video_pad;
  TrainState* state;
};

G_DEFINE_TYPE(GstAvtsTrain, gst_avts_train, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(avtstrain, "avtstrain", GST_RANK_NONE, GST_TYPE_AVTS_TRAIN)

static Stream stream_of(GstAvtsTrain* self, GstPad* pad) {
  return pad == self->audio_pad ? Stream::Audio : Stream::Video;
}

static GstFlowReturn flow_of(TrainFeed::Result r) {
  switch (r) {
    case TrainFeed::Result::Ok:
      return GST_FLOW_OK;
    case TrainFeed::Result::Interrupted:
      return GST_FLOW_FLUSHING;
    case TrainFeed::Result::Finished:
      return GST_FLOW_EOS;  // every epoch is trained: upstream may stop
  }
  return GST_FLOW_ERROR;
}

// ---------------------------------------------------------------- messages

static void post_progress(GstAvtsTrain* self, GstProgressType type, const std::string& text, int percent) {
  GstMessage* m = gst_message_new_progress(GST_OBJECT(self), type, "training", text.c_str());
  if (percent >= 0) gst_structure_set(gst_message_writable_structure(m), "percent", G_TYPE_INT, percent, nullptr);
  gst_element_post_message(GST_ELEMENT(self), m);
}

static void fail(GstAvtsTrain* self, const std::exception& e) {
  self->state->failed = true;
  GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Training failed: %s", e.what()), (nullptr));
  post_progress(self, GST_PROGRESS_TYPE_ERROR, e.what(), -1);
}

static void on_started(GstAvtsTrain* self, int epochs) {
  GST_INFO_OBJECT(self, "training for %d epochs", epochs);
  post_progress(self, GST_PROGRESS_TYPE_START, "training for " + std::to_string(epochs) + " epochs", 0);
}

static void on_skipped(GstAvtsTrain* self, const std::string& id, const std::string& why, int skipped) {
  self->state->skipped = static_cast<guint>(skipped);
  GST_ELEMENT_WARNING_WITH_DETAILS(self, STREAM, DECODE, ("Not training on %s: %s", id.c_str(), why.c_str()),
                                   ("%d file(s) skipped so far", skipped),
                                   ("input", G_TYPE_STRING, id.c_str(), "reason", G_TYPE_STRING, why.c_str(), "skipped",
                                    G_TYPE_UINT, static_cast<guint>(skipped), nullptr));
}

static void on_progress(GstAvtsTrain* self, const avts::TrainProgress& p) {
  TrainState* st = self->state;
  const bool epoch_end = p.kind == avts::TrainProgress::Kind::Epoch;
  st->epoch = static_cast<guint>(epoch_end ? p.epoch + 1 : p.epoch);
  st->step = static_cast<guint64>(p.step);
  const auto now = std::chrono::steady_clock::now();
  if (!epoch_end) {
    if (now - st->last_step_message < std::chrono::milliseconds(st->run.progress_interval_ms)) return;
    st->last_step_message = now;
  }
  const double done = epoch_end ? p.epoch + 1 : p.epoch + st->epoch_fraction;
  const int percent = static_cast<int>(std::clamp(100.0 * done / std::max(p.epochs, 1), 0.0, 100.0));
  if (st->run.post_messages) {
    GstStructure* s = gst_avts_train_progress_structure(p, std::clamp(done / std::max(p.epochs, 1), 0.0, 1.0), percent,
                                                        st->run.output);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  }
  post_progress(self, GST_PROGRESS_TYPE_CONTINUE, gst_avts_train_progress_text(p), percent);
}

// The run is over and the model saved: say so, then let EOS reach the bus.
static void post_done(GstAvtsTrain* self, guint32 seqnum) {
  TrainState* st = self->state;
  const avts::Trainer* trainer = st->feed->trainer();
  const std::string id = trainer->model()->id();
  GstStructure* s = gst_avts_train_done_structure(*trainer, st->run.output, st->run.checkpoint, st->skipped.load());
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  if (trainer->epoch() < trainer->options().epochs)
    GST_ELEMENT_WARNING(self, STREAM, FAILED,
                        ("The stream ended after %d of %d epochs.", trainer->epoch(), trainer->options().epochs),
                        ("The model of the last finished epoch is written; set epochs to what the stream brings."));
  post_progress(self, GST_PROGRESS_TYPE_COMPLETE,
                "trained " + std::to_string(trainer->epoch()) + " epochs, wrote " + st->run.output, 100);
  GST_INFO_OBJECT(self, "done: %d epochs, model %s written to %s", trainer->epoch(), id.c_str(),
                  st->run.output.c_str());
  GstMessage* eos = gst_message_new_eos(GST_OBJECT(self));
  gst_message_set_seqnum(eos, seqnum);
  gst_element_post_message(GST_ELEMENT(self), eos);
}

// ---------------------------------------------------------------- data

// The running time of `buffer` on `stream`, or NONE (outside the segment, untimed).
static GstClockTime running_time(const PadStream& stream, GstBuffer* buffer) {
  if (!GST_BUFFER_PTS_IS_VALID(buffer)) return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time(&stream.segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
}

// A buffer's samples to the feed.
static TrainFeed::Result push_audio(TrainState* st, GstClockTime rt, GstBuffer* buffer) {
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return TrainFeed::Result::Ok;
  struct Unmap {
    GstBuffer* buffer;
    GstMapInfo* map;
    ~Unmap() { gst_buffer_unmap(buffer, map); }
  } unmap{buffer, &map};
  return st->feed->push_audio(static_cast<int64_t>(rt), reinterpret_cast<const float*>(map.data),
                              map.size / sizeof(float));
}

// A buffer's frame to the feed, with the mouth of the face on it (avtsdatasrc face-track=true)
// as avtsvideofeat takes it.
static TrainFeed::Result push_video(TrainState* st, GstClockTime rt, GstBuffer* buffer) {
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &st->video.video, buffer, GST_MAP_READ)) return TrainFeed::Result::Ok;
  struct Unmap {
    GstVideoFrame* frame;
    ~Unmap() { gst_video_frame_unmap(frame); }
  } unmap{&frame};
  const avts::RgbImage image = avts_gst::rgb_image_of(frame);
  const int64_t duration =
      GST_BUFFER_DURATION_IS_VALID(buffer) ? static_cast<int64_t>(GST_BUFFER_DURATION(buffer)) : -1;
  avts::FrameRegion mouth{};
  const avts::FrameView view =
      avts_gst::view_of(buffer, image.width, image.height, st->model->config().video, st->framing, &mouth);
  if (view == avts::FrameView::LeftOut) return TrainFeed::Result::Ok;
  return st->feed->push_video(static_cast<int64_t>(rt), image, duration,
                              view == avts::FrameView::Mouth ? &mouth : nullptr);
}

static GstFlowReturn gst_avts_train_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer) {
  auto* self = GST_AVTS_TRAIN(parent);
  TrainState* st = self->state;
  const Stream s = stream_of(self, pad);
  PadStream& stream = s == Stream::Audio ? st->audio : st->video;
  if (!stream.have_caps) {
    gst_buffer_unref(buffer);
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (nullptr), ("Data on %s before caps.", GST_PAD_NAME(pad)));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const GstClockTime rt = running_time(stream, buffer);
  if (!GST_CLOCK_TIME_IS_VALID(rt)) {
    GST_LOG_OBJECT(pad, "dropping a buffer without a running time");
    gst_buffer_unref(buffer);
    return GST_FLOW_OK;
  }
  TrainFeed::Result result = TrainFeed::Result::Ok;
  try {
    result = s == Stream::Audio ? push_audio(st, rt, buffer) : push_video(st, rt, buffer);
  } catch (const std::exception& e) {
    gst_buffer_unref(buffer);
    fail(self, e);
    return GST_FLOW_ERROR;
  }
  gst_buffer_unref(buffer);
  return flow_of(result);
}

static gboolean set_caps(GstAvtsTrain* self, Stream s, GstCaps* caps) {
  TrainState* st = self->state;
  if (s == Stream::Video) {
    st->video.have_caps = gst_video_info_from_caps(&st->video.video, caps);
    return st->video.have_caps;
  }
  gint rate = 0;
  gst_structure_get_int(gst_caps_get_structure(caps, 0), "rate", &rate);
  if (rate != st->model->config().audio.sample_rate) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("Audio at %d Hz, but the model takes %d Hz.", rate, st->model->config().audio.sample_rate),
                      ("Put audioresample before audio_sink."));
    return FALSE;
  }
  st->audio.have_caps = true;
  return TRUE;
}

// A mark of avtsdatasrc; other custom events are ignored.
static TrainFeed::Result handle_mark(GstAvtsTrain* self, Stream s, GstEvent* event) {
  TrainState* st = self->state;
  GstAvtsFileStart file;
  GstAvtsEpochEnd end;
  if (gst_avts_file_start_event_parse(event, &file)) {
    if (file.epoch < st->first_epoch && st->first_epoch < st->run.train.epochs)
      throw avts::Error("the run resumed after epoch " + std::to_string(st->first_epoch) +
                        ", but the stream sends epoch " + std::to_string(file.epoch + 1) +
                        ": set avtsdatasrc's first-epoch=" + std::to_string(st->first_epoch));
    if (s == Stream::Audio && file.files > 0) st->epoch_fraction = static_cast<double>(file.index) / file.files;
    if (s == Stream::Video) st->framing.reset();
    GST_DEBUG_OBJECT(self, "%s: file %" G_GUINT64_FORMAT " %s (epoch %d)", avts::feed_stream_name(s), file.sequence,
                     file.id.c_str(), file.epoch);
    return st->feed->file_start(s, static_cast<int64_t>(file.sequence), file.id, avts::parse_split(file.split),
                                file.epochs);
  }
  if (gst_avts_epoch_end_event_parse(event, &end)) return st->feed->epoch_end(s, static_cast<int64_t>(end.sequence));
  return TrainFeed::Result::Ok;
}

static gboolean gst_avts_train_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = GST_AVTS_TRAIN(parent);
  TrainState* st = self->state;
  const Stream s = stream_of(self, pad);
  PadStream& stream = s == Stream::Audio ? st->audio : st->video;
  gboolean ok = TRUE;
  try {
    switch (GST_EVENT_TYPE(event)) {
      case GST_EVENT_STREAM_START:
        st->feed->begin(s);
        break;
      case GST_EVENT_CAPS: {
        GstCaps* caps = nullptr;
        gst_event_parse_caps(event, &caps);
        ok = set_caps(self, s, caps);
        break;
      }
      case GST_EVENT_SEGMENT:
        gst_event_copy_segment(event, &stream.segment);
        if (stream.segment.format != GST_FORMAT_TIME) {
          GST_ELEMENT_ERROR(self, STREAM, FORMAT, (nullptr), ("%s needs a TIME segment.", GST_PAD_NAME(pad)));
          ok = FALSE;
        }
        break;
      case GST_EVENT_CUSTOM_DOWNSTREAM:
        handle_mark(self, s, event);  // a finished run ignores further marks
        break;
      case GST_EVENT_FLUSH_START:
        st->feed->interrupt();
        break;
      case GST_EVENT_FLUSH_STOP:
        st->feed->resume();
        gst_segment_init(&stream.segment, GST_FORMAT_TIME);
        break;
      case GST_EVENT_EOS:
        // The last stream to end finishes the run; only then does EOS reach the bus.
        if (st->feed->end(s)) post_done(self, gst_event_get_seqnum(event));
        break;
      default:
        break;
    }
  } catch (const std::exception& e) {
    fail(self, e);
    ok = FALSE;
  }
  gst_event_unref(event);
  return ok;
}

// Audio: mono F32 at the model's rate (so that avtsdatasrc and audioresample pick it).
static gboolean gst_avts_train_sink_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  auto* self = GST_AVTS_TRAIN(parent);
  if (GST_QUERY_TYPE(query) != GST_QUERY_CAPS || pad != self->audio_pad || !self->state->model)
    return gst_pad_query_default(pad, parent, query);
  GstCaps* filter = nullptr;
  gst_query_parse_caps(query, &filter);
  GstCaps* caps = gst_pad_get_pad_template_caps(pad);
  caps = gst_caps_make_writable(caps);
  gst_caps_set_simple(caps, "rate", G_TYPE_INT, self->state->model->config().audio.sample_rate, nullptr);
  if (filter) {
    GstCaps* both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = both;
  }
  gst_query_set_caps_result(query, caps);
  gst_caps_unref(caps);
  return TRUE;
}

// ---------------------------------------------------------------- states

// The pipeline stops before the last epoch is trained (an application stopping on SIGINT, an
// error upstream): the trainer's state, consistent between two files, goes to the checkpoint so that
// resume= goes on from it (training the interrupted epoch again from its first file). Not in
// a data-parallel run, whose ranks stop at different points: there the checkpoint written
// after the last finished epoch is the one to resume from. Posts `avts-train-stopped`.
static void save_stopped_run(GstAvtsTrain* self) {
  TrainState* st = self->state;
  const avts::Trainer* trainer = st->feed ? st->feed->trainer() : nullptr;
  // After a failure (a NaN loss, a write error) the checkpoint of the last epoch is kept.
  if (!trainer || trainer->finished() || st->failed) return;
  const bool alone = trainer->options().distributed.world_size <= 1;
  bool saved = false;
  if (alone && !st->run.checkpoint.empty()) {
    try {
      trainer->save_checkpoint(st->run.checkpoint);
      saved = true;
    } catch (const std::exception& e) {
      GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("Could not save the stopped run: %s", e.what()), (nullptr));
    }
  }
  GST_INFO_OBJECT(self, "stopped in epoch %d at step %" G_GINT64_FORMAT "%s", trainer->epoch() + 1,
                  static_cast<gint64>(trainer->step()), saved ? ", checkpoint saved" : "");
  GstStructure* s = gst_avts_train_stopped_structure(*trainer, st->run.checkpoint, saved);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// The model training starts from: model-file, else a fresh one of `preset`; for a resumed
// run the checkpoint's (read again when the run starts, which joins a data-parallel group).
static gboolean load_model(GstAvtsTrain* self) {
  TrainState* st = self->state;
  GST_OBJECT_LOCK(self);
  st->run = st->settings;
  GST_OBJECT_UNLOCK(self);
  const TrainSettings& r = st->run;
  if (r.output.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No output set."),
                      ("Set the output property to the model file to write."));
    return FALSE;
  }
  try {
    avts::StartedRun run = gst_avts_train_open_run(r, GST_OBJECT_NAME(self), /*distributed=*/false);
    st->model = run.model;
    st->first_epoch = run.first_epoch;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", e.what()),
                      ("model-file '%s', resume '%s', preset '%s', device '%s'", r.model_file.c_str(), r.resume.c_str(),
                       r.preset.c_str(), r.device.c_str()));
    return FALSE;
  }
  st->loaded = gst_avts_train_model_source(r);
  st->model_trained = false;
  st->epoch = static_cast<guint>(st->first_epoch);
  return TRUE;
}

static gboolean start_run(GstAvtsTrain* self) {
  TrainState* st = self->state;
  GST_OBJECT_LOCK(self);
  const bool changed = gst_avts_train_model_source(st->settings) != st->loaded;
  GST_OBJECT_UNLOCK(self);
  // A fresh start: not the last run's weights, nor a model the properties no longer name.
  if ((st->model_trained || changed) && !load_model(self)) return FALSE;
  GST_OBJECT_LOCK(self);
  st->run = st->settings;
  GST_OBJECT_UNLOCK(self);
  avts::FeedOptions options;
  options.train = gst_avts_train_options(st->run, GST_OBJECT_NAME(self));
  options.chunk_seconds = st->run.chunk;
  try {
    avts::TrainOptions check = options.train;
    check.epochs = std::max(check.epochs, 1);
    check.validate();
    // Data-parallel when a launcher (torchrun, Slurm) says so; the trainer joins the group
    // when the first file arrives.
    options.train.distributed = gst_avts_train_distributed_options(st->run);
    avts::FeedCallbacks callbacks;
    callbacks.started = [self](int epochs) { on_started(self, epochs); };
    callbacks.progress = [self](const avts::TrainProgress& p) { on_progress(self, p); };
    callbacks.skipped = [self](const std::string& id, const std::string& why, int n) { on_skipped(self, id, why, n); };
    if (st->run.resume.empty()) {
      st->feed = std::make_unique<TrainFeed>(st->model, options, std::move(callbacks));
    } else {
      std::unique_ptr<avts::Trainer> trainer =
          gst_avts_train_open_run(st->run, GST_OBJECT_NAME(self), /*distributed=*/true).resumed;
      // A run resumed after its last epoch trains nothing: its model is written as it is.
      if (trainer->finished() && trainer->options().distributed.rank == 0) trainer->model()->save(st->run.output);
      st->model = trainer->model();
      st->first_epoch = trainer->epoch();
      st->feed = std::make_unique<TrainFeed>(std::move(trainer), options, std::move(callbacks));
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("%s", e.what()), (nullptr));
    return FALSE;
  }
  st->model_trained = true;
  for (PadStream* p : {&st->audio, &st->video}) {
    gst_segment_init(&p->segment, GST_FORMAT_TIME);
    p->have_caps = false;
  }
  st->epoch = static_cast<guint>(st->first_epoch);
  st->step = 0;
  st->skipped = 0;
  st->failed = false;
  st->epoch_fraction = 0;
  st->last_step_message = {};
  return TRUE;
}

static GstStateChangeReturn gst_avts_train_change_state(GstElement* element, GstStateChange transition) {
  auto* self = GST_AVTS_TRAIN(element);
  TrainState* st = self->state;
  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!load_model(self)) return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!start_run(self)) return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      st->feed->interrupt();  // a stream waiting for the other one returns
      break;
    default:
      break;
  }
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_avts_train_parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) return ret;
  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      save_stopped_run(self);  // the pads are deactivated: no streaming thread is inside
      st->feed.reset();
      break;
    case GST_STATE_CHANGE_READY_TO_NULL:
      st->model.reset();
      break;
    default:
      break;
  }
  return ret;
}

// ---------------------------------------------------------------- GObject

static void gst_avts_train_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_TRAIN(object);
  GST_OBJECT_LOCK(self);
  const bool known = gst_avts_train_set_setting(self->state->settings, prop_id, value);
  GST_OBJECT_UNLOCK(self);
  if (!known) G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
}

static void gst_avts_train_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_TRAIN(object);
  TrainState* st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_EPOCH:
      g_value_set_uint(value, st->epoch);
      break;
    case PROP_FRAMING:
      g_value_set_string(value, st->model ? st->model->config().video.framing.c_str() : nullptr);
      break;
    case PROP_STEP:
      g_value_set_uint64(value, st->step);
      break;
    case PROP_SKIPPED:
      g_value_set_uint(value, st->skipped);
      break;
    default:
      if (!gst_avts_train_get_setting(st->settings, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_train_finalize(GObject* object) {
  auto* self = GST_AVTS_TRAIN(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_avts_train_parent_class)->finalize(object);
}

// The read-only counters, after the settings (avtstrain_settings.cpp).
static void install_properties(GObjectClass* gobject_class) {
  gst_avts_train_install_settings(gobject_class);
  const auto stats = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_EPOCH,
      g_param_spec_uint("epoch", "Epoch",
                        "Epochs completed so far (the model was written after each); with resume, from READY on, "
                        "the epochs its checkpoint had completed and those trained since.",
                        0, G_MAXUINT, 0, stats));
  g_object_class_install_property(
      gobject_class, PROP_STEP,
      g_param_spec_uint64("step", "Step", "Optimizer steps taken so far in this run, over all epochs.", 0, G_MAXUINT64,
                          0, stats));
  g_object_class_install_property(
      gobject_class, PROP_FRAMING,
      g_param_spec_string("framing", "Framing",
                          "Where the loaded model looks in each frame (from READY on): \"region\" (its fixed "
                          "region) or \"face\" (the mouth of the face on the frames: set avtsdatasrc "
                          "face-track=true). Faces on the frames are used either way.",
                          nullptr, stats));
  g_object_class_install_property(
      gobject_class, PROP_SKIPPED,
      g_param_spec_uint("skipped", "Skipped",
                        "Files the trainer could not use (no audio or video in them, shorter than a clip) so far.", 0,
                        G_MAXUINT, 0, stats));
}

static void gst_avts_train_class_init(GstAvtsTrainClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_avts_train_debug, "avtstrain", 0, "AVTS self-supervised training");

  gobject_class->set_property = gst_avts_train_set_property;
  gobject_class->get_property = gst_avts_train_get_property;
  gobject_class->finalize = gst_avts_train_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_avts_train_change_state);
  install_properties(gobject_class);

  gst_element_class_add_static_pad_template(element_class, &audio_sink_template);
  gst_element_class_add_static_pad_template(element_class, &video_sink_template);
  gst_element_class_set_static_metadata(element_class, "AVTS trainer", "Sink/Audio/Video",
                                        "Trains an AVTS model, self-supervised, on the decoded audio and video it "
                                        "receives and writes the model file",
                                        "avts project");
  gst_element_class_add_static_metadata(element_class, "example",
                                        "gst-launch-1.0 avtsdatasrc manifest=train.txt epochs=2 name=d "
                                        "d.audio_src ! t.audio_sink d.video_src ! t.video_sink "
                                        "avtstrain name=t preset=avts-compact output=model.avts");

  for (GType t : {GST_TYPE_AVTS_TRAIN_CURRICULUM, GST_TYPE_AVTS_TRAIN_LOSS, GST_TYPE_AVTS_TRAIN_OPTIMIZER,
                  GST_TYPE_AVTS_TRAIN_SCHEDULE, GST_TYPE_AVTS_TRAIN_DIST_BACKEND})
    gst_type_mark_as_plugin_api(t, static_cast<GstPluginAPIFlags>(0));
}

static void gst_avts_train_init(GstAvtsTrain* self) {
  self->state = new TrainState();
  GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SINK);  // the pipeline's EOS waits for ours
  for (auto [pad, templ] :
       {std::pair{&self->audio_pad, &audio_sink_template}, std::pair{&self->video_pad, &video_sink_template}}) {
    *pad = gst_pad_new_from_static_template(templ, templ->name_template);
    gst_pad_set_chain_function(*pad, GST_DEBUG_FUNCPTR(gst_avts_train_chain));
    gst_pad_set_event_function(*pad, GST_DEBUG_FUNCPTR(gst_avts_train_sink_event));
    gst_pad_set_query_function(*pad, GST_DEBUG_FUNCPTR(gst_avts_train_sink_query));
    gst_element_add_pad(GST_ELEMENT(self), *pad);
  }
}
