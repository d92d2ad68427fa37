// Streaming log-mel spectrogram on FFTW. Samples go in as they arrive, frames come out as
// soon as their window is complete; nothing is computed twice. Frame k covers the samples
// [k * hop, k * hop + win) counted from the last reset(); the window is zero-padded to
// n_fft in the middle, as torch.stft does.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "avts/config.h"

namespace avts {

class LogMel {
 public:
  explicit LogMel(const AudioFrontEndConfig& config);  // FFTW plan made here, once
  ~LogMel();
  LogMel(const LogMel&) = delete;
  LogMel& operator=(const LogMel&) = delete;

  int n_mels() const;

  // Appends the frames completed by these samples to `frames` (n_mels floats each,
  // frame after frame). Returns how many frames were appended.
  size_t push(const float* samples, size_t n, std::vector<float>& frames);

  // Forgets buffered samples; the next sample starts frame 0 again.
  void reset();

  // Triangular mel filters as torchaudio.functional.melscale_fbanks (HTK scale, no norm):
  // (n_fft / 2 + 1) x n_mels, row-major.
  static std::vector<float> mel_filterbank(const AudioFrontEndConfig& config);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace avts
