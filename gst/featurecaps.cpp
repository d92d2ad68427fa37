#include "featurecaps.h"

#include <cstring>

GstCaps* gst_avts_feature_format_to_caps(const GstAvtsFeatureFormat& format) {
  GstCaps* caps = gst_caps_new_simple(
      GST_AVTS_FEATURES_MEDIA_TYPE, "modality", G_TYPE_STRING, avts::modality_name(format.modality), "dim", G_TYPE_INT,
      format.dim, "layer", G_TYPE_STRING, format.layer.c_str(), "model-id", G_TYPE_STRING, format.model_id.c_str(),
      "hop", G_TYPE_UINT64, format.hop_ns, "window", G_TYPE_UINT64, format.window_ns, nullptr);
  if (format.min_confidence > 0)
    gst_caps_set_simple(caps, "min-confidence", G_TYPE_DOUBLE, format.min_confidence, nullptr);
  return caps;
}

gboolean gst_avts_feature_format_from_caps(const GstCaps* caps, GstAvtsFeatureFormat* format) {
  if (!caps || !gst_caps_is_fixed(caps)) return FALSE;
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (!gst_structure_has_name(s, GST_AVTS_FEATURES_MEDIA_TYPE)) return FALSE;
  const gchar* modality = gst_structure_get_string(s, "modality");
  const gchar* layer = gst_structure_get_string(s, "layer");
  const gchar* model_id = gst_structure_get_string(s, "model-id");
  GstAvtsFeatureFormat f;
  if (!modality || !layer || !model_id || !gst_structure_get_int(s, "dim", &f.dim) || f.dim < 1 ||
      !gst_structure_get_uint64(s, "hop", &f.hop_ns) || !gst_structure_get_uint64(s, "window", &f.window_ns))
    return FALSE;
  if (std::strcmp(modality, "audio") == 0)
    f.modality = avts::Modality::Audio;
  else if (std::strcmp(modality, "video") == 0)
    f.modality = avts::Modality::Video;
  else
    return FALSE;
  f.layer = layer;
  f.model_id = model_id;
  if (gst_structure_has_field(s, "min-confidence") &&
      (!gst_structure_get_double(s, "min-confidence", &f.min_confidence) || !(f.min_confidence >= 0)))
    return FALSE;
  *format = f;
  return TRUE;
}

GstBuffer* gst_avts_feature_buffer_new(const avts::FeatureRows& rows) {
  const gsize size = rows.data.size() * sizeof(float);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_fill(buffer, 0, rows.data.data(), size);
  GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(rows.pts_ns);
  GST_BUFFER_DURATION(buffer) = static_cast<GstClockTime>(rows.n) * static_cast<GstClockTime>(rows.hop_ns);
  if (rows.discont) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  return buffer;
}
