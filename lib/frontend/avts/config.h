// Model configuration: the preset, every front-end parameter, the embedding size and the
// decision threshold. It travels inside the model file, so a model always brings the
// front end it was trained with.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace avts {

// Log-mel front end (defaults: the paper's 16 kHz, 25 ms Hann, 10 ms hop, FFT 512, 40 bands).
struct AudioFrontEndConfig {
  int sample_rate = 16000;
  int win_length = 400;  // samples (25 ms)
  int hop_length = 160;  // samples (10 ms)
  int n_fft = 512;
  int n_mels = 40;
  double f_min = 0.0;
  double f_max = 8000.0;     // Hz, <= sample_rate / 2
  double log_offset = 1e-6;  // log(mel + log_offset)
  // What the audio network sees of each window (beyond the paper): "none", or "band-mean":
  // every mel band minus its mean over the window, so a voice's and a channel's spectral
  // colour and the overall gain (constants in the log domain) are gone and only how the sound
  // changes within the window is left. Applied at the network's input, so training and every
  // inference path agree.
  std::string normalise = "none";
};

// Video front end: frames resampled by PTS to `fps`; the `region` of the picture taken;
// its short side resized to `resize`, centre crop `crop` x `crop`, normalised with the
// Kinetics mean / std.
struct VideoFrontEndConfig {
  double fps = 25.0;
  // x, y, width, height as fractions of the decoded frame: the part of the picture the
  // network looks at (the whole frame by default; the lower middle for framed talking heads,
  // where the mouth would otherwise be a few pixels wide).
  std::array<double, 4> region{0.0, 0.0, 1.0, 1.0};
  int resize = 128;
  int crop = 112;
  std::array<float, 3> mean{0.43216f, 0.394666f, 0.37645f};
  std::array<float, 3> std{0.22803f, 0.22145f, 0.216989f};
  // What the video network sees of each clip (beyond the paper): "rgb", or "gray-motion":
  // the luma of every frame minus its mean over the clip's frames, so skin, lighting and
  // the static face (the speaker's identity) are mostly gone and what moves is left. Applied
  // at the network's input (one input channel), so training and every inference path agree.
  std::string input = "rgb";
  // Where in each frame the network looks: "region" (the fixed `region` above), or "face":
  // the mouth of the face followed through the video (avtsfacetrack upstream; avts/face.h
  // sizes the crop), the fixed region in frames without a face. Training and inference insert
  // the face tracker for a "face" model.
  std::string framing = "region";
};

struct ModelConfig {
  std::string preset;         // "avts-mc3-18" or "avts-compact"
  double clip_seconds = 1.0;  // one clip = this much video and the audio under it
  AudioFrontEndConfig audio;
  VideoFrontEndConfig video;
  int video_base_width = 64;  // MC3-18 stage widths: w, 2w, 4w, 8w
  int audio_base_width = 64;  // VGG stage widths: w, 2w, 4w, 8w
  int embedding_dim = 128;
  double threshold = 0.5;  // distance below which a pair is called in sync
  // The sync estimator's minimum confidence calibrated for this model on held-out speakers
  // (`avts eval --save-calibrated`): answers at or above it were right at least 95 % of the
  // time. Confidences are on the scale of this model's distances, so it belongs to the model.
  // 0: not calibrated (avtssync's own default applies).
  double min_confidence = 0;
  std::map<std::string, std::string> provenance;  // how the model was made (free-form)

  // Frames per clip of each modality: 100 log-mel frames and 25 video frames by default.
  int audio_frames_per_clip() const;
  int video_frames_per_clip() const;

  // Throws avts::Error naming the first field out of range.
  void validate() const;

  std::string to_json() const;
  // Throws avts::Error on malformed JSON or out-of-range values.
  static ModelConfig from_json(const std::string& json);

  // Throws avts::Error for an unknown name; the message lists the known ones.
  static ModelConfig preset_config(const std::string& name);
  static std::vector<std::string> preset_names();
};

}  // namespace avts
