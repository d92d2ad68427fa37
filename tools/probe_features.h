// Frozen features of whole clips for the linear probe: each clip is decoded by
// uridecodebin and run through avtsaudiofeat / avtsvideofeat (one element per layer), and
// each element's rows (one per window) are pooled over the clip into one vector.
#pragma once

#include <string>
#include <vector>

namespace avts {

enum class Pooling { Mean, MeanMax };  // MeanMax: the mean, then the per-feature maximum

struct ClipFeatureOptions {
  std::string model_path;
  std::vector<std::string> layers = {"embedding"};
  bool audio = true;
  bool video = false;
  Pooling pooling = Pooling::Mean;
  int hop_ms = 400;    // window hop: a multiple of the model's audio hop and video frame period
  std::string device;  // empty: the elements' default
  int batch_size = 0;  // 0: the elements' default
};

// One vector per layer, in the order of options.layers: the pooled audio features, then
// the pooled video features. Throws avts::Error when the input cannot be decoded, lacks a
// stream, or is too short for one window.
std::vector<std::vector<float>> clip_features(const std::string& input, const ClipFeatureOptions& options);

}  // namespace avts
