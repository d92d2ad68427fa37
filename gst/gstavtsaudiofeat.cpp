/**
 * SECTION:element-avtsaudiofeat
 * @title: avtsaudiofeat
 *
 * Extracts AVTS audio features: windows of `clip_seconds` (1 s by default) starting every
 * `hop` on the timestamp grid, each turned into one row by the model's audio network.
 *
 * ## Details
 * Turns audio into AVTS audio features: the model's audio network (log-mel spectrogram,
 * VGG-style CNN) applied to windows of one clip length (1 s by default) that start every 'hop'
 * milliseconds on multiples of the hop in running time. Any raw audio (any format, rate,
 * channel count, interleaved or not; up to 63 channels and 768 kHz) is accepted and converted
 * internally to mono float at the model's rate (16 kHz). Output: application/x-avts-features
 * buffers of N rows x dim float32; PTS = start of the first window, DURATION = N x hop,
 * DISCONT after gaps (gaps up to 1 s are filled with silence, longer ones restart the window
 * grid). At EOS the windows covered by the stream are emitted.
 *
 * ## Example pipeline
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! audioconvert ! audioresample ! \
 *     avtsaudiofeat model-file=model.avts ! fakesink
 * ]|
 */
#include "gstavtsaudiofeat.h"

#include <gst/audio/audio.h>

#include <algorithm>

#include "avts/error.h"
#include "avts/featurizer.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_audio_feat_debug);
#define GST_CAT_DEFAULT gst_avts_audio_feat_debug

#define DEFAULT_HOP_MS 40
#define DEFAULT_BATCH_SIZE 8

// Input timestamps this far from the sample count's time restart the timeline.
static const GstClockTime kJitter = GST_MSECOND;
// The widest and fastest input converted to mono at the model's rate.
static const int kMaxChannels = 63;
static const int kMaxRate = 768000;

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("audio/x-raw, format=(string)" GST_AUDIO_FORMATS_ALL
                                            ", rate=(int)[ 1, 2147483647 ], channels=(int)[ 1, 2147483647 ], "
                                            "layout=(string){ interleaved, non-interleaved }"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_AVTS_FEATURES_TEMPLATE_CAPS("audio")));

// Input -> mono float at the model's rate -> featurizer. Samples are counted from t0 (the
// PTS where the timeline last restarted), so output timestamps do not drift.
struct AudioState {
  std::unique_ptr<avts::AudioFeaturizer> featurizer;
  int model_rate = 0;

  GstAudioInfo in_info;
  GstAudioConverter* converter = nullptr;

  bool synced = false;
  GstClockTime t0 = 0;
  guint64 in_frames = 0;   // since t0
  guint64 out_frames = 0;  // since t0
  std::vector<float> out;

  ~AudioState() { free_converter(); }
  void free_converter() {
    if (converter) gst_audio_converter_free(converter);
    converter = nullptr;
  }
};

struct _GstAvtsAudioFeat {
  GstAvtsFeatureExtractor parent;
  AudioState* state;
};

G_DEFINE_TYPE(GstAvtsAudioFeat, gst_avts_audio_feat, GST_TYPE_AVTS_FEATURE_EXTRACTOR)
GST_ELEMENT_REGISTER_DEFINE(avtsaudiofeat, "avtsaudiofeat", GST_RANK_NONE, GST_TYPE_AVTS_AUDIO_FEAT)

static AudioState* state_of(GstAvtsFeatureExtractor* self) { return GST_AVTS_AUDIO_FEAT(self)->state; }

static GstAvtsFeaturizerInfo gst_avts_audio_feat_configure(GstAvtsFeatureExtractor* self,
                                                           std::shared_ptr<const avts::Model> model,
                                                           const avts::FeaturizerOptions& options) {
  AudioState* st = state_of(self);
  const avts::AudioFrontEndConfig& audio = model->config().audio;
  st->featurizer = std::make_unique<avts::AudioFeaturizer>(model, options);
  st->model_rate = audio.sample_rate;
  st->synced = false;

  GstAvtsFeaturizerInfo info;
  info.dim = st->featurizer->dim();
  info.hop = st->featurizer->hop_ns();
  info.window = st->featurizer->window_ns();
  // The last log-mel frame of a window reaches (win - hop) samples past its end.
  info.lookahead =
      gst_util_uint64_scale_int(std::max(0, audio.win_length - audio.hop_length), GST_SECOND, audio.sample_rate);
  return info;
}

