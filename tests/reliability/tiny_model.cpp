// tiny_model OUT.avts: writes a freshly initialised tiny AVTS model (the narrowest networks,
// 32 px video, 16-wide embedding) for tests in which speed matters more than the model,
// e.g. `avts train --init OUT.avts` in the training-fault tests.
#include <cstdio>
#include <exception>

#include "avts/model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tiny_model OUT.avts\n");
    return 2;
  }
  try {
    avts::ModelConfig c = avts::ModelConfig::preset_config("avts-compact");
    c.video.resize = c.video.crop = 32;
    c.video_base_width = c.audio_base_width = 4;
    c.embedding_dim = 16;
    c.provenance["created-by"] = "tests/reliability/tiny_model";
    avts::Model::create(c, 1)->save(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tiny_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
