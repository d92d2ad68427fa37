#include "avtsdatasrc_events.h"

GstEvent* gst_avts_file_start_event_new(const GstAvtsFileStart& m) {
  GstStructure* s = gst_structure_new(GST_AVTS_FILE_START, "sequence", G_TYPE_UINT64, m.sequence, "id", G_TYPE_STRING,
                                      m.id.c_str(), "uri", G_TYPE_STRING, m.uri.c_str(), "split", G_TYPE_STRING,
                                      m.split.c_str(), "epoch", G_TYPE_INT, m.epoch, "epochs", G_TYPE_INT, m.epochs,
                                      "index", G_TYPE_INT, m.index, "files", G_TYPE_INT, m.files, nullptr);
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

GstEvent* gst_avts_epoch_end_event_new(const GstAvtsEpochEnd& m) {
  GstStructure* s = gst_structure_new(GST_AVTS_EPOCH_END, "sequence", G_TYPE_UINT64, m.sequence, "epoch", G_TYPE_INT,
                                      m.epoch, "epochs", G_TYPE_INT, m.epochs, "files", G_TYPE_INT, m.files, "skipped",
                                      G_TYPE_UINT, m.skipped, nullptr);
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s);
}

static const GstStructure* mark_structure(GstEvent* event, const char* name) {
  if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM) return nullptr;
  const GstStructure* s = gst_event_get_structure(event);
  return s && gst_structure_has_name(s, name) ? s : nullptr;
}

gboolean gst_avts_file_start_event_parse(GstEvent* event, GstAvtsFileStart* m) {
  const GstStructure* s = mark_structure(event, GST_AVTS_FILE_START);
  if (!s) return FALSE;
  const gchar* id = gst_structure_get_string(s, "id");
  const gchar* uri = gst_structure_get_string(s, "uri");
  const gchar* split = gst_structure_get_string(s, "split");
  if (!id || !uri || !split || !gst_structure_get_uint64(s, "sequence", &m->sequence) ||
      !gst_structure_get_int(s, "epoch", &m->epoch) || !gst_structure_get_int(s, "epochs", &m->epochs) ||
      !gst_structure_get_int(s, "index", &m->index) || !gst_structure_get_int(s, "files", &m->files))
    return FALSE;
  m->id = id;
  m->uri = uri;
  m->split = split;
  return TRUE;
}

gboolean gst_avts_epoch_end_event_parse(GstEvent* event, GstAvtsEpochEnd* m) {
  const GstStructure* s = mark_structure(event, GST_AVTS_EPOCH_END);
  return s && gst_structure_get_uint64(s, "sequence", &m->sequence) && gst_structure_get_int(s, "epoch", &m->epoch) &&
         gst_structure_get_int(s, "epochs", &m->epochs) && gst_structure_get_int(s, "files", &m->files) &&
         gst_structure_get_uint(s, "skipped", &m->skipped);
}
