/**
 * SECTION:element-avtsfacetrack
 * @title: avtsfacetrack
 *
 * Finds faces in raw RGB video with the YuNet detector (OpenCV), follows them from frame to
 * frame and attaches one #GstVideoRegionOfInterestMeta per face to each buffer. The video
 * passes through unchanged.
 *
 * Each meta has roi_type "face", its `id` is the face's track id (stable while the face is
 * followed, never reused in a stream) and its box is the smoothed face box clipped to the
 * frame. Its "avts-face" parameter structure holds:
 *
 * * `score` (double): the detector's confidence of the latest matching detection, 0..1
 * * `detected` (boolean): a detection matched the face in this frame (else the box is held)
 * * `tracked-frames` (gint64): frames the face has been followed
 * * `x`, `y`, `width`, `height` (double): the face box unclipped, in pixels
 * * `right-eye-x`, `right-eye-y`, `left-eye-x`, `left-eye-y`, `nose-x`, `nose-y`,
 *   `mouth-right-x`, `mouth-right-y`, `mouth-left-x`, `mouth-left-y` (double): the landmarks
 *
 * Detection runs every #GstAvtsFaceTrack:detect-interval frames (and at once after a cut);
 * in between, faces keep their boxes. A face the detector misses (a profile, a hand over
 * the mouth) is followed on for #GstAvtsFaceTrack:max-missed frames. A flush, a new stream or
 * a discontinuity ends every track.
 *
 * avtsvideofeat downstream then looks at the mouth of a face instead of its fixed region.
 *
 * ## Example pipeline
 * |[
 * gst-launch-1.0 filesrc location=talk.mp4 ! decodebin ! videoconvert ! video/x-raw,format=RGB ! \
 *     avtsfacetrack ! avtsvideofeat model-file=model.avts ! fakesink
 * ]|
 */
#include "gstavtsfacetrack.h"

#include <memory>
#include <string>

#include "avts/error.h"
#include "avts/face_tracker.h"
#include "face_meta.h"

GST_DEBUG_CATEGORY_STATIC(gst_avts_face_track_debug);
#define GST_CAT_DEFAULT gst_avts_face_track_debug

enum {
  PROP_0,
  PROP_MODEL_FILE,
  PROP_DETECT_INTERVAL,
  PROP_MIN_SCORE,
  PROP_DETECT_SIZE,
  PROP_MAX_MISSED,
  PROP_SMOOTHING
};

#define DEFAULT_DETECT_INTERVAL 5
#define DEFAULT_MIN_SCORE 0.6
#define DEFAULT_DETECT_SIZE 256
#define DEFAULT_MAX_MISSED 12
#define DEFAULT_SMOOTHING 0.5

struct FaceTrackSettings {
  std::string model_file;  // empty: the bundled YuNet model
  guint detect_interval = DEFAULT_DETECT_INTERVAL;
  double min_score = DEFAULT_MIN_SCORE;
  guint detect_size = DEFAULT_DETECT_SIZE;
  guint max_missed = DEFAULT_MAX_MISSED;
  double smoothing = DEFAULT_SMOOTHING;
};

struct _GstAvtsFaceTrack {
  GstVideoFilter parent;
  FaceTrackSettings* settings;
  avts::FaceTracker* tracker;
};

