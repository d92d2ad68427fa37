/**
 * SECTION:element-avtsdatasrc
 * @title: avtsdatasrc
 *
 * A dataset source for self-supervised training: reads a manifest (one media path or URI
 * per line, optionally followed by a split tag train / val / auto; '#' starts a comment),
 * decodes each file with uridecodebin and sends it out whole, mono F32 audio on audio_src
 * and RGB video on video_src, file after file, epoch after epoch. Files that cannot be
 * used (missing, not decodable, no audio or no video track) are skipped with a warning and
 * counted; the run goes on. Decoded files are kept up to cache-size MB, so later epochs do
 * not decode them again.
 *
 * File boundaries travel in-band on both pads: an `avts-file-start` event before each file
 * (then CAPS when they change, a SEGMENT whose times restart at 0, the buffers, the first
 * one DISCONT) and an `avts-epoch-end` event after each epoch; EOS after the last epoch.
 * See avtsdatasrc_events.h for the fields. avtstrain consumes them.
 *
 * ## Details
 * Sends the media files of a training manifest (one path or URI per line, optional split tag
 * train / val / auto), decoded with uridecodebin: mono F32 audio on audio_src (rate from
 * downstream, else 16 kHz) and RGB video on video_src, file after file, for 'epochs' epochs,
 * shuffled per epoch by 'seed', 'shard' of 'num-shards' of the manifest. Before each file both
 * pads carry a custom downstream event 'avts-file-start' (sequence, id, uri, split, epoch,
 * epochs, index, files), then caps, a segment whose times restart at 0 and the buffers (the
 * first one DISCONT); after each epoch an 'avts-epoch-end' event and element message (epoch,
 * epochs, files, skipped, decoded, cache-hits); EOS after the last epoch. Files that cannot be
 * used are skipped with a warning (its details: input, reason, skipped) and never stop the
 * run. Decoded files are cached up to cache-size MB.
 *
 * ## Example pipeline
 * |[
 * gst-launch-1.0 avtsdatasrc manifest=train.txt epochs=2 name=d \
 *     d.audio_src ! t.audio_sink  d.video_src ! t.video_sink \
 *     avtstrain name=t preset=avts-compact output=model.avts
 * ]|
 */
#include "gstavtsdatasrc.h"

#include <gst/base/gstdataqueue.h>

#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "avts/decoded_cache.h"
#include "avts/error.h"
#include "avts/manifest.h"
#include "avtsdatasrc_file.h"
#include "avtsdatasrc_events.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_data_src_debug);
#define GST_CAT_DEFAULT gst_avts_data_src_debug

enum {
  PROP_0,
  PROP_MANIFEST,
  PROP_EPOCHS,
  PROP_FIRST_EPOCH,
  PROP_SHUFFLE,
  PROP_SEED,
  PROP_SHARD,
  PROP_NUM_SHARDS,
  PROP_CACHE_SIZE,
  PROP_RATE,
  PROP_SHORT_SIDE,
  PROP_DECODERS,
  PROP_FACE_TRACK,
  PROP_SKIPPED,
  PROP_DECODED,
  PROP_CACHE_HITS,
};

#define DEFAULT_EPOCHS 1
#define DEFAULT_SHUFFLE TRUE
#define DEFAULT_SEED 1
#define DEFAULT_CACHE_SIZE_MB 1024
#define DEFAULT_RATE 0
#define DEFAULT_SHORT_SIDE 0
#define DEFAULT_DECODERS 1
// The audio rate chosen when downstream accepts any (the AVTS models' rate).
#define PREFERRED_RATE 16000
// Each pad's queue holds the starts of at most this many files: the next file decodes
// while downstream works through the current ones, and memory stays bounded.
#define PREFETCH_FILES 2

#define AUDIO_CAPS "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, channels=(int)1, rate=(int)[1, MAX]"
#define VIDEO_CAPS \
  "video/x-raw, format=(string)RGB, width=(int)[1, MAX], height=(int)[1, MAX], framerate=(fraction)[0/1, MAX]"

