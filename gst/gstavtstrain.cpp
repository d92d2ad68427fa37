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
 * Progress: `avts-train-progress` element messages (kind step / epoch, epoch, epochs,
 * stage, step, lr, loss, epoch-loss, pairs-per-second, validation accuracies...) and
 * GST_MESSAGE_PROGRESS (code "training", with percent). Files the trainer cannot use are
 * skipped with a warning. EOS reaches the bus only after the model file is written, with
 * an `avts-train-done` message just before it. Media without audio or without video is
 * an error.
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
#include <cmath>
#include <memory>
#include <string>

#include "avts/error.h"
#include "avts/face.h"
#include "avts/model.h"
#include "avts/train.h"
#include "avtsprecision.h"
#include "avtsdatasrc_events.h"
#include "avtstrain_feed.h"
#include "face_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_train_debug);
#define GST_CAT_DEFAULT gst_avts_train_debug

using avts_gst::Stream;
using avts_gst::TrainFeed;

enum {
  PROP_0,
  PROP_MODEL_FILE,
  PROP_PRESET,
  PROP_OUTPUT,
  PROP_CHECKPOINT,
  PROP_RESUME,
  PROP_COMMAND,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_DIST_BACKEND,
  PROP_EPOCHS,
  PROP_BATCH_SIZE,
  PROP_LR,
  PROP_CURRICULUM,
  PROP_EASY_EPOCHS,
  PROP_MIXED_EPOCHS,
  PROP_HARD_FRACTION,
  PROP_NEGATIVES,
  PROP_LOSS,
  PROP_TEMPERATURE,
  PROP_OPTIMIZER,
  PROP_SCHEDULE,
  PROP_WEIGHT_DECAY,
  PROP_WARMUP_STEPS,
  PROP_SEED,
  PROP_MAX_TRAIN_FILES,
  PROP_CHUNK,
  PROP_PROGRESS_INTERVAL,
  PROP_POST_MESSAGES,
  PROP_EPOCH,
  PROP_STEP,
  PROP_SKIPPED,
  PROP_FRAMING,
};

#define DEFAULT_PRESET "avts-compact"
#define DEFAULT_DEVICE "cpu"
#define DEFAULT_CHUNK 10.0
#define DEFAULT_PROGRESS_INTERVAL_MS 1000
#define DEFAULT_POST_MESSAGES TRUE

#define AUDIO_CAPS "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, channels=(int)1, rate=(int)[1, MAX]"
#define VIDEO_CAPS \
  "video/x-raw, format=(string)RGB, width=(int)[1, MAX], height=(int)[1, MAX], framerate=(fraction)[0/1, MAX]"

static GstStaticPadTemplate audio_sink_template =
    GST_STATIC_PAD_TEMPLATE("audio_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate video_sink_template =
    GST_STATIC_PAD_TEMPLATE("video_sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIDEO_CAPS));

// ---------------------------------------------------------------- enums (same values as lib's)

GType gst_avts_train_curriculum_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::Curriculum::Paper),
       "The paper's: easy negatives only for easy-epochs, then 75 % easy / 25 % hard", "paper"},
      {static_cast<gint>(avts::Curriculum::PaperFine),
       "As paper, then a third stage whose hard negatives are shifted by a few frames only", "paper-fine"},
      {static_cast<gint>(avts::Curriculum::None), "Easy and hard negatives from the start", "none"},
      {static_cast<gint>(avts::Curriculum::EasyOnly), "Easy negatives only, throughout", "easy-only"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainCurriculum", values));
  return type;
}

GType gst_avts_train_loss_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::LossKind::Contrastive), "Contrastive loss on the embedding distance", "contrastive"},
      {static_cast<gint>(avts::LossKind::CrossEntropy), "Two-way cross-entropy on the fusion head", "cross-entropy"},
      {static_cast<gint>(avts::LossKind::MultiWay), "Each video clip against its positive and negatives at once",
       "multi-way"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainLoss", values));
  return type;
}

GType gst_avts_train_optimizer_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::OptimizerKind::Sgd), "SGD with momentum", "sgd"},
      {static_cast<gint>(avts::OptimizerKind::AdamW), "AdamW", "adamw"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainOptimizer", values));
  return type;
}

