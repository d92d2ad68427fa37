#include "mpeg_ps_timeline.h"

#include <cstring>

namespace {

// Elements are added in the NULL state, where `ignore-scr` may still be set.
void on_deep_element_added(GstBin*, GstBin*, GstElement* element, gpointer) {
  GstElementFactory* factory = gst_element_get_factory(element);
  if (factory && !std::strcmp(GST_OBJECT_NAME(factory), "mpegpsdemux"))
    g_object_set(element, "ignore-scr", TRUE, nullptr);
}

}  // namespace

void avts_ignore_mpeg_ps_scr(GstElement* bin) {
  g_return_if_fail(GST_IS_BIN(bin));
  g_signal_connect(bin, "deep-element-added", G_CALLBACK(on_deep_element_added), nullptr);
}
