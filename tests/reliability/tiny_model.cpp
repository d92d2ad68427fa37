// tiny_model OUT.avts: writes a freshly initialised tiny AVTS model (the narrowest networks,
// 32 px video, 16-wide embedding) for tests in which speed matters more than the model,
// e.g. `avts train --init OUT.avts` in the training-fault tests.
#include <cstdio>
#include <exception>

#include "avts/model.h"
#include "tiny_config.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tiny_model OUT.avts\n");
    return 2;
  }
  try {
    avts::ModelConfig c = tiny_model_config();
    c.provenance["created-by"] = "tests/reliability/tiny_model";
    avts::Model::create(c, 1)->save(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tiny_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
