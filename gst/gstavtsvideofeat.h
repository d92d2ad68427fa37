// avtsvideofeat: RGB video in, a stream of AVTS video features out.
#pragma once

#include "gstavtsfeatureextractor.h"

G_BEGIN_DECLS

#define GST_TYPE_AVTS_VIDEO_FEAT (gst_avts_video_feat_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsVideoFeat, gst_avts_video_feat, GST, AVTS_VIDEO_FEAT, GstAvtsFeatureExtractor)

GST_ELEMENT_REGISTER_DECLARE(avtsvideofeat);

G_END_DECLS
