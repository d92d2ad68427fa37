// avtsaudiofeat: audio in, a stream of AVTS audio features out.
#pragma once

#include "gstavtsfeatureextractor.h"

G_BEGIN_DECLS

#define GST_TYPE_AVTS_AUDIO_FEAT (gst_avts_audio_feat_get_type())
G_DECLARE_FINAL_TYPE(GstAvtsAudioFeat, gst_avts_audio_feat, GST, AVTS_AUDIO_FEAT, GstAvtsFeatureExtractor)

GST_ELEMENT_REGISTER_DECLARE(avtsaudiofeat);

G_END_DECLS
