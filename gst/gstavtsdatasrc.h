// avtsdatasrc: the media files of a training manifest, decoded, epoch after epoch, with
// file boundaries marked in-band (see avtsdatasrc_events.h).
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_AVTS_DATA_SRC (gst_avts_data_src_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsDataSrc, gst_avts_data_src, GST, AVTS_DATA_SRC, GstElement)

GST_ELEMENT_REGISTER_DECLARE(avtsdatasrc);

G_END_DECLS