static GstStaticPadTemplate audio_src_template =
    GST_STATIC_PAD_TEMPLATE("audio_src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(AUDIO_CAPS));
static GstStaticPadTemplate video_src_template =
    GST_STATIC_PAD_TEMPLATE("video_src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(VIDEO_CAPS));

struct Settings {
  std::string manifest;
  guint epochs = DEFAULT_EPOCHS;
  guint first_epoch = 0;
  gboolean shuffle = DEFAULT_SHUFFLE;
  guint64 seed = DEFAULT_SEED;
  guint shard = 0, num_shards = 1;
  guint cache_size_mb = DEFAULT_CACHE_SIZE_MB;
  guint rate = DEFAULT_RATE;
  guint short_side = DEFAULT_SHORT_SIDE;
  guint decoders = DEFAULT_DECODERS;
  gboolean face_track = FALSE;
};

// One src pad: its queue, emptied by the pad's task, filled by the producer thread.
struct Output {
  GstPad* pad = nullptr;
  GstDataQueue* queue = nullptr;
  GstCaps* caps = nullptr;          // the last caps queued (producer thread)
  std::atomic<bool> closed{false};  // downstream wants no more (EOS) or failed
};

struct DataSrcState {
  Settings settings;  // under the object lock

  // From READY->PAUSED to PAUSED->READY.
  Settings run;
  std::vector<avts::ManifestEntry> entries;  // this shard's
  Output audio, video;
  std::thread producer;
  std::atomic<bool> cancel{false};
  std::atomic<guint> skipped{0}, decoded{0}, cache_hits{0};
};

struct _GstAvtsDataSrc {
  GstElement parent;
  DataSrcState* state;
};

G_DEFINE_TYPE(GstAvtsDataSrc, gst_avts_data_src, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE(avtsdatasrc, "avtsdatasrc", GST_RANK_NONE, GST_TYPE_AVTS_DATA_SRC)

static Output& output_of(GstAvtsDataSrc* self, GstPad* pad) {
  return pad == self->state->audio.pad ? self->state->audio : self->state->video;
}

// ---------------------------------------------------------------- queues

static void free_item(gpointer data) {
  auto* item = static_cast<GstDataQueueItem*>(data);
  if (item->object) gst_mini_object_unref(item->object);
  g_free(item);
}

// Full when it holds the starts of PREFETCH_FILES files (only those items are "visible").
static gboolean queue_full(GstDataQueue*, guint visible, guint, guint64, gpointer) { return visible >= PREFETCH_FILES; }

// Queues `object` (taken) for the pad; blocks while the queue is full. FALSE when the
// queue is flushing: the element is stopping or downstream wants no more on this pad.
static bool enqueue(Output& out, GstMiniObject* object, bool file_start = false) {
  auto* item = g_new0(GstDataQueueItem, 1);
  item->object = object;
  item->visible = file_start;
  if (GST_IS_BUFFER(object)) {
    item->size = static_cast<guint>(gst_buffer_get_size(GST_BUFFER(object)));
    item->duration = GST_BUFFER_DURATION_IS_VALID(GST_BUFFER(object)) ? GST_BUFFER_DURATION(GST_BUFFER(object)) : 0;
  }
  item->destroy = free_item;
  if (gst_data_queue_push(out.queue, item)) return true;
  free_item(item);
  return false;
}

// ---------------------------------------------------------------- src pad tasks

// This pad ends: downstream returned EOS (it wants no more) or an error.
static void close_output(GstAvtsDataSrc* self, Output& out, GstFlowReturn ret) {
  out.closed = true;
  gst_data_queue_set_flushing(out.queue, TRUE);
  if (ret != GST_FLOW_EOS) GST_ELEMENT_FLOW_ERROR(self, ret);
  gst_pad_push_event(out.pad, gst_event_new_eos());
}

static void push_loop(GstPad* pad) {
  auto* self = GST_AVTS_DATA_SRC(GST_PAD_PARENT(pad));
  Output& out = output_of(self, pad);
  GstDataQueueItem* item = nullptr;
  if (!gst_data_queue_pop(out.queue, &item)) {  // flushing
    gst_pad_pause_task(pad);
    return;
  }
  GstMiniObject* object = item->object;
  item->object = nullptr;
  free_item(item);

  if (GST_IS_EVENT(object)) {
    GstEvent* event = GST_EVENT(object);
    const bool eos = GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    gst_pad_push_event(pad, event);
    if (eos) gst_pad_pause_task(pad);
    return;
  }
  const GstFlowReturn ret = gst_pad_push(pad, GST_BUFFER(object));
  if (ret == GST_FLOW_OK || ret == GST_FLOW_NOT_LINKED) return;  // an unlinked pad drops its data
  GST_DEBUG_OBJECT(pad, "pausing: %s", gst_flow_get_name(ret));
  gst_pad_pause_task(pad);
  if (ret != GST_FLOW_FLUSHING) close_output(self, out, ret);
}

static gboolean activate_mode(GstPad* pad, GstObject* parent, GstPadMode mode, gboolean active) {
  if (mode != GST_PAD_MODE_PUSH) return FALSE;
  Output& out = output_of(GST_AVTS_DATA_SRC(parent), pad);
  if (active) {
    gst_data_queue_flush(out.queue);
    gst_data_queue_set_flushing(out.queue, FALSE);
    out.closed = false;
    return gst_pad_start_task(pad, reinterpret_cast<GstTaskFunction>(push_loop), pad, nullptr);
  }
  gst_data_queue_set_flushing(out.queue, TRUE);
  return gst_pad_stop_task(pad);
}

// ---------------------------------------------------------------- producer

static void warn_skipped(GstAvtsDataSrc* self, const std::string& what, const std::string& why) {
  const guint skipped = ++self->state->skipped;
  GST_ELEMENT_WARNING_WITH_DETAILS(self, STREAM, DECODE, ("Skipping %s: %s", what.c_str(), why.c_str()),
                                   ("%u input(s) skipped so far", skipped),
                                   ("input", G_TYPE_STRING, what.c_str(), "reason", G_TYPE_STRING, why.c_str(),
                                    "skipped", G_TYPE_UINT, skipped, nullptr));
}

// The rate of the audio: the rate property, else the downstream's (nearest to 16 kHz).
static int audio_rate(GstAvtsDataSrc* self) {
  DataSrcState* st = self->state;
  if (st->run.rate > 0) return static_cast<int>(st->run.rate);
  GstCaps* ours = gst_static_pad_template_get_caps(&audio_src_template);
  GstCaps* allowed = gst_pad_peer_query_caps(st->audio.pad, ours);
  gst_caps_unref(ours);
  if (gst_caps_is_empty(allowed)) {
    gst_caps_unref(allowed);
    throw avts::Error("downstream of audio_src does not accept mono F32LE audio: link it through audioconvert");
  }
  allowed = gst_caps_truncate(allowed);
  allowed = gst_caps_make_writable(allowed);
  GstStructure* s = gst_caps_get_structure(allowed, 0);
  gst_structure_fixate_field_nearest_int(s, "rate", PREFERRED_RATE);
  int rate = PREFERRED_RATE;
  gst_structure_get_int(s, "rate", &rate);
  gst_caps_unref(allowed);
  return rate;
}

using ClipPtr = std::shared_ptr<const GstAvtsDecodedFile>;

// One file of an epoch on its way to the queues: none of the two for a file known unusable.
struct Upcoming {
  ClipPtr cached;
  std::future<ClipPtr> decoding;
};

static bool stopping(DataSrcState* st) { return st->cancel || (st->audio.closed && st->video.closed); }

// Queues the same event (a copy per pad, one seqnum) on both pads.
static void enqueue_both(DataSrcState* st, GstEvent* event, bool file_start = false) {
  gst_event_set_seqnum(event, gst_util_seqnum_next());
  enqueue(st->video, GST_MINI_OBJECT(gst_event_copy(event)), file_start);
  enqueue(st->audio, GST_MINI_OBJECT(event), file_start);
}

// Queues one file on both pads: its mark, caps, a segment starting at `base` in running
// time, and its buffers.
static void enqueue_file(DataSrcState* st, const GstAvtsFileStart& mark, const GstAvtsDecodedFile& clip,
                         GstClockTime base) {
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.base = base;
  segment.stop = clip.duration;
  enqueue_both(st, gst_avts_file_start_event_new(mark), /*file_start=*/true);
  for (Output* out : {&st->audio, &st->video}) {
    const std::vector<GstSample*>& samples = out == &st->audio ? clip.audio : clip.video;
    for (size_t i = 0; i < samples.size(); ++i) {
      GstCaps* caps = gst_sample_get_caps(samples[i]);
      if (!out->caps || !gst_caps_is_equal(out->caps, caps)) {
        gst_caps_replace(&out->caps, caps);
        enqueue(*out, GST_MINI_OBJECT(gst_event_new_caps(caps)));
      }
      if (i == 0) enqueue(*out, GST_MINI_OBJECT(gst_event_new_segment(&segment)));
      GstBuffer* buffer = gst_sample_get_buffer(samples[i]);
      if (i == 0) {
        buffer = gst_buffer_copy(buffer);  // shares the memory
        GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
      } else {
        gst_buffer_ref(buffer);
      }
      if (!enqueue(*out, GST_MINI_OBJECT(buffer))) break;
    }
  }
}

static void post_epoch_end(GstAvtsDataSrc* self, const GstAvtsEpochEnd& e) {
  DataSrcState* st = self->state;
  GstStructure* s =
      gst_structure_new(GST_AVTS_EPOCH_END, "epoch", G_TYPE_INT, e.epoch, "epochs", G_TYPE_INT, e.epochs, "files",
                        G_TYPE_INT, e.files, "skipped", G_TYPE_UINT, e.skipped, "decoded", G_TYPE_UINT,
                        st->decoded.load(), "cache-hits", G_TYPE_UINT, st->cache_hits.load(), nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// The producer thread: every epoch's files, decoded (or from the cache) into the queues.
static void produce(GstAvtsDataSrc* self) {
  DataSrcState* st = self->state;
  const Settings& run = st->run;
  try {
    const int rate = audio_rate(self);
    GST_INFO_OBJECT(self, "%zu files, %u epochs, audio at %d Hz", st->entries.size(), run.epochs, rate);
    const guint group = gst_util_group_id_next();
    for (Output* out : {&st->audio, &st->video}) {
      gchar* id = gst_pad_create_stream_id(out->pad, GST_ELEMENT(self), out == &st->audio ? "audio" : "video");
      GstEvent* start = gst_event_new_stream_start(id);
      gst_event_set_group_id(start, group);
      g_free(id);
      enqueue(*out, GST_MINI_OBJECT(start));
    }

    avts::DecodedCache<ClipPtr> cache(static_cast<size_t>(run.cache_size_mb) << 20);
    std::set<std::string> unusable;  // skipped once, never tried again
    guint64 sequence = 0;
    GstClockTime base = 0;
    const int epochs = static_cast<int>(run.epochs), first = static_cast<int>(run.first_epoch);
    const int short_side = static_cast<int>(run.short_side);
    const bool face_track = run.face_track;
    // A file's clip on its way: from the cache, or decoding on a thread of its own.
    const auto start = [&](const avts::ManifestEntry& e) {
      Upcoming u;
      if (unusable.count(e.input)) return u;
      if (const ClipPtr* hit = cache.find(e.input)) {
        u.cached = *hit;
        return u;
      }
      const std::string input = e.input;
      u.decoding = std::async(std::launch::async, [input, rate, short_side, face_track, st] {
        return gst_avts_decode_file(input, rate, short_side, face_track, st->cancel);
      });
      return u;
    };
    for (int epoch = first; epoch < epochs && !stopping(st); ++epoch) {
      // Validation files go in the first epoch sent: the trainer keeps them.
      const auto order =
          avts::epoch_order(st->entries, epoch, run.seed, run.shuffle, /*with_validation=*/epoch == first);
      std::deque<Upcoming> ahead;  // order[i], order[i + 1], ...: `decoders` files decode at once
      size_t started = 0;
      int sent = 0;
      for (size_t i = 0; i < order.size() && !stopping(st); ++i) {
        for (; started < order.size() && started < i + run.decoders; ++started) ahead.push_back(start(order[started]));
        Upcoming next = std::move(ahead.front());
        ahead.pop_front();
        const avts::ManifestEntry& e = order[i];
        if (unusable.count(e.input)) continue;  // the same input met earlier in this epoch failed
        ClipPtr clip = next.cached;
        if (clip) {
          ++st->cache_hits;
        } else if (next.decoding.valid()) {
          try {
            clip = next.decoding.get();
          } catch (const avts::Error& err) {
            if (st->cancel) return;
            warn_skipped(self, e.input, err.what());
            unusable.insert(e.input);
            continue;
          }
          ++st->decoded;
          cache.insert(e.input, clip, clip->bytes);
        } else {
          continue;  // found unusable before
        }
        GST_DEBUG_OBJECT(self, "epoch %d: file %zu/%zu %s", epoch, i + 1, order.size(), e.input.c_str());
        const GstAvtsFileStart mark{sequence++, e.input, clip->uri,           avts::split_name(e.split),
                                    epoch,      epochs,  static_cast<int>(i), static_cast<int>(order.size())};
        enqueue_file(st, mark, *clip, base);
        base += clip->duration;
        ++sent;
      }
      if (stopping(st)) break;
      if (epoch == first && sent == 0) {
        GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                          ("None of the %zu files of manifest '%s'%s could be used.", st->entries.size(),
                           run.manifest.c_str(), run.num_shards > 1 ? " (this shard)" : ""),
                          ("See the warnings for why each one was skipped."));
        return;
      }
      const GstAvtsEpochEnd end{sequence++, epoch, epochs, sent, st->skipped.load()};
      enqueue_both(st, gst_avts_epoch_end_event_new(end));
      post_epoch_end(self, end);
    }
    if (!stopping(st)) enqueue_both(st, gst_event_new_eos());
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("%s", e.what()), (nullptr));
  }
}

// Reads this shard's manifest entries; bad lines are skipped with a warning.
static gboolean prepare(GstAvtsDataSrc* self) {
  DataSrcState* st = self->state;
  GST_OBJECT_LOCK(self);
  st->run = st->settings;
  GST_OBJECT_UNLOCK(self);
  if (st->run.manifest.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No manifest set."),
                      ("Set the manifest property to a file listing one media path or URI per line."));
    return FALSE;
  }
  try {
    const avts::Manifest manifest = avts::read_manifest(st->run.manifest);
    st->skipped = 0;
    st->decoded = 0;
    st->cache_hits = 0;
    st->entries =
        avts::manifest_shard(manifest.entries, static_cast<int>(st->run.shard), static_cast<int>(st->run.num_shards));
    for (const std::string& bad : manifest.bad_lines) {  // "LINE: why"
      const size_t colon = bad.find(": ");
      warn_skipped(self, st->run.manifest + " line " + bad.substr(0, colon), bad.substr(colon + 2));
    }
    if (st->run.first_epoch >= st->run.epochs)
      throw avts::Error("first-epoch " + std::to_string(st->run.first_epoch) + " is not below epochs " +
                        std::to_string(st->run.epochs) + ": no epoch is left to send");
    if (st->entries.empty())
      throw avts::Error("manifest '" + st->run.manifest + "' lists no media files" +
                        (st->run.num_shards > 1 ? " for this shard" : ""));
  } catch (const avts::Error& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("%s", e.what()), (nullptr));
    return FALSE;
  }
  return TRUE;
}

static void stop_producer(DataSrcState* st) {
  st->cancel = true;
  for (Output* out : {&st->audio, &st->video}) gst_data_queue_set_flushing(out->queue, TRUE);
  if (st->producer.joinable()) st->producer.join();
}

static GstStateChangeReturn gst_avts_data_src_change_state(GstElement* element, GstStateChange transition) {
  auto* self = GST_AVTS_DATA_SRC(element);
  DataSrcState* st = self->state;
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!prepare(self)) return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      stop_producer(st);
      break;
    default:
      break;
  }
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_avts_data_src_parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) return ret;
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:  // the pads' tasks run: start filling their queues
      st->cancel = false;
      for (Output* out : {&st->audio, &st->video}) gst_caps_replace(&out->caps, nullptr);
      st->producer = std::thread(produce, self);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      for (Output* out : {&st->audio, &st->video}) gst_data_queue_flush(out->queue);
      break;
    default:
      break;
  }
  return ret;
}

