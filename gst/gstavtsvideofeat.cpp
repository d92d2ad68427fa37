/**
 * SECTION:element-avtsvideofeat
 * @title: avtsvideofeat
 *
 * Extracts AVTS video features: frames resampled by PTS to the model's frame rate, clips
 * of `clip_seconds` (1 s by default) starting every `hop` on the timestamp grid, each
 * turned into one row by the model's video network.
 *
 * ## Details
 * Turns RGB video of any size and frame rate (variable included) into AVTS video features.
 * Frames are resampled by PTS to the model's rate (each model frame is the latest input frame
 * at or before its time), resized and centre-cropped, and clips of one clip length (1 s by
 * default) starting every 'hop' milliseconds on multiples of the hop go through the model's
 * video network (MC3-18). Output: application/x-avts-features buffers of N rows x dim float32;
 * PTS = start of the first clip, DURATION = N x hop, DISCONT after a timestamp going back or a
 * jump of more than 1 s. At EOS the last frame holds until its end and the clips it completes
 * are emitted.
 *
 * ## Example pipeline
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! video/x-raw,format=RGB ! \
 *     avtsvideofeat model-file=model.avts hop=200 ! fakesink
 * ]|
 */
#include "gstavtsvideofeat.h"

#include <gst/video/video.h>

#include <cmath>

#include "avts/error.h"
#include "avts/face.h"
#include "avts/featurizer.h"
#include "face_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_video_feat_debug);
#define GST_CAT_DEFAULT gst_avts_video_feat_debug

#define DEFAULT_HOP_MS 200
#define DEFAULT_BATCH_SIZE 4

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-raw, format=(string)RGB, width=(int)[ 1, 2147483647 ], "
                    "height=(int)[ 1, 2147483647 ], framerate=(fraction)[ 0/1, 2147483647/1 ]"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_AVTS_FEATURES_TEMPLATE_CAPS("video")));

// Beyond the base class's properties; far from its ids.
enum { PROP_FACE_ID = 1000 };
#define DEFAULT_FACE_ID -1
// A model whose framing is "face" warns when this many frames came without any face.
#define FRAMES_BEFORE_NO_FACE_WARNING 50

struct VideoState {
  std::unique_ptr<avts::VideoFeaturizer> featurizer;
  avts::VideoFrontEndConfig front_end;  // the model's, for the mouth region of a face
  GstVideoInfo info;
  gint face_id = DEFAULT_FACE_ID;
  avts::MouthFraming framing;
  guint64 frames_without_faces = 0;  // since the start, until a face comes
  bool seen_face = false;
};

static GObjectSetPropertyFunc base_set_property;
static GObjectGetPropertyFunc base_get_property;

struct _GstAvtsVideoFeat {
  GstAvtsFeatureExtractor parent;
  VideoState* state;
};

G_DEFINE_TYPE(GstAvtsVideoFeat, gst_avts_video_feat, GST_TYPE_AVTS_FEATURE_EXTRACTOR)
GST_ELEMENT_REGISTER_DEFINE(avtsvideofeat, "avtsvideofeat", GST_RANK_NONE, GST_TYPE_AVTS_VIDEO_FEAT)

static VideoState* state_of(GstAvtsFeatureExtractor* self) { return GST_AVTS_VIDEO_FEAT(self)->state; }

static GstAvtsFeaturizerInfo gst_avts_video_feat_configure(GstAvtsFeatureExtractor* self,
                                                           std::shared_ptr<const avts::Model> model,
                                                           const avts::FeaturizerOptions& options) {
  VideoState* st = state_of(self);
  st->featurizer = std::make_unique<avts::VideoFeaturizer>(model, options);
  st->front_end = model->config().video;
  st->framing = avts::MouthFraming(st->face_id);
  st->frames_without_faces = 0;
  st->seen_face = false;

  GstAvtsFeaturizerInfo info;
  info.dim = st->featurizer->dim();
  info.hop = st->featurizer->hop_ns();
  info.window = st->featurizer->window_ns();
  // A model frame is known once the next input frame arrives: about one frame later.
  info.lookahead = static_cast<GstClockTime>(std::llround(GST_SECOND / model->config().video.fps));
  return info;
}

static gboolean gst_avts_video_feat_set_caps(GstAvtsFeatureExtractor* self, GstCaps* caps) {
  VideoState* st = state_of(self);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps) || GST_VIDEO_INFO_FORMAT(&info) != GST_VIDEO_FORMAT_RGB) return FALSE;
  st->info = info;
  GST_DEBUG_OBJECT(self, "video %dx%d at %d/%d fps", GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info),
                   GST_VIDEO_INFO_FPS_N(&info), GST_VIDEO_INFO_FPS_D(&info));
  return TRUE;
}

// The buffer's own duration, else one frame at the caps' frame rate, else unknown.
static GstClockTime gst_avts_video_feat_buffer_duration(GstAvtsFeatureExtractor* self, GstBuffer* buffer) {
  VideoState* st = state_of(self);
  if (GST_BUFFER_DURATION_IS_VALID(buffer)) return GST_BUFFER_DURATION(buffer);
  if (GST_VIDEO_INFO_FPS_N(&st->info) > 0)
    return gst_util_uint64_scale_int(GST_SECOND, GST_VIDEO_INFO_FPS_D(&st->info), GST_VIDEO_INFO_FPS_N(&st->info));
  return GST_CLOCK_TIME_NONE;
}

