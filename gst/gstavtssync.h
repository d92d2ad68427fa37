// avtssync: the audio and video feature streams of one model in, A/V offset reports out.
#pragma once

#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

#define GST_TYPE_AVTS_SYNC (gst_avts_sync_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsSync, gst_avts_sync, GST, AVTS_SYNC, GstAggregator)

#define GST_TYPE_AVTS_SYNC_STANDARD (gst_avts_sync_standard_get_type())
GType gst_avts_sync_standard_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(avtssync);

G_END_DECLS