// ---------------------------------------------------------------- GObject

static void gst_avts_data_src_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_DATA_SRC(object);
  Settings& s = self->state->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MANIFEST: {
      const gchar* text = g_value_get_string(value);
      s.manifest = text ? text : "";
      break;
    }
    case PROP_EPOCHS:
      s.epochs = g_value_get_uint(value);
      break;
    case PROP_FIRST_EPOCH:
      s.first_epoch = g_value_get_uint(value);
      break;
    case PROP_SHUFFLE:
      s.shuffle = g_value_get_boolean(value);
      break;
    case PROP_SEED:
      s.seed = g_value_get_uint64(value);
      break;
    case PROP_SHARD:
      s.shard = g_value_get_uint(value);
      break;
    case PROP_NUM_SHARDS:
      s.num_shards = g_value_get_uint(value);
      break;
    case PROP_CACHE_SIZE:
      s.cache_size_mb = g_value_get_uint(value);
      break;
    case PROP_RATE:
      s.rate = g_value_get_uint(value);
      break;
    case PROP_SHORT_SIDE:
      s.short_side = g_value_get_uint(value);
      break;
    case PROP_FACE_TRACK:
      s.face_track = g_value_get_boolean(value);
      break;
    case PROP_DECODERS:
      s.decoders = g_value_get_uint(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_data_src_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_DATA_SRC(object);
  DataSrcState* st = self->state;
  const Settings& s = st->settings;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MANIFEST:
      g_value_set_string(value, s.manifest.empty() ? nullptr : s.manifest.c_str());
      break;
    case PROP_EPOCHS:
      g_value_set_uint(value, s.epochs);
      break;
    case PROP_FIRST_EPOCH:
      g_value_set_uint(value, s.first_epoch);
      break;
    case PROP_SHUFFLE:
      g_value_set_boolean(value, s.shuffle);
      break;
    case PROP_SEED:
      g_value_set_uint64(value, s.seed);
      break;
    case PROP_SHARD:
      g_value_set_uint(value, s.shard);
      break;
    case PROP_NUM_SHARDS:
      g_value_set_uint(value, s.num_shards);
      break;
    case PROP_CACHE_SIZE:
      g_value_set_uint(value, s.cache_size_mb);
      break;
    case PROP_RATE:
      g_value_set_uint(value, s.rate);
      break;
    case PROP_SHORT_SIDE:
      g_value_set_uint(value, s.short_side);
      break;
    case PROP_FACE_TRACK:
      g_value_set_boolean(value, s.face_track);
      break;
    case PROP_DECODERS:
      g_value_set_uint(value, s.decoders);
      break;
    case PROP_SKIPPED:
      g_value_set_uint(value, st->skipped);
      break;
    case PROP_DECODED:
      g_value_set_uint(value, st->decoded);
      break;
    case PROP_CACHE_HITS:
      g_value_set_uint(value, st->cache_hits);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_data_src_finalize(GObject* object) {
  auto* self = GST_AVTS_DATA_SRC(object);
  DataSrcState* st = self->state;
  stop_producer(st);
  for (Output* out : {&st->audio, &st->video}) {
    gst_caps_replace(&out->caps, nullptr);
    g_object_unref(out->queue);
  }
  delete st;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_avts_data_src_parent_class)->finalize(object);
}

