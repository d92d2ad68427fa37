// The sync measurement of a decoded clip with its audio shifted, through the project's
// elements, as `avts sync --shift-audio` makes it:
//   appsrc (decoded audio) -> avtsaudiofeat -> avtssync.audio_sink
//   appsrc (video embeddings, computed once) ->  avtssync.video_sink;  avtssync -> appsink
// The shift is a timestamp shift of the audio stream: a pad offset on avtsaudiofeat's sink
// (its running time moves; the samples are those decoded). The video is not shifted, so its
// embeddings are the same in every run and are not computed again. One pipeline serves all
// runs (READY between them), so the model is loaded once.
#pragma once

#include <gst/gst.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "eval_media.h"

namespace avts {

struct SummarySlot;  // where avtssync's summary lands

struct ReplaySettings {
  FeatureSettings features;
  int max_offset_ms = 0;       // avtssync's max-offset; 0 = its default
  double min_confidence = -1;  // avtssync's min-confidence; < 0 = its default
};

class ShiftedSync {
 public:
  explicit ShiftedSync(const ReplaySettings& settings);
  ~ShiftedSync();
  ShiftedSync(const ShiftedSync&) = delete;
  ShiftedSync& operator=(const ShiftedSync&) = delete;

  // avtssync's whole-stream summary (its JSON object: offset-ms, confidence, status,
  // out-of-range, windows, ...) for `clip` with its audio moved `shift_ms` earlier
  // (positive = earlier, as --shift-audio). Throws avts::Error when the pipeline fails.
  nlohmann::json measure(const DecodedClip& clip, int shift_ms);

  int max_offset_ms() const;
  double min_confidence() const;

 private:
  GstElement* pipeline_ = nullptr;
  GstElement *audio_src_ = nullptr, *video_src_ = nullptr, *afeat_ = nullptr, *sync_ = nullptr;
  std::unique_ptr<SummarySlot> summary_;
};

}  // namespace avts
