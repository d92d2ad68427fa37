// Faces on video buffers as GStreamer's own metadata: one GstVideoRegionOfInterestMeta per
// face, roi_type "face", its id the track id, and an "avts-face" parameter structure with the
// detection score and the five landmarks. Written by avtsfacetrack; read by avtsvideofeat,
// which also reads faces from any other detector (a box alone: the mouth is then placed
// where it sits in a face box).
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <vector>

#include "avts/face.h"

namespace avts_gst {

inline constexpr const char* kFaceRoiType = "face";

// Attaches `face` to `buffer` (writable); the box is clipped to the frame.
void attach_face(GstBuffer* buffer, const avts::TrackedFace& face, int frame_width, int frame_height);

// The regions of interest of type `roi_type` on `buffer`, as faces.
std::vector<avts::TrackedFace> faces_on(GstBuffer* buffer, GQuark roi_type);

// What the network sees of `buffer`'s frame (width x height) through `framing`, from the faces
// on it: as avtsvideofeat and avtstrain both take it.
avts::FrameView view_of(GstBuffer* buffer, int width, int height, const avts::VideoFrontEndConfig& config,
                        avts::MouthFraming& framing, avts::FrameRegion* mouth);

// A mapped RGB frame as the library's image view (no copy).
inline avts::RgbImage rgb_image_of(const GstVideoFrame& frame) {
  return {static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)), GST_VIDEO_FRAME_WIDTH(&frame),
          GST_VIDEO_FRAME_HEIGHT(&frame), GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0)};
}

}  // namespace avts_gst