static void gst_avts_data_src_class_init(GstAvtsDataSrcClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_avts_data_src_debug, "avtsdatasrc", 0, "AVTS training data source");

  gobject_class->set_property = gst_avts_data_src_set_property;
  gobject_class->get_property = gst_avts_data_src_get_property;
  gobject_class->finalize = gst_avts_data_src_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_avts_data_src_change_state);

  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto stats = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_MANIFEST,
      g_param_spec_string("manifest", "Manifest",
                          "Text file listing the media: one path or URI per line, optionally followed by a split "
                          "tag (train, val or auto: auto leaves the choice to the trainer); blank lines and words "
                          "from '#' on are ignored; relative paths are taken from the manifest's folder. Lines "
                          "that cannot be parsed are skipped with a warning. Required; read at READY->PAUSED.",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_EPOCHS,
      g_param_spec_uint("epochs", "Epochs",
                        "How many times the files are sent. Each epoch ends with an avts-epoch-end event (and "
                        "message); files tagged 'val' are sent in the first epoch only, ahead of the others.",
                        1, G_MAXINT, DEFAULT_EPOCHS, flags));
  g_object_class_install_property(
      gobject_class, PROP_FIRST_EPOCH,
      g_param_spec_uint("first-epoch", "First epoch",
                        "The epoch to begin with (0-based; below epochs): a run resumed from a checkpoint written "
                        "after epoch K (avtstrain resume=) goes on with first-epoch=K, getting the same file order "
                        "as the uninterrupted run; the validation files come in this first epoch sent.",
                        0, G_MAXINT - 1, 0, flags));
  g_object_class_install_property(
      gobject_class, PROP_SHUFFLE,
      g_param_spec_boolean("shuffle", "Shuffle",
                           "Send each epoch's training files in a fresh order drawn from seed + epoch (the same "
                           "order on every run with the same seed); false: manifest order.",
                           DEFAULT_SHUFFLE, flags));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed",
                          "Seed of the shuffled order. Give avtstrain the same seed for a run that can be "
                          "repeated exactly.",
                          0, G_MAXUINT64, DEFAULT_SEED, flags));
  g_object_class_install_property(
      gobject_class, PROP_SHARD,
      g_param_spec_uint("shard", "Shard",
                        "Which share of the manifest this source reads (0-based): line i (counting media lines "
                        "only) belongs to shard i % num-shards. For data-parallel training set shard=$RANK and "
                        "num-shards=$WORLD_SIZE on every rank.",
                        0, G_MAXINT - 1, 0, flags));
  g_object_class_install_property(
      gobject_class, PROP_NUM_SHARDS,
      g_param_spec_uint("num-shards", "Number of shards",
                        "Into how many disjoint shares the manifest is split (see shard); 1 reads all of it. "
                        "shard must be below num-shards.",
                        1, G_MAXINT, 1, flags));
  g_object_class_install_property(
      gobject_class, PROP_CACHE_SIZE,
      g_param_spec_uint("cache-size", "Cache size (MB)",
                        "Memory in MB for decoded files, so that later epochs send them again without decoding. "
                        "Files are kept first come, first served until it is full (raw RGB video is large: see "
                        "short-side). 0: decode every file every epoch.",
                        0, G_MAXUINT, DEFAULT_CACHE_SIZE_MB, flags));
  g_object_class_install_property(
      gobject_class, PROP_RATE,
      g_param_spec_uint("rate", "Audio rate",
                        "Sample rate of the mono F32 audio in Hz. 0: the rate downstream asks for (avtstrain asks "
                        "for its model's), or 16000 when downstream accepts any.",
                        0, 384000, DEFAULT_RATE, flags));
  g_object_class_install_property(
      gobject_class, PROP_SHORT_SIDE,
      g_param_spec_uint("short-side", "Short side",
                        "Scale the video down so that its short side has this many pixels (keeping the display "
                        "aspect ratio, never scaling up) before it is cached and sent; set it to the model's "
                        "resize (72 for avts-compact, 128 for avts-mc3-18) to save memory. 0: as decoded.",
                        0, 65535, DEFAULT_SHORT_SIDE, flags));
  g_object_class_install_property(
      gobject_class, PROP_FACE_TRACK,
      g_param_spec_boolean("face-track", "Face track",
                           "Run avtsfacetrack on each file's video as it is decoded, so that the frames carry its "
                           "faces and avtstrain crops the mouths, as avtsvideofeat does at inference (for models "
                           "whose framing is \"face\"; the cache then holds the faces too). The tracker sees the "
                           "frames after short-side has scaled them: keep faces large enough to find (0 or a few "
                           "hundred pixels).",
                           FALSE, flags));
  g_object_class_install_property(
      gobject_class, PROP_DECODERS,
      g_param_spec_uint("decoders", "Decoders",
                        "How many files decode at once, each on a thread of its own, ahead of the one being sent "
                        "(for corpora whose decoding is slower than the training). Files are sent in their order "
                        "whatever the decoders' speed.",
                        1, 64, DEFAULT_DECODERS, flags));
  g_object_class_install_property(
      gobject_class, PROP_SKIPPED,
      g_param_spec_uint("skipped", "Skipped",
                        "Inputs skipped so far: manifest lines that could not be parsed and files that could not "
                        "be used (each counted once, however many epochs meet it).",
                        0, G_MAXUINT, 0, stats));
  g_object_class_install_property(
      gobject_class, PROP_DECODED,
      g_param_spec_uint("decoded", "Decoded",
                        "Files decoded so far (successfully); with a large enough cache-size each file is decoded "
                        "once, in the first epoch.",
                        0, G_MAXUINT, 0, stats));
  g_object_class_install_property(
      gobject_class, PROP_CACHE_HITS,
      g_param_spec_uint("cache-hits", "Cache hits",
                        "Files sent from the cache of decoded files so far, without decoding them again.", 0, G_MAXUINT,
                        0, stats));

  gst_element_class_add_static_pad_template(element_class, &audio_src_template);
  gst_element_class_add_static_pad_template(element_class, &video_src_template);
  gst_element_class_set_static_metadata(
      element_class, "AVTS training data source", "Source/Audio/Video",
      "Sends the decoded media files of a training manifest, file after file, epoch after epoch", "avts project");
  gst_element_class_add_static_metadata(
      element_class, "example",
      "gst-launch-1.0 avtsdatasrc manifest=train.txt epochs=2 name=d d.audio_src ! t.audio_sink "
      "d.video_src ! t.video_sink avtstrain name=t preset=avts-compact output=model.avts");
}

static void gst_avts_data_src_init(GstAvtsDataSrc* self) {
  self->state = new DataSrcState();
  GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SOURCE);
  DataSrcState* st = self->state;
  for (auto [out, templ] : {std::pair{&st->audio, &audio_src_template}, std::pair{&st->video, &video_src_template}}) {
    out->queue = gst_data_queue_new(queue_full, nullptr, nullptr, nullptr);
    out->pad = gst_pad_new_from_static_template(templ, templ->name_template);
    gst_pad_set_activatemode_function(out->pad, GST_DEBUG_FUNCPTR(activate_mode));
    gst_pad_use_fixed_caps(out->pad);
    gst_element_add_pad(GST_ELEMENT(self), out->pad);
  }
}