static gboolean gst_avts_audio_feat_set_caps(GstAvtsFeatureExtractor* self, GstCaps* caps) {
  AudioState* st = state_of(self);
  GstAudioInfo in;
  if (!gst_audio_info_from_caps(&in, caps)) return FALSE;
  // GstAudioConverter crashes beyond these (its channel mixer takes at most 63 channels;
  // its resampler filter for a rate near 2^31 Hz wants terabytes): refuse them clearly.
  if (GST_AUDIO_INFO_CHANNELS(&in) > kMaxChannels || GST_AUDIO_INFO_RATE(&in) > kMaxRate) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                      ("Audio with %d channels at %d Hz cannot be taken: at most %d channels and %d Hz.",
                       GST_AUDIO_INFO_CHANNELS(&in), GST_AUDIO_INFO_RATE(&in), kMaxChannels, kMaxRate),
                      ("Mix the channels down or resample before avtsaudiofeat (caps %" GST_PTR_FORMAT ").", caps));
    return FALSE;
  }

  GstAudioInfo out;
  gst_audio_info_set_format(&out, GST_AUDIO_FORMAT_F32, st->model_rate, 1, nullptr);

  // Mono is the mean of all channels, whatever their positions.
  GstStructure* config = gst_structure_new_empty("avtsaudiofeat-converter");
  GValue matrix = G_VALUE_INIT, row = G_VALUE_INIT;
  g_value_init(&matrix, GST_TYPE_ARRAY);
  g_value_init(&row, GST_TYPE_ARRAY);
  for (int c = 0; c < GST_AUDIO_INFO_CHANNELS(&in); ++c) {
    GValue gain = G_VALUE_INIT;
    g_value_init(&gain, G_TYPE_FLOAT);
    g_value_set_float(&gain, 1.0f / GST_AUDIO_INFO_CHANNELS(&in));
    gst_value_array_append_and_take_value(&row, &gain);
  }
  gst_value_array_append_and_take_value(&matrix, &row);
  gst_structure_take_value(config, GST_AUDIO_CONVERTER_OPT_MIX_MATRIX, &matrix);

  GstAudioConverter* converter = gst_audio_converter_new(GST_AUDIO_CONVERTER_FLAG_NONE, &in, &out, config);
  if (!converter) {
    GST_ERROR_OBJECT(self, "no conversion from %" GST_PTR_FORMAT " to mono F32 at %d Hz", caps, st->model_rate);
    return FALSE;
  }
  st->free_converter();
  st->converter = converter;
  st->in_info = in;
  st->synced = false;  // the new converter starts a new sample count
  GST_DEBUG_OBJECT(self, "converting %" GST_PTR_FORMAT " to mono F32 at %d Hz", caps, st->model_rate);
  return TRUE;
}

static GstClockTime gst_avts_audio_feat_buffer_duration(GstAvtsFeatureExtractor* self, GstBuffer* buffer) {
  AudioState* st = state_of(self);
  // BPF counts all channels whatever the layout.
  const guint64 frames = gst_buffer_get_size(buffer) / GST_AUDIO_INFO_BPF(&st->in_info);
  return gst_util_uint64_scale_round(frames, GST_SECOND, GST_AUDIO_INFO_RATE(&st->in_info));
}

// Hands `n` converted samples (in st->out) to the featurizer, timed by the sample count.
static void feed(AudioState* st, gsize n, std::vector<avts::FeatureRows>& rows) {
  const GstClockTime pts = st->t0 + gst_util_uint64_scale_round(st->out_frames, GST_SECOND, st->model_rate);
  st->featurizer->push(static_cast<int64_t>(pts), st->out.data(), n, rows);
  st->out_frames += n;
}

// The resampler holds back its filter latency; silence pushes out what the input still
// owes, and no more than the input's duration at the model's rate.
static void flush_converter(AudioState* st, std::vector<avts::FeatureRows>& rows) {
  if (!st->synced || !st->converter) return;
  const guint64 owed = gst_util_uint64_scale_round(st->in_frames, st->model_rate, GST_AUDIO_INFO_RATE(&st->in_info));
  const gsize latency = gst_audio_converter_get_max_latency(st->converter);
  if (owed <= st->out_frames || latency == 0) return;
  const gsize n = gst_audio_converter_get_out_frames(st->converter, latency);
  st->out.resize(n);
  gpointer out[1] = {st->out.data()};
  if (!gst_audio_converter_samples(st->converter, GST_AUDIO_CONVERTER_FLAG_NONE, nullptr, latency, out, n))
    throw avts::Error("audio conversion failed");
  feed(st, std::min<gsize>(n, owed - st->out_frames), rows);
}

