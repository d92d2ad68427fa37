#include "avts/config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "avts/error.h"

namespace avts {

using nlohmann::json;

int ModelConfig::audio_frames_per_clip() const {
  return static_cast<int>(std::lround(clip_seconds * audio.sample_rate / audio.hop_length));
}

int ModelConfig::video_frames_per_clip() const { return static_cast<int>(std::lround(clip_seconds * video.fps)); }

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw Error("invalid model config: " + what);
}

}  // namespace

void ModelConfig::validate() const {
  require(!preset.empty(), "preset is empty");
  require(clip_seconds >= 0.2 && clip_seconds <= 10.0, "clip_seconds must be in [0.2, 10]");
  require(audio.sample_rate >= 8000 && audio.sample_rate <= 192000, "audio.sample_rate must be in [8000, 192000]");
  require(audio.n_fft >= 16 && audio.n_fft <= 8192, "audio.n_fft must be in [16, 8192]");
  require(audio.win_length > 0 && audio.win_length <= audio.n_fft, "audio.win_length must be in [1, n_fft]");
  require(audio.hop_length > 0, "audio.hop_length must be positive");
  require(audio.n_mels > 0 && audio.n_mels <= 256, "audio.n_mels must be in [1, 256]");
  require(audio.f_min >= 0 && audio.f_min < audio.f_max && audio.f_max <= audio.sample_rate / 2.0,
          "audio frequencies need 0 <= f_min < f_max <= sample_rate / 2");
  require(audio.log_offset > 0, "audio.log_offset must be positive");
  require(video.fps > 0 && video.fps <= 120, "video.fps must be in (0, 120]");
  require(video.crop >= 16 && video.crop <= 512, "video.crop must be in [16, 512]");
  require(video.resize >= video.crop, "video.resize must be >= video.crop");
  const auto& r = video.region;
  require(r[0] >= 0 && r[1] >= 0 && r[2] >= 0.05 && r[3] >= 0.05 && r[0] + r[2] <= 1 + 1e-9 && r[1] + r[3] <= 1 + 1e-9,
          "video.region must be x, y, width, height inside the frame (fractions, width and height >= 0.05)");
  for (float s : video.std) require(s > 0, "video.std must be positive");
  require(video.input == "rgb" || video.input == "gray-motion", "video.input must be rgb or gray-motion");
  require(video.framing == "region" || video.framing == "face", "video.framing must be region or face");
  require(audio.normalise == "none" || audio.normalise == "band-mean", "audio.normalise must be none or band-mean");
  require(video_base_width >= 4 && video_base_width <= 256, "video_base_width must be in [4, 256]");
  require(audio_base_width >= 4 && audio_base_width <= 256, "audio_base_width must be in [4, 256]");
  require(embedding_dim >= 2 && embedding_dim <= 4096, "embedding_dim must be in [2, 4096]");
  require(std::isfinite(threshold) && threshold > 0, "threshold must be positive");
  require(std::isfinite(min_confidence) && min_confidence >= 0 && min_confidence <= 2,
          "min_confidence must be in [0, 2]");
  require(audio_frames_per_clip() >= 16, "a clip must hold at least 16 log-mel frames");
  require(video_frames_per_clip() >= 2, "a clip must hold at least 2 video frames");
}

std::string ModelConfig::to_json() const {
  json j = {
      {"preset", preset},
      {"clip_seconds", clip_seconds},
      {"audio",
       {{"sample_rate", audio.sample_rate},
        {"win_length", audio.win_length},
        {"hop_length", audio.hop_length},
        {"n_fft", audio.n_fft},
        {"n_mels", audio.n_mels},
        {"f_min", audio.f_min},
        {"f_max", audio.f_max},
        {"log_offset", audio.log_offset}}},
      {"video",
       {{"fps", video.fps},
        {"region", video.region},
        {"resize", video.resize},
        {"crop", video.crop},
        {"mean", video.mean},
        {"std", video.std}}},
      {"video_base_width", video_base_width},
      {"audio_base_width", audio_base_width},
      {"embedding_dim", embedding_dim},
      {"threshold", threshold},
      {"provenance", provenance},
  };
  // Written only when they differ from the paper's inputs: files without them read as
  // before, and the model id (a hash over this text) of every earlier model stays the same.
  if (video.input != "rgb") j["video"]["input"] = video.input;
  if (video.framing != "region") j["video"]["framing"] = video.framing;
  if (audio.normalise != "none") j["audio"]["normalise"] = audio.normalise;
  if (min_confidence > 0) j["min_confidence"] = min_confidence;
  return j.dump(2);
}

ModelConfig ModelConfig::from_json(const std::string& text) {
  ModelConfig c;
  try {
    const json j = json::parse(text);
    c.preset = j.at("preset").get<std::string>();
    c.clip_seconds = j.at("clip_seconds").get<double>();
    const json& a = j.at("audio");
    c.audio.sample_rate = a.at("sample_rate").get<int>();
    c.audio.win_length = a.at("win_length").get<int>();
    c.audio.hop_length = a.at("hop_length").get<int>();
    c.audio.n_fft = a.at("n_fft").get<int>();
    c.audio.n_mels = a.at("n_mels").get<int>();
    c.audio.f_min = a.at("f_min").get<double>();
    c.audio.f_max = a.at("f_max").get<double>();
    c.audio.log_offset = a.at("log_offset").get<double>();
    if (a.contains("normalise")) c.audio.normalise = a.at("normalise").get<std::string>();
    const json& v = j.at("video");
    c.video.fps = v.at("fps").get<double>();
    if (v.contains("region")) c.video.region = v.at("region").get<std::array<double, 4>>();  // older files: whole frame
    c.video.resize = v.at("resize").get<int>();
    c.video.crop = v.at("crop").get<int>();
    c.video.mean = v.at("mean").get<std::array<float, 3>>();
    c.video.std = v.at("std").get<std::array<float, 3>>();
    if (v.contains("input")) c.video.input = v.at("input").get<std::string>();
    if (v.contains("framing")) c.video.framing = v.at("framing").get<std::string>();
    c.video_base_width = j.at("video_base_width").get<int>();
    c.audio_base_width = j.at("audio_base_width").get<int>();
    c.embedding_dim = j.at("embedding_dim").get<int>();
    c.threshold = j.at("threshold").get<double>();
    if (j.contains("min_confidence")) c.min_confidence = j.at("min_confidence").get<double>();
    if (j.contains("provenance")) c.provenance = j.at("provenance").get<std::map<std::string, std::string>>();
  } catch (const json::exception& e) {
    throw Error(std::string("invalid model config: ") + e.what());
  }
  c.validate();
  return c;
}

ModelConfig ModelConfig::preset_config(const std::string& name) {
  ModelConfig c;
  c.preset = name;
  if (name == "avts-mc3-18") return c;  // the paper's size: the defaults above
  if (name == "avts-compact") {
    // Real-time lip sync on a 2-core CPU: quarter-width networks on a smaller crop, and
    // 0.2 s clips (5 frames, SyncNet's window). MC3 keeps the time axis after its first stage,
    // so a 1 s clip's pooled embedding averages 25 steps and blurs the timing the sync task
    // is about; 0.2 s also makes training and inference 5x cheaper (models/README.md).
    c.clip_seconds = 0.2;
    c.video.resize = 72;
    c.video.crop = 64;
    c.video_base_width = 16;
    c.audio_base_width = 16;
    return c;
  }
  std::string known;
  for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown preset '" + name + "' (known: " + known + ")");
}

std::vector<std::string> ModelConfig::preset_names() { return {"avts-mc3-18", "avts-compact"}; }

}  // namespace avts