GType gst_avts_train_schedule_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::ScheduleKind::Cosine), "Cosine decay from lr over the epochs", "cosine"},
      {static_cast<gint>(avts::ScheduleKind::Step), "lr times 0.1 every 10 epochs", "step"},
      {static_cast<gint>(avts::ScheduleKind::Constant), "lr throughout", "constant"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainSchedule", values));
  return type;
}

GType gst_avts_train_dist_backend_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::DistBackend::Auto), "NCCL when training on a GPU and avts has it, else Gloo", "auto"},
      {static_cast<gint>(avts::DistBackend::Gloo), "Gloo: through the host, any device", "gloo"},
      {static_cast<gint>(avts::DistBackend::Nccl), "NCCL: from GPU to GPU", "nccl"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsTrainDistBackend", values));
  return type;
}

// ---------------------------------------------------------------- state

struct Settings {
  std::string model_file, preset = DEFAULT_PRESET, output, checkpoint, resume, command, device = DEFAULT_DEVICE;
  avts::Precision precision = avts::Precision::Float32;
  avts::DistBackend dist_backend = avts::DistBackend::Auto;
  avts::TrainOptions train;  // epochs 0: from the stream
  gdouble chunk = DEFAULT_CHUNK;
  guint progress_interval_ms = DEFAULT_PROGRESS_INTERVAL_MS;
  gboolean post_messages = DEFAULT_POST_MESSAGES;

  Settings() { train.epochs = 0; }
};

struct PadStream {
  GstSegment segment;
  GstVideoInfo video;
  bool have_caps = false;
};

struct TrainState {
  Settings settings;  // under the object lock

  // Loaded at NULL->READY (again before a second run: training changes it in place).
  std::shared_ptr<avts::Model> model;
  std::string loaded;  // what it was loaded from (model-file, preset, device, seed)
  bool model_trained = false;
  int first_epoch = 0;  // a resumed run's: the epochs its checkpoint had completed
  Settings run;         // the settings of this run

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
    const avts::ValidationReport& v = p.validation;
    GstStructure* s = gst_structure_new(
        "avts-train-progress", "kind", G_TYPE_STRING, epoch_end ? "epoch" : "step", "epoch", G_TYPE_INT, p.epoch,
        "epochs", G_TYPE_INT, p.epochs, "stage", G_TYPE_INT, p.stage, "step", G_TYPE_INT64, static_cast<gint64>(p.step),
        "lr", G_TYPE_DOUBLE, p.lr, "loss", G_TYPE_DOUBLE, p.loss, "epoch-loss", G_TYPE_DOUBLE, p.epoch_loss, "pairs",
        G_TYPE_INT64, static_cast<gint64>(p.epoch_pairs), "pairs-per-second", G_TYPE_DOUBLE, p.pairs_per_second,
        "train-files", G_TYPE_INT, p.train_files, "hard-fallbacks", G_TYPE_INT, p.hard_fallbacks, "percent", G_TYPE_INT,
        percent, "progress", G_TYPE_DOUBLE, std::clamp(done / std::max(p.epochs, 1), 0.0, 1.0), nullptr);
    if (epoch_end)
      gst_structure_set(s, "validated", G_TYPE_BOOLEAN, p.validated ? TRUE : FALSE, "validation-clips", G_TYPE_INT,
                        v.clips, "accuracy-easy", G_TYPE_DOUBLE, v.accuracy_easy, "accuracy-hard", G_TYPE_DOUBLE,
                        v.accuracy_hard, "auc-easy", G_TYPE_DOUBLE, v.auc_easy, "auc-hard", G_TYPE_DOUBLE, v.auc_hard,
                        "threshold", G_TYPE_DOUBLE, v.threshold, "output", G_TYPE_STRING, st->run.output.c_str(),
                        nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  }
  char text[160];
  if (epoch_end)
    g_snprintf(text, sizeof text, "epoch %d/%d done: loss %.4f, %.1f pairs/s, model written", p.epoch + 1, p.epochs,
               p.epoch_loss, p.pairs_per_second);
  else
    g_snprintf(text, sizeof text, "epoch %d/%d (stage %d): step %" G_GINT64_FORMAT ", loss %.4f, %.1f pairs/s",
               p.epoch + 1, p.epochs, p.stage, static_cast<gint64>(p.step), p.loss, p.pairs_per_second);
  post_progress(self, GST_PROGRESS_TYPE_CONTINUE, text, percent);
}

