// CPU training throughput of avts::Trainer, our side of bench_train.py:
//   train_bench PRESET BATCH_PAIRS FILES SECONDS THREADS
// One JSON line (synthetic_training.h): pairs per second of the second epoch.
#include <cstdio>
#include <exception>
#include <string>

#include "avts/model.h"
#include "synthetic_training.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: train_bench PRESET BATCH_PAIRS FILES SECONDS THREADS\n");
    return 2;
  }
  try {
    const std::string preset = argv[1];
    avts::Model::set_threads(std::stoi(argv[5]));
    auto model = avts::Model::create(avts::ModelConfig::preset_config(preset), 1);
    return bench::train_two_epochs(model, preset, "float32", std::stoi(argv[2]), std::stoi(argv[3]),
                                   std::stod(argv[4]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_bench: %s\n", e.what());
    return 2;
  }
}