static void gst_avts_video_feat_process(GstAvtsFeatureExtractor* self, GstBuffer* buffer, GstClockTime pts,
                                        std::vector<avts::FeatureRows>& rows) {
  VideoState* st = state_of(self);
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &st->info, buffer, GST_MAP_READ))
    throw avts::Error("could not map a video frame (buffer smaller than its caps say?)");
  const avts::RgbImage image = avts_gst::rgb_image_of(frame);
  const GstClockTime duration = gst_avts_video_feat_buffer_duration(self, buffer);
  // A face on the buffer (avtsfacetrack's, or another detector's): look at its mouth.
  avts::FrameRegion mouth{};
  const avts::FrameView view = avts_gst::view_of(buffer, image.width, image.height, st->front_end, st->framing, &mouth);
  st->seen_face |= view == avts::FrameView::Mouth;
  if (!st->seen_face && st->front_end.framing == "face" && ++st->frames_without_faces == FRAMES_BEFORE_NO_FACE_WARNING)
    GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                        ("The model looks at the mouth of a face, but no faces come with the video."),
                        ("%d frames without face metadata: put avtsfacetrack before avtsvideofeat (the model's "
                         "framing is \"face\"); until then no video features are made.",
                         FRAMES_BEFORE_NO_FACE_WARNING));
  // Left out, the last face's frame holds over short dropouts; a second without faces is a gap,
  // so no windows, and avtssync's verdict is inconclusive.
  if (view == avts::FrameView::LeftOut) {
    gst_video_frame_unmap(&frame);
    return;
  }
  try {
    st->featurizer->push(static_cast<int64_t>(pts), image, rows,
                         GST_CLOCK_TIME_IS_VALID(duration) ? static_cast<int64_t>(duration) : -1,
                         view == avts::FrameView::Mouth ? &mouth : nullptr);
  } catch (...) {
    gst_video_frame_unmap(&frame);
    throw;
  }
  gst_video_frame_unmap(&frame);
}

static void gst_avts_video_feat_drain(GstAvtsFeatureExtractor* self, std::vector<avts::FeatureRows>& rows) {
  VideoState* st = state_of(self);
  if (st->featurizer) st->featurizer->drain(rows);
}

static void gst_avts_video_feat_reset(GstAvtsFeatureExtractor* self) {
  VideoState* st = state_of(self);
  if (st->featurizer) st->featurizer->reset();
  st->framing.reset();
}

static void gst_avts_video_feat_stop(GstAvtsFeatureExtractor* self) { state_of(self)->featurizer.reset(); }

static void gst_avts_video_feat_set_grid_origin(GstAvtsFeatureExtractor* self, int64_t origin_ns) {
  VideoState* st = state_of(self);
  if (st->featurizer) st->featurizer->set_grid_origin(origin_ns);
}

static void gst_avts_video_feat_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  if (id != PROP_FACE_ID) return base_set_property(object, id, value, pspec);
  GST_OBJECT_LOCK(object);
  GST_AVTS_VIDEO_FEAT(object)->state->face_id = g_value_get_int(value);
  GST_OBJECT_UNLOCK(object);
}

static void gst_avts_video_feat_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  if (id != PROP_FACE_ID) return base_get_property(object, id, value, pspec);
  GST_OBJECT_LOCK(object);
  g_value_set_int(value, GST_AVTS_VIDEO_FEAT(object)->state->face_id);
  GST_OBJECT_UNLOCK(object);
}

static void gst_avts_video_feat_finalize(GObject* object) {
  delete GST_AVTS_VIDEO_FEAT(object)->state;
  G_OBJECT_CLASS(gst_avts_video_feat_parent_class)->finalize(object);
}

static void gst_avts_video_feat_class_init(GstAvtsVideoFeatClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstAvtsFeatureExtractorClass* extractor_class = GST_AVTS_FEATURE_EXTRACTOR_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_avts_video_feat_debug, "avtsvideofeat", 0, "AVTS video features");

  gobject_class->finalize = gst_avts_video_feat_finalize;

  extractor_class->modality = avts::Modality::Video;
  extractor_class->configure = gst_avts_video_feat_configure;
  extractor_class->set_caps = gst_avts_video_feat_set_caps;
  extractor_class->buffer_duration = gst_avts_video_feat_buffer_duration;
  extractor_class->process = gst_avts_video_feat_process;
  extractor_class->drain = gst_avts_video_feat_drain;
  extractor_class->reset = gst_avts_video_feat_reset;
  extractor_class->stop = gst_avts_video_feat_stop;
  extractor_class->set_grid_origin = gst_avts_video_feat_set_grid_origin;

  gst_avts_feature_extractor_class_install_properties(
      extractor_class, DEFAULT_HOP_MS, DEFAULT_BATCH_SIZE,
      "Time in milliseconds from one clip start to the next. Clips start on multiples of the hop in "
      "running time. Must be a multiple of the model's video frame period (40 ms at 25 fps).");
  base_set_property = gobject_class->set_property;
  base_get_property = gobject_class->get_property;
  gobject_class->set_property = gst_avts_video_feat_set_property;
  gobject_class->get_property = gst_avts_video_feat_get_property;
  g_object_class_install_property(
      gobject_class, PROP_FACE_ID,
      g_param_spec_int(
          "face-id", "Face id",
          "Which face to look at when buffers carry faces (region-of-interest metas of type \"face\", "
          "e.g. from avtsfacetrack): its id, or -1 for the largest face (kept while it is there). "
          "Frames without a face use the model's fixed region (a model whose framing is face leaves them out).",
          -1, G_MAXINT, DEFAULT_FACE_ID,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "AVTS video features", "Filter/Analyzer/Video",
      "Turns video into AVTS video features: one row of the model's video network per clip", "avts project");
  gst_element_class_add_static_metadata(
      element_class, "example",
      "gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! video/x-raw,format=RGB ! "
      "avtsvideofeat model-file=model.avts hop=200 ! fakesink");
}

static void gst_avts_video_feat_init(GstAvtsVideoFeat* self) { self->state = new VideoState(); }
