// Log-mel frames of a raw sample file, for the parity test against torchaudio.
// Usage: logmel_dump SAMPLES.f32 FRAMES.f32
//   SAMPLES.f32: raw float32 mono samples at 16 kHz; FRAMES.f32: raw float32, n_frames x n_mels.
// The samples go in through odd-sized pushes, so the parity check covers streaming too.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "avts/config.h"
#include "avts/logmel.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s SAMPLES.f32 FRAMES.f32\n", argv[0]);
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot read ") + argv[1]);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> samples(bytes.size() / sizeof(float));
    std::copy(bytes.begin(), bytes.begin() + samples.size() * sizeof(float), reinterpret_cast<char*>(samples.data()));

    avts::LogMel logmel{avts::AudioFrontEndConfig{}};
    std::vector<float> frames;
    const size_t chunk = 333;
    for (size_t pos = 0; pos < samples.size(); pos += chunk)
      logmel.push(samples.data() + pos, std::min(chunk, samples.size() - pos), frames);

    std::ofstream out(argv[2], std::ios::binary);
    out.write(reinterpret_cast<const char*>(frames.data()), frames.size() * sizeof(float));
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[2]);
    std::printf("%zu samples -> %zu frames x %d mels\n", samples.size(), frames.size() / logmel.n_mels(),
                logmel.n_mels());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "logmel_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}
