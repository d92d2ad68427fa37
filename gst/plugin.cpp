// The "avts" GStreamer plugin: every element of the project.
#include <gst/gst.h>

#include "gstavtsaudiofeat.h"
#include "gstavtsdatasrc.h"
#include "gstavtsfacetrack.h"
#include "gstavtssync.h"
#include "gstavtssyncbin.h"
#include "gstavtstrain.h"
#include "gstavtsvideofeat.h"

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ok = TRUE;
  ok &= GST_ELEMENT_REGISTER(avtsaudiofeat, plugin);
  ok &= GST_ELEMENT_REGISTER(avtsvideofeat, plugin);
  ok &= GST_ELEMENT_REGISTER(avtsfacetrack, plugin);
  ok &= GST_ELEMENT_REGISTER(avtssync, plugin);
  ok &= GST_ELEMENT_REGISTER(avtssyncbin, plugin);
  ok &= GST_ELEMENT_REGISTER(avtsdatasrc, plugin);
  ok &= GST_ELEMENT_REGISTER(avtstrain, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, avts,
                  "Audio-visual temporal synchronization (AVTS): features, A/V sync scoring and training", plugin_init,
                  VERSION, "LGPL", PACKAGE, GST_PACKAGE_ORIGIN)
