// avts info MODEL: what a model file holds.
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "avts/error.h"
#include "avts/model.h"
#include "commands.h"
#include "options.h"

namespace avts {

int cmd_info(int argc, char** argv) {
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
      {"json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the model's config and id as JSON", nullptr}, {}};
  parse_options(argc, argv, "[MODEL]", "Describe an AVTS model file (default: the shipped model).", entries);
  if (argc > 2) throw Error("expected one model file");
  const std::string path = argc == 2 ? argv[1] : default_model_path();
  const auto model = Model::load(path);
  const ModelConfig& c = model->config();

  if (as_json) {
    nlohmann::json j = nlohmann::json::parse(c.to_json());
    j["file"] = path;
    j["model_id"] = model->id();
    for (Modality m : {Modality::Audio, Modality::Video})
      for (const auto& layer : Model::layer_names()) j["dims"][modality_name(m)][layer] = model->dim(m, layer);
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("model file   %s\n", path.c_str());
  std::printf("model id     %s\n", model->id().c_str());
  std::printf("preset       %s\n", c.preset.c_str());
  std::printf("clip         %.3g s: %d log-mel frames, %d video frames\n", c.clip_seconds, c.audio_frames_per_clip(),
              c.video_frames_per_clip());
  std::printf(
      "audio input  %d Hz mono, %d-sample Hann window, hop %d, FFT %d, %d mel bands, "
      "log(mel + %g)\n",
      c.audio.sample_rate, c.audio.win_length, c.audio.hop_length, c.audio.n_fft, c.audio.n_mels, c.audio.log_offset);
  if (c.audio.normalise != "none" || c.video.input != "rgb")
    std::printf("net inputs   audio %s, video %s\n", c.audio.normalise.c_str(), c.video.input.c_str());
  const auto& r = c.video.region;
  if (r == std::array<double, 4>{0, 0, 1, 1})
    std::printf("video input  %g fps, short side %d px, centre crop %d x %d\n", c.video.fps, c.video.resize,
                c.video.crop, c.video.crop);
  else
    std::printf(
        "video input  %g fps, region x %g y %g w %g h %g of the frame, its short side %d px, centre crop %d x %d\n",
        c.video.fps, r[0], r[1], r[2], r[3], c.video.resize, c.video.crop, c.video.crop);
  if (c.video.framing == "face")
    std::printf(
        "framing      the mouth of the face followed (avtsfacetrack, 1.1 face widths across); the region "
        "in frames without a face\n");
  std::printf("networks     MC3-18 video (base width %d), VGG audio (base width %d)\n", c.video_base_width,
              c.audio_base_width);
  std::printf("embedding    %d-d, L2-normalised; in-sync threshold: distance < %.4g\n", c.embedding_dim, c.threshold);
  if (c.min_confidence > 0)
    std::printf("sync         min-confidence %.4g (calibrated for 95 %% right answers)\n", c.min_confidence);
  std::printf("layers      ");
  for (const auto& layer : Model::layer_names())
    std::printf(" %s (audio %d, video %d)", layer.c_str(), model->dim(Modality::Audio, layer),
                model->dim(Modality::Video, layer));
  std::printf("\n");
  for (const auto& [key, value] : c.provenance) std::printf("provenance   %s: %s\n", key.c_str(), value.c_str());
  return kExitOk;
}

}  // namespace avts
