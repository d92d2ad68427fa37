// avtsfacetrack: finds and follows faces in RGB video, one region-of-interest meta per face.
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_AVTS_FACE_TRACK (gst_avts_face_track_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsFaceTrack, gst_avts_face_track, GST, AVTS_FACE_TRACK, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(avtsfacetrack);

G_END_DECLS