// The run is over and the model saved: say so, then let EOS reach the bus.
static void post_done(GstAvtsTrain* self, guint32 seqnum) {
  TrainState* st = self->state;
  const avts::Trainer* trainer = st->feed->trainer();
  const std::string id = trainer->model()->id();
  GstStructure* s = gst_structure_new(
      "avts-train-done", "epochs", G_TYPE_INT, trainer->epoch(), "steps", G_TYPE_INT64,
      static_cast<gint64>(trainer->step()), "output", G_TYPE_STRING, st->run.output.c_str(), "checkpoint",
      G_TYPE_STRING, st->run.checkpoint.c_str(), "model-id", G_TYPE_STRING, id.c_str(), "threshold", G_TYPE_DOUBLE,
      trainer->model()->config().threshold, "skipped", G_TYPE_UINT, st->skipped.load(), nullptr);
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
    if (s == Stream::Audio) {
      GstMapInfo map;
      if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
        result = st->feed->push_audio(static_cast<int64_t>(rt), reinterpret_cast<const float*>(map.data),
                                      map.size / sizeof(float));
        gst_buffer_unmap(buffer, &map);
      }
    } else {
      GstVideoFrame frame;
      if (gst_video_frame_map(&frame, &stream.video, buffer, GST_MAP_READ)) {
        avts::RgbImage image;
        image.data = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
        image.width = GST_VIDEO_FRAME_WIDTH(&frame);
        image.height = GST_VIDEO_FRAME_HEIGHT(&frame);
        image.stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
        const int64_t duration =
            GST_BUFFER_DURATION_IS_VALID(buffer) ? static_cast<int64_t>(GST_BUFFER_DURATION(buffer)) : -1;
        // Faces on the frames (avtsdatasrc face-track=true): the mouth, as avtsvideofeat takes it.
        avts::FrameRegion mouth{};
        const avts::FrameView view =
            avts_gst::view_of(buffer, image.width, image.height, st->model->config().video, st->framing, &mouth);
        try {
          if (view != avts::FrameView::LeftOut)
            result = st->feed->push_video(static_cast<int64_t>(rt), image, duration,
                                          view == avts::FrameView::Mouth ? &mouth : nullptr);
        } catch (...) {
          gst_video_frame_unmap(&frame);
          throw;
        }
        gst_video_frame_unmap(&frame);
      }
    }
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
    GST_DEBUG_OBJECT(self, "%s: file %" G_GUINT64_FORMAT " %s (epoch %d)", avts_gst::stream_name(s), file.sequence,
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
  GstStructure* s = gst_structure_new("avts-train-stopped", "epoch", G_TYPE_INT, trainer->epoch(), "epochs", G_TYPE_INT,
                                      trainer->options().epochs, "step", G_TYPE_INT64,
                                      static_cast<gint64>(trainer->step()), "checkpoint", G_TYPE_STRING,
                                      st->run.checkpoint.c_str(), "saved", G_TYPE_BOOLEAN, saved ? TRUE : FALSE,
                                      "world-size", G_TYPE_INT, trainer->options().distributed.world_size, nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static std::string model_source(const Settings& s) {
  return s.model_file + "\n" + s.resume + "\n" + s.preset + "\n" + s.device + "\n" + avts::precision_name(s.precision) +
         "\n" + std::to_string(s.train.seed);
}

// The trainer's options from the element's settings (epochs 0: from the stream).
static avts::TrainOptions train_options(GstAvtsTrain* self, const Settings& r) {
  avts::TrainOptions o = r.train;
  o.output = r.output;
  o.checkpoint = r.checkpoint;
  o.command = r.command.empty() ? std::string("avtstrain (element '") + GST_OBJECT_NAME(self) + "')" : r.command;
  return o;
}

// The launcher's ranks (RANK, WORLD_SIZE...) and the backend chosen.
static avts::DistributedOptions distributed_options(const Settings& r) {
  avts::DistributedOptions d = avts::DistributedOptions::from_environment();
  d.backend = r.dist_backend;
  return d;
}

// Continues the run of the `resume` checkpoint. Data-parallel runs join their group here.
static std::unique_ptr<avts::Trainer> resume_run(GstAvtsTrain* self, const Settings& r, bool distributed) {
  if (r.train.epochs <= 0)
    throw avts::Error("resume needs epochs: the number of epochs the whole run trains, the resumed ones included");
  if (!r.model_file.empty())
    throw avts::Error("resume and model-file exclude each other: the checkpoint brings the model");
  avts::TrainOptions o = train_options(self, r);
  const avts::DistributedOptions d = distributed_options(r);
  if (distributed) o.distributed = d;
  auto trainer = avts::Trainer::resume(r.resume, o, d.rank_device(r.device));
  trainer->model()->set_precision(r.precision);
  return trainer;
}

// The model training starts from: model-file, else a fresh one of `preset`; for a resumed
// run the checkpoint's (read again when the run starts, which joins a data-parallel group).
static gboolean load_model(GstAvtsTrain* self) {
  TrainState* st = self->state;
  GST_OBJECT_LOCK(self);
  st->run = st->settings;
  GST_OBJECT_UNLOCK(self);
  const Settings& r = st->run;
  if (r.output.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No output set."),
                      ("Set the output property to the model file to write."));
    return FALSE;
  }
  st->first_epoch = 0;
  try {
    // Where this rank trains: device=cuda is the GPU its LOCAL_RANK names when several ranks run.
    const avts::DistributedOptions dist = distributed_options(r);
    const std::string device = dist.rank_device(r.device);
    dist.check_backend(device);  // before any media is decoded
    if (r.precision == avts::Precision::Float16)
      throw avts::Error("precision float16 cannot train (it needs loss scaling): use bfloat16 or float32");
    if (r.precision != avts::Precision::Float32 && device.rfind("cuda", 0) != 0)
      throw avts::Error("precision bfloat16 needs a CUDA device to train (device=cuda); on the CPU train in float32");
    if (!r.resume.empty()) {
      const auto trainer = resume_run(self, r, /*distributed=*/false);
      st->model = trainer->model();
      st->first_epoch = trainer->epoch();
    } else if (!r.model_file.empty()) {
      if (!g_file_test(r.model_file.c_str(), G_FILE_TEST_EXISTS))
        throw avts::Error("Could not load model file '" + r.model_file + "': no such file.");
      st->model = avts::Model::load(r.model_file, device);
    } else {
      avts::ModelConfig config = avts::ModelConfig::preset_config(r.preset);
      config.provenance["created-by"] = "avtstrain";
      config.provenance["trained"] = "yes";
      st->model = avts::Model::create(config, r.train.seed, device);
    }
    st->model->set_precision(r.precision);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", e.what()),
                      ("model-file '%s', resume '%s', preset '%s', device '%s'", r.model_file.c_str(), r.resume.c_str(),
                       r.preset.c_str(), r.device.c_str()));
    return FALSE;
  }
  st->loaded = model_source(r);
  st->model_trained = false;
  st->epoch = static_cast<guint>(st->first_epoch);
  return TRUE;
}

