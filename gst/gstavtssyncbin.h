// avtssyncbin: audio and video pass through; inside, the AVTS sync monitor watches them
// and, with correct=true, re-times the audio (or the video) to cancel the measured offset.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AVTS_SYNC_BIN (gst_avts_sync_bin_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsSyncBin, gst_avts_sync_bin, GST, AVTS_SYNC_BIN, GstBin)

GST_ELEMENT_REGISTER_DECLARE(avtssyncbin);

G_END_DECLS