static void gst_avts_audio_feat_process(GstAvtsFeatureExtractor* self, GstBuffer* buffer, GstClockTime pts,
                                        std::vector<avts::FeatureRows>& rows) {
  AudioState* st = state_of(self);
  const int in_rate = GST_AUDIO_INFO_RATE(&st->in_info);

  // A DISCONT flag or a timestamp away from the sample count restarts the timeline; the
  // featurizer then decides whether that is jitter, a gap to fill or a new grid.
  if (st->synced) {
    const GstClockTime expected = st->t0 + gst_util_uint64_scale_round(st->in_frames, GST_SECOND, in_rate);
    const GstClockTimeDiff diff = GST_CLOCK_DIFF(expected, pts);
    if (GST_BUFFER_IS_DISCONT(buffer) || diff > static_cast<GstClockTimeDiff>(kJitter) ||
        diff < -static_cast<GstClockTimeDiff>(kJitter)) {
      GST_DEBUG_OBJECT(self, "timeline restarts at %" GST_TIME_FORMAT " (expected %" GST_TIME_FORMAT ")",
                       GST_TIME_ARGS(pts), GST_TIME_ARGS(expected));
      flush_converter(st, rows);
      st->synced = false;
    }
  }
  if (!st->synced) {
    gst_audio_converter_reset(st->converter);
    st->t0 = pts;
    st->in_frames = st->out_frames = 0;
    st->synced = true;
  }

  // GstAudioBuffer gives one plane (interleaved) or one per channel (non-interleaved).
  GstAudioBuffer in;
  if (!gst_audio_buffer_map(&in, &st->in_info, buffer, GST_MAP_READ))
    throw avts::Error("could not map an audio buffer");
  const gsize in_frames = in.n_samples;
  const gsize n = gst_audio_converter_get_out_frames(st->converter, in_frames);
  st->out.resize(n);
  gpointer out[1] = {st->out.data()};
  const gboolean converted =
      gst_audio_converter_samples(st->converter, GST_AUDIO_CONVERTER_FLAG_NONE, in.planes, in_frames, out, n);
  gst_audio_buffer_unmap(&in);
  if (!converted) throw avts::Error("audio conversion failed");
  st->in_frames += in_frames;
  feed(st, n, rows);
}

static void gst_avts_audio_feat_drain(GstAvtsFeatureExtractor* self, std::vector<avts::FeatureRows>& rows) {
  AudioState* st = state_of(self);
  if (!st->featurizer) return;
  flush_converter(st, rows);
  st->synced = false;
  st->featurizer->drain(rows);
}

static void gst_avts_audio_feat_set_grid_origin(GstAvtsFeatureExtractor* self, int64_t origin_ns) {
  AudioState* st = state_of(self);
  if (st->featurizer) st->featurizer->set_grid_origin(origin_ns);
}

static void gst_avts_audio_feat_reset(GstAvtsFeatureExtractor* self) {
  AudioState* st = state_of(self);
  if (st->featurizer) st->featurizer->reset();
  st->synced = false;
}

static void gst_avts_audio_feat_stop(GstAvtsFeatureExtractor* self) {
  AudioState* st = state_of(self);
  st->featurizer.reset();
  st->free_converter();
  st->synced = false;
}

static void gst_avts_audio_feat_finalize(GObject* object) {
  delete GST_AVTS_AUDIO_FEAT(object)->state;
  G_OBJECT_CLASS(gst_avts_audio_feat_parent_class)->finalize(object);
}

static void gst_avts_audio_feat_class_init(GstAvtsAudioFeatClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstAvtsFeatureExtractorClass* extractor_class = GST_AVTS_FEATURE_EXTRACTOR_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_avts_audio_feat_debug, "avtsaudiofeat", 0, "AVTS audio features");

  gobject_class->finalize = gst_avts_audio_feat_finalize;

  extractor_class->modality = avts::Modality::Audio;
  extractor_class->configure = gst_avts_audio_feat_configure;
  extractor_class->set_caps = gst_avts_audio_feat_set_caps;
  extractor_class->buffer_duration = gst_avts_audio_feat_buffer_duration;
  extractor_class->process = gst_avts_audio_feat_process;
  extractor_class->drain = gst_avts_audio_feat_drain;
  extractor_class->reset = gst_avts_audio_feat_reset;
  extractor_class->stop = gst_avts_audio_feat_stop;
  extractor_class->set_grid_origin = gst_avts_audio_feat_set_grid_origin;

  gst_avts_feature_extractor_class_install_properties(
      extractor_class, DEFAULT_HOP_MS, DEFAULT_BATCH_SIZE,
      "Time in milliseconds from one window start to the next. Windows start on multiples of the hop in "
      "running time. Must be a multiple of the model's log-mel hop (10 ms by default).");

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "AVTS audio features", "Filter/Analyzer/Audio",
      "Turns audio into AVTS audio features: one row of the model's audio network per window", "avts project");
  gst_element_class_add_static_metadata(
      element_class, "example",
      "gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! avtsaudiofeat model-file=model.avts ! "
      "fakesink");
}

static void gst_avts_audio_feat_init(GstAvtsAudioFeat* self) { self->state = new AudioState(); }
