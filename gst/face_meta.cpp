#include "face_meta.h"

#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace avts_gst {

namespace {

constexpr const char* kParams = "avts-face";
constexpr const char* kLandmarkNames[5] = {"right-eye", "left-eye", "nose", "mouth-right", "mouth-left"};

std::string field(int landmark, char axis) { return std::string(kLandmarkNames[landmark]) + "-" + axis; }

}  // namespace

void attach_face(GstBuffer* buffer, const avts::TrackedFace& t, int frame_width, int frame_height) {
  const avts::Face& f = t.face;
  const auto clip = [](double v, int size) { return static_cast<guint>(std::clamp<long>(std::lround(v), 0, size)); };
  const guint x0 = clip(f.x, frame_width), y0 = clip(f.y, frame_height);
  const guint x1 = clip(f.x + f.width, frame_width), y1 = clip(f.y + f.height, frame_height);
  GstVideoRegionOfInterestMeta* meta =
      gst_buffer_add_video_region_of_interest_meta(buffer, kFaceRoiType, x0, y0, x1 - x0, y1 - y0);
  meta->id = t.id;
  GstStructure* s = gst_structure_new(kParams, "score", G_TYPE_DOUBLE, static_cast<double>(f.score), "detected",
                                      G_TYPE_BOOLEAN, t.detected, "tracked-frames", G_TYPE_INT64, t.frames,
                                      // The box unclipped, so a face at the edge keeps its size.
                                      "x", G_TYPE_DOUBLE, static_cast<double>(f.x), "y", G_TYPE_DOUBLE,
                                      static_cast<double>(f.y), "width", G_TYPE_DOUBLE, static_cast<double>(f.width),
                                      "height", G_TYPE_DOUBLE, static_cast<double>(f.height), nullptr);
  if (f.has_landmarks)
    for (int k = 0; k < 5; ++k)
      gst_structure_set(s, field(k, 'x').c_str(), G_TYPE_DOUBLE, static_cast<double>(f.landmarks[k].x),
                        field(k, 'y').c_str(), G_TYPE_DOUBLE, static_cast<double>(f.landmarks[k].y), nullptr);
  gst_video_region_of_interest_meta_add_param(meta, s);
}

std::vector<avts::TrackedFace> faces_on(GstBuffer* buffer, GQuark roi_type) {
  std::vector<avts::TrackedFace> faces;
  gpointer state = nullptr;
  while (GstMeta* m = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    if (roi->roi_type != roi_type || roi->w == 0 || roi->h == 0) continue;
    avts::TrackedFace t;
    t.id = roi->id;
    t.face.x = static_cast<float>(roi->x);
    t.face.y = static_cast<float>(roi->y);
    t.face.width = static_cast<float>(roi->w);
    t.face.height = static_cast<float>(roi->h);
    t.detected = true;
    if (const GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, kParams)) {
      double v = 0;
      if (gst_structure_get_double(s, "score", &v)) t.face.score = static_cast<float>(v);
      gboolean detected = TRUE;
      if (gst_structure_get_boolean(s, "detected", &detected)) t.detected = detected;
      gint64 frames = 0;
      if (gst_structure_get_int64(s, "tracked-frames", &frames)) t.frames = frames;
      double x, y, w, h;
      if (gst_structure_get_double(s, "x", &x) && gst_structure_get_double(s, "y", &y) &&
          gst_structure_get_double(s, "width", &w) && gst_structure_get_double(s, "height", &h) && w > 0 && h > 0) {
        t.face.x = static_cast<float>(x);
        t.face.y = static_cast<float>(y);
        t.face.width = static_cast<float>(w);
        t.face.height = static_cast<float>(h);
      }
      bool all = true;
      for (int k = 0; k < 5 && all; ++k) {
        double lx, ly;
        all = gst_structure_get_double(s, field(k, 'x').c_str(), &lx) &&
              gst_structure_get_double(s, field(k, 'y').c_str(), &ly);
        if (all) t.face.landmarks[k] = {static_cast<float>(lx), static_cast<float>(ly)};
      }
      t.face.has_landmarks = all;
    }
    faces.push_back(t);
  }
  return faces;
}

avts::FrameView view_of(GstBuffer* buffer, int width, int height, const avts::VideoFrontEndConfig& config,
                        avts::MouthFraming& framing, avts::FrameRegion* mouth) {
  return framing.view(faces_on(buffer, g_quark_from_static_string(kFaceRoiType)), width, height, config, mouth);
}

}  // namespace avts_gst
