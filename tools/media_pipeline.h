// A decode pipeline for the avts command: the shared decode graph (gst/decode_graph.h:
// uridecodebin feeding one branch per media type, other streams drained), run to EOS with
// errors turned into avts::Error naming the input.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "decode_graph.h"

namespace avts {

class MediaPipeline {
 public:
  // `input` is a path or a URI. Throws avts::Error for a path that does not exist.
  explicit MediaPipeline(const std::string& input);

  // Adds the elements of a branch and links them in order. The decoder's first stream of
  // `media` ("audio" or "video") feeds the first element; other streams are discarded.
  // The pipeline holds the elements; the pointers stay valid while it lives.
  void add_branch(const std::string& media, const std::vector<GstElement*>& elements) {
    graph_->add_branch(media, elements);
  }

  // Runs to EOS. Throws avts::Error with the element's message on an error, or when the
  // input lacks a stream that a branch needs. `on_progress` gets the position in [0, 1]
  // about every 200 ms when the duration is known.
  void run(const std::function<void(double)>& on_progress = {});

  GstElement* pipeline() const { return graph_->pipeline(); }
  const std::string& uri() const { return uri_; }

 private:
  std::string uri_;
  std::unique_ptr<DecodeGraph> graph_;
};

// Windows per forward pass when a whole file is measured: no one waits for the reports, so the
// networks get larger batches than the elements' live-friendly defaults (8 audio, 4 video
// windows). avts sync and avts eval use the same sizes, so they compute the same numbers.
constexpr int kFileAudioBatch = 32;
// Sets `batch-size` on an avtsaudiofeat (to `audio_batch`) or avtsvideofeat (a quarter of it).
void set_file_batch_size(GstElement* feature_element, int audio_batch = kFileAudioBatch);
// Sets `precision` on an element that runs a network, from a name (float32, bfloat16,
// float16; also fp32 / bf16 / fp16). Throws avts::Error listing the names for another one.
void set_precision(GstElement* network_element, const std::string& name);

}  // namespace avts