static gboolean start_run(GstAvtsTrain* self) {
  TrainState* st = self->state;
  GST_OBJECT_LOCK(self);
  const bool changed = model_source(st->settings) != st->loaded;
  GST_OBJECT_UNLOCK(self);
  // A fresh start: not the last run's weights, nor a model the properties no longer name.
  if ((st->model_trained || changed) && !load_model(self)) return FALSE;
  GST_OBJECT_LOCK(self);
  st->run = st->settings;
  GST_OBJECT_UNLOCK(self);
  avts_gst::FeedOptions options;
  options.train = train_options(self, st->run);
  options.chunk_seconds = st->run.chunk;
  try {
    avts::TrainOptions check = options.train;
    check.epochs = std::max(check.epochs, 1);
    check.validate();
    // Data-parallel when a launcher (torchrun, Slurm) says so; the trainer joins the group
    // when the first file arrives.
    options.train.distributed = distributed_options(st->run);
    avts_gst::FeedCallbacks callbacks;
    callbacks.started = [self](int epochs) { on_started(self, epochs); };
    callbacks.progress = [self](const avts::TrainProgress& p) { on_progress(self, p); };
    callbacks.skipped = [self](const std::string& id, const std::string& why, int n) { on_skipped(self, id, why, n); };
    if (st->run.resume.empty()) {
      st->feed = std::make_unique<TrainFeed>(st->model, options, std::move(callbacks));
    } else {
      auto trainer = resume_run(self, st->run, /*distributed=*/true);
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

static std::string string_of(const GValue* value, const char* fallback = "") {
  const gchar* text = g_value_get_string(value);
  return text ? text : fallback;
}

static void gst_avts_train_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_TRAIN(object);
  Settings& s = self->state->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      s.model_file = string_of(value);
      break;
    case PROP_PRESET:
      s.preset = string_of(value, DEFAULT_PRESET);
      break;
    case PROP_OUTPUT:
      s.output = string_of(value);
      break;
    case PROP_CHECKPOINT:
      s.checkpoint = string_of(value);
      break;
    case PROP_RESUME:
      s.resume = string_of(value);
      break;
    case PROP_COMMAND:
      s.command = string_of(value);
      break;
    case PROP_DEVICE:
      s.device = string_of(value, DEFAULT_DEVICE);
      break;
    case PROP_PRECISION:
      s.precision = avts_precision_from_enum(g_value_get_enum(value));
      break;
    case PROP_DIST_BACKEND:
      s.dist_backend = static_cast<avts::DistBackend>(g_value_get_enum(value));
      break;
    case PROP_EPOCHS:
      s.train.epochs = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_BATCH_SIZE:
      s.train.batch_size = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_LR:
      s.train.lr = g_value_get_double(value);
      break;
    case PROP_CURRICULUM:
      s.train.curriculum = static_cast<avts::Curriculum>(g_value_get_enum(value));
      break;
    case PROP_EASY_EPOCHS:
      s.train.easy_epochs = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_MIXED_EPOCHS:
      s.train.mixed_epochs = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_HARD_FRACTION:
      s.train.hard_fraction = g_value_get_double(value);
      break;
    case PROP_NEGATIVES:
      s.train.negatives_per_anchor = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_LOSS:
      s.train.loss = static_cast<avts::LossKind>(g_value_get_enum(value));
      break;
    case PROP_TEMPERATURE:
      s.train.temperature = g_value_get_double(value);
      break;
    case PROP_OPTIMIZER:
      s.train.optimizer = static_cast<avts::OptimizerKind>(g_value_get_enum(value));
      break;
    case PROP_SCHEDULE:
      s.train.schedule = static_cast<avts::ScheduleKind>(g_value_get_enum(value));
      break;
    case PROP_WEIGHT_DECAY:
      s.train.weight_decay = g_value_get_double(value);
      break;
    case PROP_WARMUP_STEPS:
      s.train.warmup_steps = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_SEED:
      s.train.seed = g_value_get_uint64(value);
      break;
    case PROP_MAX_TRAIN_FILES:
      s.train.max_train_files = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_CHUNK:
      s.chunk = g_value_get_double(value);
      break;
    case PROP_PROGRESS_INTERVAL:
      s.progress_interval_ms = g_value_get_uint(value);
      break;
    case PROP_POST_MESSAGES:
      s.post_messages = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_train_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_TRAIN(object);
  TrainState* st = self->state;
  const Settings& s = st->settings;
  const auto set_string = [value](const std::string& v) { g_value_set_string(value, v.empty() ? nullptr : v.c_str()); };
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL_FILE:
      set_string(s.model_file);
      break;
    case PROP_PRESET:
      set_string(s.preset);
      break;
    case PROP_OUTPUT:
      set_string(s.output);
      break;
    case PROP_CHECKPOINT:
      set_string(s.checkpoint);
      break;
    case PROP_RESUME:
      set_string(s.resume);
      break;
    case PROP_COMMAND:
      set_string(s.command);
      break;
    case PROP_DEVICE:
      set_string(s.device);
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, static_cast<gint>(s.precision));
      break;
    case PROP_DIST_BACKEND:
      g_value_set_enum(value, static_cast<gint>(s.dist_backend));
      break;
    case PROP_EPOCHS:
      g_value_set_uint(value, static_cast<guint>(s.train.epochs));
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint(value, static_cast<guint>(s.train.batch_size));
      break;
    case PROP_LR:
      g_value_set_double(value, s.train.lr);
      break;
    case PROP_CURRICULUM:
      g_value_set_enum(value, static_cast<gint>(s.train.curriculum));
      break;
    case PROP_EASY_EPOCHS:
      g_value_set_uint(value, static_cast<guint>(s.train.easy_epochs));
      break;
    case PROP_MIXED_EPOCHS:
      g_value_set_uint(value, static_cast<guint>(s.train.mixed_epochs));
      break;
    case PROP_HARD_FRACTION:
      g_value_set_double(value, s.train.hard_fraction);
      break;
    case PROP_NEGATIVES:
      g_value_set_uint(value, static_cast<guint>(s.train.negatives_per_anchor));
      break;
    case PROP_LOSS:
      g_value_set_enum(value, static_cast<gint>(s.train.loss));
      break;
    case PROP_TEMPERATURE:
      g_value_set_double(value, s.train.temperature);
      break;
    case PROP_OPTIMIZER:
      g_value_set_enum(value, static_cast<gint>(s.train.optimizer));
      break;
    case PROP_SCHEDULE:
      g_value_set_enum(value, static_cast<gint>(s.train.schedule));
      break;
    case PROP_WEIGHT_DECAY:
      g_value_set_double(value, s.train.weight_decay);
      break;
    case PROP_WARMUP_STEPS:
      g_value_set_uint(value, static_cast<guint>(s.train.warmup_steps));
      break;
    case PROP_SEED:
      g_value_set_uint64(value, s.train.seed);
      break;
    case PROP_MAX_TRAIN_FILES:
      g_value_set_uint(value, static_cast<guint>(s.train.max_train_files));
      break;
    case PROP_CHUNK:
      g_value_set_double(value, s.chunk);
      break;
    case PROP_PROGRESS_INTERVAL:
      g_value_set_uint(value, s.progress_interval_ms);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean(value, s.post_messages);
      break;
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

static void install_properties(GObjectClass* gobject_class) {
  const avts::TrainOptions defaults;
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto stats = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_MODEL_FILE,
      g_param_spec_string("model-file", "Model file",
                          "AVTS model file to start from (fine-tuning: its preset and weights). Empty: a freshly "
                          "initialised model of 'preset'. Loaded at NULL->READY; a missing or damaged file is an "
                          "error that names it.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_PRESET,
      g_param_spec_string("preset", "Preset",
                          "Architecture of the model trained from scratch when model-file is empty: avts-compact "
                          "(small, real-time on a CPU) or avts-mc3-18 (the paper's MC3-18 video network).",
                          DEFAULT_PRESET, flags));
  g_object_class_install_property(
      gobject_class, PROP_OUTPUT,
      g_param_spec_string("output", "Output",
                          "Model file to write (required). Written atomically after every epoch, with the decision "
                          "threshold fitted on the validation files; EOS reaches the bus only after the last write.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_CHECKPOINT,
      g_param_spec_string("checkpoint", "Checkpoint",
                          "Trainer state (weights, optimiser, epoch, step) written after every epoch, and when "
                          "the pipeline stops before the last epoch is trained (not in a data-parallel run), for "
                          "resume. Empty: none.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_RESUME,
      g_param_spec_string("resume", "Resume",
                          "Checkpoint of a run to go on with (its model, optimiser, epoch and step); the settings "
                          "that define the run (seed, loss, batch size, curriculum, optimiser, schedule, ...) must "
                          "be the saved ones, epochs says where the whole run ends. Set avtsdatasrc's first-epoch "
                          "to the epochs the checkpoint has completed (the 'epoch' property once READY). Excludes "
                          "model-file.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_COMMAND,
      g_param_spec_string("command", "Command",
                          "What the model's provenance records as the command that trained it. Empty: "
                          "\"avtstrain (element 'NAME')\".",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the networks train: \"cpu\", \"cuda\" or \"cuda:N\" (the CUDA ones need avts built "
                          "against a CUDA LibTorch).",
                          DEFAULT_DEVICE, flags));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision",
                        "Arithmetic of the training steps on a CUDA device: float32, or bfloat16 autocast "
                        "(the weights and the optimiser stay float32). float16 is refused (it would need loss "
                        "scaling); bfloat16 training needs device=cuda.",
                        GST_TYPE_AVTS_PRECISION, static_cast<gint>(avts::Precision::Float32), flags));
  g_object_class_install_property(
      gobject_class, PROP_DIST_BACKEND,
      g_param_spec_enum("dist-backend", "Distributed backend",
                        "How the ranks of a data-parallel run (RANK, WORLD_SIZE) exchange gradients: gloo (through "
                        "the host), nccl (GPU to GPU; avts built against a CUDA LibTorch with NCCL), auto (nccl on a "
                        "GPU when avts has it, else gloo). A backend named explicitly joins its group even alone.",
                        GST_TYPE_AVTS_TRAIN_DIST_BACKEND, static_cast<gint>(avts::DistBackend::Auto), flags));
  g_object_class_install_property(
      gobject_class, PROP_EPOCHS,
      g_param_spec_uint("epochs", "Epochs",
                        "Epochs to train; they set the learning-rate schedule and the curriculum. 0: as many as "
                        "the stream brings (avtsdatasrc's epochs; 1 for a stream without its marks). When the "
                        "trainer is done before the stream, upstream is told EOS.",
                        0, G_MAXINT, 0, flags));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Audio/video pairs per optimiser step, half in sync and half out of sync (even).", 2, 65536,
                        static_cast<guint>(defaults.batch_size), flags));
  g_object_class_install_property(
      gobject_class, PROP_LR,
      g_param_spec_double("lr", "Learning rate", "Peak learning rate of the optimiser (see schedule and warmup-steps).",
                          1e-9, 100.0, defaults.lr, flags));
  g_object_class_install_property(
      gobject_class, PROP_CURRICULUM,
      g_param_spec_enum("curriculum", "Curriculum",
                        "Which negatives are trained when: paper (easy only for easy-epochs, then 25 % hard), "
                        "paper-fine (then a fine stage of small shifts), none (mixed from the start), easy-only.",
                        GST_TYPE_AVTS_TRAIN_CURRICULUM, static_cast<gint>(defaults.curriculum), flags));
  g_object_class_install_property(
      gobject_class, PROP_EASY_EPOCHS,
      g_param_spec_uint("easy-epochs", "Easy epochs",
                        "Length in epochs of curriculum stage 1 (easy negatives only: audio of another file).", 0,
                        G_MAXINT, static_cast<guint>(defaults.easy_epochs), flags));
  g_object_class_install_property(
      gobject_class, PROP_MIXED_EPOCHS,
      g_param_spec_uint("mixed-epochs", "Mixed epochs",
                        "curriculum=paper-fine: epochs of stage 2 (easy and hard negatives) before the fine-shift "
                        "stage 3.",
                        0, G_MAXINT, static_cast<guint>(defaults.mixed_epochs), flags));
  g_object_class_install_property(
      gobject_class, PROP_HARD_FRACTION,
      g_param_spec_double("hard-fraction", "Hard fraction",
                          "Share of hard negatives (the same file's audio, shifted) among the negatives of stages "
                          "2 and 3; the paper's mix is 0.25.",
                          0.0, 1.0, defaults.hard_fraction, flags));
  g_object_class_install_property(
      gobject_class, PROP_NEGATIVES,
      g_param_spec_uint("negatives", "Negatives",
                        "Negatives drawn for each video clip (the video network runs once for all of them).", 1, 64,
                        static_cast<guint>(defaults.negatives_per_anchor), flags));
  g_object_class_install_property(
      gobject_class, PROP_LOSS,
      g_param_spec_enum("loss", "Loss",
                        "contrastive (on the embedding distance, margin 0.99), cross-entropy (on the fusion "
                        "head) or multi-way (softmax over the distances of a clip's positive and negatives, "
                        "temperature 0.1).",
                        GST_TYPE_AVTS_TRAIN_LOSS, static_cast<gint>(defaults.loss), flags));
  g_object_class_install_property(
      gobject_class, PROP_TEMPERATURE,
      g_param_spec_double("temperature", "Temperature", "Softmax temperature of the multi-way loss.", 1e-3, 2.0,
                          defaults.temperature, flags));
  g_object_class_install_property(
      gobject_class, PROP_OPTIMIZER,
      g_param_spec_enum("optimizer", "Optimizer",
                        "sgd (stochastic gradient descent with momentum 0.9, the paper's) or adamw (Adam with "
                        "decoupled weight decay).",
                        GST_TYPE_AVTS_TRAIN_OPTIMIZER, static_cast<gint>(defaults.optimizer), flags));
  g_object_class_install_property(
      gobject_class, PROP_SCHEDULE,
      g_param_spec_enum("schedule", "Schedule",
                        "Learning-rate schedule over the epochs: cosine decay from lr, step (times 0.1 every 10 "
                        "epochs) or constant.",
                        GST_TYPE_AVTS_TRAIN_SCHEDULE, static_cast<gint>(defaults.schedule), flags));
  g_object_class_install_property(
      gobject_class, PROP_WEIGHT_DECAY,
      g_param_spec_double("weight-decay", "Weight decay",
                          "Weight decay of the optimiser (L2 for sgd, decoupled for adamw); 0 turns it off.", 0.0, 1.0,
                          defaults.weight_decay, flags));
  g_object_class_install_property(
      gobject_class, PROP_WARMUP_STEPS,
      g_param_spec_uint("warmup-steps", "Warm-up steps", "Steps over which the learning rate ramps up linearly.", 0,
                        G_MAXINT, static_cast<guint>(defaults.warmup_steps), flags));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed",
                          "Seed of the initial weights (with preset), the sampling of pairs and the augmentation: "
                          "the same seed and input give the same model.",
                          0, G_MAXUINT64, defaults.seed, flags));
  g_object_class_install_property(
      gobject_class, PROP_MAX_TRAIN_FILES,
      g_param_spec_uint("max-train-files", "Maximum training files",
                        "Training files held in memory at once (the bank the easy negatives come from; the oldest "
                        "leaves first). Bounds memory however long the stream.",
                        2, 100000, static_cast<guint>(defaults.max_train_files), flags));
  g_object_class_install_property(
      gobject_class, PROP_CHUNK,
      g_param_spec_double("chunk", "Chunk (s)",
                          "For a stream without avtsdatasrc's file marks (a plain file, a live feed): the length "
                          "in seconds of the pieces it is cut into, each one a training file (easy negatives need "
                          "two; none is kept for validation, so the decision threshold is not fitted). At least "
                          "one clip (1 s).",
                          1.0, 86400.0, DEFAULT_CHUNK, flags));
  g_object_class_install_property(
      gobject_class, PROP_PROGRESS_INTERVAL,
      g_param_spec_uint("progress-interval", "Progress interval (ms)",
                        "Least time in milliseconds between two step progress messages (every epoch has its own "
                        "message anyway). 0: a message after every optimiser step.",
                        0, G_MAXUINT, DEFAULT_PROGRESS_INTERVAL_MS, flags));
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post 'avts-train-progress' element messages (steps and epochs). PROGRESS messages, "
                           "warnings and 'avts-train-done' are posted either way.",
                           DEFAULT_POST_MESSAGES, flags));
  g_object_class_install_property(
      gobject_class, PROP_EPOCH,
      g_param_spec_uint("epoch", "Epoch",
                        "Epochs completed so far (the model was written after each); with resume, from READY on, "
                        "the epochs its checkpoint had completed and those trained since.",
                        0, G_MAXUINT, 0, stats));
  g_object_class_install_property(
      gobject_class, PROP_STEP,
      g_param_spec_uint64("step", "Step", "Optimiser steps taken so far in this run, over all epochs.", 0, G_MAXUINT64,
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
  gst_element_class_set_static_metadata(
      element_class, "AVTS trainer", "Sink/Audio/Video",
      "Self-supervised training of an AVTS model: mono F32 audio at the model's rate on audio_sink, RGB video on "
      "video_sink; in-sync and out-of-sync pairs per the paper's curriculum (easy negatives: audio of another "
      "file; hard: the same file shifted 0.5-2 s), contrastive or cross-entropy loss; the model file ('output') "
      "is written after every epoch. With avtsdatasrc upstream its avts-file-start / avts-epoch-end marks give "
      "the files and epochs; a plain stream is cut into files of 'chunk' seconds and trained one epoch at its "
      "end. Posts 'avts-train-progress' messages (kind, epoch, epochs, stage, step, lr, loss, epoch-loss, pairs, "
      "pairs-per-second, train-files, percent, progress; at epoch ends validated, accuracy-easy, accuracy-hard, "
      "auc-easy, "
      "auc-hard, threshold, output) and PROGRESS messages; holds EOS until the model is written, posting "
      "'avts-train-done' (epochs, steps, output, model-id, threshold, skipped) first. Stopped before its last "
      "epoch, it saves the trainer state to 'checkpoint' and posts 'avts-train-stopped' (epoch, epochs, step, "
      "checkpoint, saved, world-size); 'resume' goes on from a checkpoint. Media without audio or without video is "
      "an error.\n"
      "Example: gst-launch-1.0 avtsdatasrc manifest=train.txt epochs=2 name=d d.audio_src ! t.audio_sink "
      "d.video_src ! t.video_sink avtstrain name=t preset=avts-compact output=model.avts",
      "avts project");

  for (GType t : {GST_TYPE_AVTS_TRAIN_CURRICULUM, GST_TYPE_AVTS_TRAIN_LOSS, GST_TYPE_AVTS_TRAIN_OPTIMIZER,
                  GST_TYPE_AVTS_TRAIN_SCHEDULE})
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
