// The tiny AVTS model of the reliability tests: the narrowest networks, 32 px video, a 16-wide
// embedding, for tests in which speed matters more than the model.
#pragma once

#include "avts/config.h"

inline avts::ModelConfig tiny_model_config() {
  avts::ModelConfig c = avts::ModelConfig::preset_config("avts-compact");
  c.video.resize = c.video.crop = 32;
  c.video_base_width = c.audio_base_width = 4;
  c.embedding_dim = 16;
  return c;
}