G_DEFINE_TYPE(GstAvtsFaceTrack, gst_avts_face_track, GST_TYPE_VIDEO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(avtsfacetrack, "avtsfacetrack", GST_RANK_NONE, GST_TYPE_AVTS_FACE_TRACK)

#define RGB_CAPS                                                                                   \
  "video/x-raw, format=(string)RGB, width=(int)[ 1, 2147483647 ], height=(int)[ 1, 2147483647 ], " \
  "framerate=(fraction)[ 0/1, 2147483647/1 ]"
static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(RGB_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(RGB_CAPS));

// Loads the detector; false (with an error posted) when the model file does not load.
static bool make_tracker(GstAvtsFaceTrack* self) {
  GST_OBJECT_LOCK(self);
  const FaceTrackSettings s = *self->settings;
  GST_OBJECT_UNLOCK(self);
  const std::string path = s.model_file.empty() ? avts::FaceDetector::default_model_path() : s.model_file;
  try {
    avts::FaceDetector::Options detector_options;
    detector_options.min_score = static_cast<float>(s.min_score);
    detector_options.detect_size = static_cast<int>(s.detect_size);
    avts::FaceTrackerOptions options;
    options.detect_interval = static_cast<int>(s.detect_interval);
    options.max_missed = static_cast<int>(s.max_missed);
    options.smoothing = s.smoothing;
    self->tracker = new avts::FaceTracker(std::make_shared<avts::FaceDetector>(path, detector_options), options);
  } catch (const avts::Error& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", e.what()), ("model-file: %s", path.c_str()));
    return false;
  }
  return true;
}

// Passthrough (avtssyncbin with face-track off) loads nothing: the detector is made on the first
// frame that needs it.
static gboolean gst_avts_face_track_start(GstBaseTransform* trans) {
  auto* self = GST_AVTS_FACE_TRACK(trans);
  return gst_base_transform_is_passthrough(trans) || make_tracker(self);
}

static gboolean gst_avts_face_track_stop(GstBaseTransform* trans) {
  auto* self = GST_AVTS_FACE_TRACK(trans);
  delete self->tracker;
  self->tracker = nullptr;
  return TRUE;
}

static gboolean gst_avts_face_track_sink_event(GstBaseTransform* trans, GstEvent* event) {
  auto* self = GST_AVTS_FACE_TRACK(trans);
  if (self->tracker &&
      (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP || GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START))
    self->tracker->reset();
  return GST_BASE_TRANSFORM_CLASS(gst_avts_face_track_parent_class)->sink_event(trans, event);
}

static GstFlowReturn gst_avts_face_track_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  auto* self = GST_AVTS_FACE_TRACK(filter);
  if (!self->tracker && !make_tracker(self)) return GST_FLOW_ERROR;
  if (GST_BUFFER_FLAG_IS_SET(frame->buffer, GST_BUFFER_FLAG_DISCONT)) self->tracker->reset();
  const avts::RgbImage image = avts_gst::rgb_image_of(*frame);
  const int width = image.width, height = image.height;
  try {
    for (const avts::TrackedFace& face : self->tracker->push(image))
      avts_gst::attach_face(frame->buffer, face, width, height);
  } catch (const avts::Error& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("%s", e.what()), (nullptr));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static void gst_avts_face_track_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_FACE_TRACK(object);
  FaceTrackSettings& s = *self->settings;
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_MODEL_FILE: {
      const gchar* path = g_value_get_string(value);
      s.model_file = path ? path : "";
      break;
    }
    case PROP_DETECT_INTERVAL:
      s.detect_interval = g_value_get_uint(value);
      break;
    case PROP_MIN_SCORE:
      s.min_score = g_value_get_double(value);
      break;
    case PROP_DETECT_SIZE:
      s.detect_size = g_value_get_uint(value);
      break;
    case PROP_MAX_MISSED:
      s.max_missed = g_value_get_uint(value);
      break;
    case PROP_SMOOTHING:
      s.smoothing = g_value_get_double(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_face_track_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_AVTS_FACE_TRACK(object);
  const FaceTrackSettings& s = *self->settings;
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_MODEL_FILE:
      g_value_set_string(value, s.model_file.empty() ? nullptr : s.model_file.c_str());
      break;
    case PROP_DETECT_INTERVAL:
      g_value_set_uint(value, s.detect_interval);
      break;
    case PROP_MIN_SCORE:
      g_value_set_double(value, s.min_score);
      break;
    case PROP_DETECT_SIZE:
      g_value_set_uint(value, s.detect_size);
      break;
    case PROP_MAX_MISSED:
      g_value_set_uint(value, s.max_missed);
      break;
    case PROP_SMOOTHING:
      g_value_set_double(value, s.smoothing);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_avts_face_track_finalize(GObject* object) {
  auto* self = GST_AVTS_FACE_TRACK(object);
  delete self->tracker;
  delete self->settings;
  G_OBJECT_CLASS(gst_avts_face_track_parent_class)->finalize(object);
}

static void gst_avts_face_track_class_init(GstAvtsFaceTrackClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_avts_face_track_debug, "avtsfacetrack", 0, "AVTS face tracking");

  gobject_class->set_property = gst_avts_face_track_set_property;
  gobject_class->get_property = gst_avts_face_track_get_property;
  gobject_class->finalize = gst_avts_face_track_finalize;
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  g_object_class_install_property(
      gobject_class, PROP_MODEL_FILE,
      g_param_spec_string("model-file", "Model file",
                          "YuNet face detector (ONNX, OpenCV's FaceDetectorYN); NULL: the bundled "
                          "face_detection_yunet_2022mar.onnx",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_DETECT_INTERVAL,
      g_param_spec_uint("detect-interval", "Detect interval",
                        "Frames from one detection to the next; faces keep their boxes in between", 1, 1000,
                        DEFAULT_DETECT_INTERVAL, flags));
  g_object_class_install_property(
      gobject_class, PROP_MIN_SCORE,
      g_param_spec_double("min-score", "Minimum score", "Detections below this confidence are ignored", 0.0, 1.0,
                          DEFAULT_MIN_SCORE, flags));
  g_object_class_install_property(
      gobject_class, PROP_DETECT_SIZE,
      g_param_spec_uint("detect-size", "Detect size",
                        "Long side in pixels of the picture the detector sees (larger frames are scaled down)", 32,
                        4096, DEFAULT_DETECT_SIZE, flags));
  g_object_class_install_property(
      gobject_class, PROP_MAX_MISSED,
      g_param_spec_uint("max-missed", "Maximum missed frames",
                        "Frames a face is followed on without a detection (profile views, occlusion)", 0, 10000,
                        DEFAULT_MAX_MISSED, flags));
  g_object_class_install_property(
      gobject_class, PROP_SMOOTHING,
      g_param_spec_double("smoothing", "Smoothing",
                          "Weight of a new detection in a face's box (1: no smoothing; lower: steadier, slower)", 0.01,
                          1.0, DEFAULT_SMOOTHING, flags));

  trans_class->start = GST_DEBUG_FUNCPTR(gst_avts_face_track_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_avts_face_track_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_avts_face_track_sink_event);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_avts_face_track_transform_frame_ip);
  trans_class->transform_ip_on_passthrough = FALSE;  // passthrough (avtssyncbin face-track=false): no work

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "AVTS face tracker", "Filter/Analyzer/Video",
                                        "Finds and follows faces, attaching one region-of-interest meta per face",
                                        "avts project");
  gst_element_class_add_static_metadata(
      element_class, "example",
      "gst-launch-1.0 filesrc location=talk.mp4 ! decodebin ! videoconvert ! video/x-raw,format=RGB ! "
      "avtsfacetrack ! avtsvideofeat model-file=model.avts ! fakesink");
}

static void gst_avts_face_track_init(GstAvtsFaceTrack* self) {
  self->settings = new FaceTrackSettings();
  self->tracker = nullptr;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
