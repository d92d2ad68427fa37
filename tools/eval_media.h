// A clip decoded once for `avts eval`, with the project's own elements:
//   uridecodebin -> audioconvert -> tee -> appsink                 (the decoded audio, kept)
//                                     -> avtsaudiofeat -> appsink   (audio embeddings)
//                -> videoconvert -> RGB -> avtsvideofeat -> appsink (video embeddings, kept)
// the same chain as `avts sync` up to avtssync, so that each shifted run can replay the audio
// through avtsaudiofeat and the video embeddings into avtssync without decoding again.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>
#include <vector>

#include "avts/eval.h"

namespace avts {

struct SampleUnref {
  void operator()(GstSample* s) const { gst_sample_unref(s); }
};
using SamplePtr = std::unique_ptr<GstSample, SampleUnref>;

struct DecodedClip {
  std::string uri;
  std::vector<SamplePtr> audio;           // as avtsaudiofeat receives it (buffers, caps, segment)
  std::vector<SamplePtr> video_features;  // avtsvideofeat's output
  EvalClip embeddings;                    // both streams' rows in running time; id = the input
};

// The elements' settings shared by the decode and the sync runs.
struct FeatureSettings {
  std::string model_path;
  std::string device;       // "" = the elements' default
  std::string precision;    // "" = the elements' default (float32)
  int video_hop_ms = 0;     // avtsvideofeat's hop; 0 = its default (one window per clip length)
  bool face_track = false;  // avtsfacetrack before avtsvideofeat: the network looks at a face's mouth
};

// Decodes `input` (path or URI). Throws avts::Error when it is missing, does not decode, or
// lacks an audio or a video track.
DecodedClip decode_clip(const std::string& input, const FeatureSettings& settings);

}  // namespace avts
