// avts init -o MODEL: a freshly initialised model, the starting point of training and the
// "random network" baseline of feature evaluations.
#include <array>
#include <cstdio>
#include <string>

#include "avts/error.h"
#include "avts/model.h"
#include "commands.h"
#include "options.h"

namespace avts {
namespace {

// "X,Y,W,H" -> four fractions; the model config's validation checks they lie in the frame.
std::array<double, 4> parse_region(const std::string& text) {
  std::array<double, 4> r{};
  const char* p = text.c_str();
  for (size_t i = 0; i < r.size(); ++i) {
    char* end = nullptr;
    r[i] = g_ascii_strtod(p, &end);
    if (end == p || (i + 1 < r.size() ? *end != ',' : *end != '\0'))
      throw Error("--region: expected four fractions X,Y,WIDTH,HEIGHT such as 0.2,0.45,0.6,0.5, not '" + text + "'");
    p = end + 1;
  }
  return r;
}

}  // namespace

int cmd_init(int argc, char** argv) {
  gchar* output = nullptr;
  gchar* preset = nullptr;
  gint64 seed = 0;
  gdouble clip_seconds = 0;
  gint resize = 0, crop = 0;
  gchar* region = nullptr;
  gchar* video_input = nullptr;
  gchar* framing = nullptr;
  gchar* audio_normalise = nullptr;
  const GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Model file to write (required)", "MODEL"},
      {"preset", 0, 0, G_OPTION_ARG_STRING, &preset, "avts-compact (default) or avts-mc3-18", "NAME"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the initial weights (default 0)", "N"},
      {"clip-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &clip_seconds,
       "Clip (window) length instead of the preset's: 1 for avts-mc3-18, 0.2 for avts-compact", "S"},
      {"resize", 0, 0, G_OPTION_ARG_INT, &resize,
       "Short side frames are scaled to before the centre crop, instead of the preset's (a larger value "
       "crops a smaller, more detailed part of the picture)",
       "PX"},
      {"crop", 0, 0, G_OPTION_ARG_INT, &crop, "Side of the square crop the video network sees, instead of the preset's",
       "PX"},
      {"region", 0, 0, G_OPTION_ARG_STRING, &region,
       "Part of the picture the video network looks at, as fractions of the frame: X,Y,WIDTH,HEIGHT "
       "(default 0,0,1,1, the whole frame; 0.2,0.45,0.6,0.5 for the lower middle of framed talking heads)",
       "X,Y,W,H"},
      {"video-input", 0, 0, G_OPTION_ARG_STRING, &video_input,
       "What the video network sees: rgb (default) or gray-motion (each frame's luma minus its mean over the "
       "clip: less of the speaker's look, more of what moves)",
       "KIND"},
      {"framing", 0, 0, G_OPTION_ARG_STRING, &framing,
       "Where in each frame the video network looks: region (default: the fixed --region) or face (the mouth "
       "of the face followed by avtsfacetrack, which training and avts sync then insert; the region in frames "
       "without a face)",
       "KIND"},
      {"audio-normalise", 0, 0, G_OPTION_ARG_STRING, &audio_normalise,
       "What the audio network sees: none (default) or band-mean (each mel band minus its mean over the "
       "window: no gain, voice or channel colour)",
       "KIND"},
      {}};
  parse_options(argc, argv, "", "Write a freshly initialised (untrained) AVTS model file.", entries);
  const std::string out = take_string(output);
  const std::string region_text = take_string(region);
  const std::string video_input_text = take_string(video_input);
  const std::string audio_normalise_text = take_string(audio_normalise);
  const std::string framing_text = take_string(framing);
  std::string name = take_string(preset);
  if (out.empty()) throw Error("--output is required");
  if (argc > 1) throw Error("unexpected argument '" + std::string(argv[1]) + "'");
  if (name.empty()) name = "avts-compact";

  ModelConfig config = ModelConfig::preset_config(name);
  std::string created_by = "avts init --preset " + name + " --seed " + std::to_string(seed);
  if (clip_seconds > 0) {
    config.clip_seconds = clip_seconds;
    created_by += " --clip-seconds " + std::to_string(clip_seconds);
  }
  if (resize > 0) {
    config.video.resize = resize;
    created_by += " --resize " + std::to_string(resize);
  }
  if (crop > 0) {
    config.video.crop = crop;
    created_by += " --crop " + std::to_string(crop);
  }
  if (!region_text.empty()) {
    config.video.region = parse_region(region_text);
    created_by += " --region " + region_text;
  }
  if (!video_input_text.empty()) {
    config.video.input = video_input_text;
    created_by += " --video-input " + video_input_text;
  }
  if (!framing_text.empty()) {
    config.video.framing = framing_text;
    created_by += " --framing " + framing_text;
  }
  if (!audio_normalise_text.empty()) {
    config.audio.normalise = audio_normalise_text;
    created_by += " --audio-normalise " + audio_normalise_text;
  }
  config.validate();
  config.provenance["created-by"] = created_by;
  config.provenance["trained"] = "no";
  const auto model = Model::create(config, static_cast<uint64_t>(seed));
  model->save(out);
  std::printf("wrote %s (%s, untrained, id %s)\n", out.c_str(), name.c_str(), model->id().c_str());
  return kExitOk;
}

}  // namespace avts
