// Log-mel spectrograms of many signals at once: a kernel cuts and windows the frames into
// n_fft-long rows, one batched cuFFT real-to-complex transform, a kernel sums the power
// spectrum into the mel bands and takes the log. The same frames, window, filters and
// log offset as LogMel (lib/frontend/logmel.cpp), in single precision: the quiet bands of a frame
// differ by about 1e-4 in log from LogMel's double precision, as torchaudio's do.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "avts/error.h"
#include "avts/gpu.h"
#include "avts/logmel.h"
#include "check.h"

namespace avts::gpu {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Frame k of signal b into row b * frames + k: the window's samples in the middle of the
// row, zeros around them (as torch.stft pads the window to n_fft).
__global__ void cut_frames(const float* signals, size_t signal_step, int frames, int hop, const float* window, int win,
                           int offset, int n_fft, float* rows) {
  const int row = blockIdx.x;
  const float* frame = signals + (row / frames) * signal_step + static_cast<size_t>(row % frames) * hop;
  for (int i = threadIdx.x; i < n_fft; i += blockDim.x) {
    const int j = i - offset;
    rows[static_cast<size_t>(row) * n_fft + i] = (j >= 0 && j < win) ? frame[j] * window[j] : 0.0f;
  }
}

// One block per frame: its power spectrum into shared memory, then one thread per band.
// Band m reads bins [first[m], first[m] + count[m]) with weights from offset[m].
__global__ void mel_log(const cufftComplex* spectra, int n_freqs, int frames, const int* first, const int* count,
                        const int* offset, const float* weights, int n_mels, float log_offset, float* out) {
  extern __shared__ float power[];
  const int row = blockIdx.x;
  const cufftComplex* s = spectra + static_cast<size_t>(row) * n_freqs;
  for (int k = threadIdx.x; k < n_freqs; k += blockDim.x) power[k] = s[k].x * s[k].x + s[k].y * s[k].y;
  __syncthreads();
  const int b = row / frames, t = row % frames;
  for (int m = threadIdx.x; m < n_mels; m += blockDim.x) {
    const float* p = power + first[m];
    const float* w = weights + offset[m];
    float sum = 0.0f;
    for (int j = 0; j < count[m]; ++j) sum += p[j] * w[j];
    out[(static_cast<size_t>(b) * n_mels + m) * frames + t] = logf(sum + log_offset);
  }
}

}  // namespace

struct LogMelBatch::Impl {
  AudioFrontEndConfig config;
  int n_freqs = 0;
  Buffer window;   // win_length floats
  Buffer filters;  // ints first, count, offset (n_mels each), then the nonzero weights
  const int *first = nullptr, *count = nullptr, *offset = nullptr;
  const float* weights = nullptr;

  cufftHandle plan = 0;
  int plan_rows = 0;  // rows the plan transforms at once
  Buffer rows;        // plan_rows x n_fft floats
  Buffer spectra;     // plan_rows x n_freqs complex

  ~Impl() {
    if (plan_rows > 0) cufftDestroy(plan);
  }

  // A plan and work space for at least `n` rows. A smaller batch reuses the plan (the rows
  // beyond it are transformed and ignored) unless it needs less than half of it.
  void make_plan(int n) {
    if (n <= plan_rows && 2 * n >= plan_rows) return;
    if (plan_rows > 0) {
      check(cudaDeviceSynchronize(), "waiting for the previous transform");
      cufftDestroy(plan);
      plan_rows = 0;
    }
    int n_fft = config.n_fft;
    check(cufftPlanMany(&plan, 1, &n_fft, nullptr, 1, n_fft, nullptr, 1, n_freqs, CUFFT_R2C, n), "cufftPlanMany");
    plan_rows = n;
    rows = Buffer(Buffer::Kind::Device, static_cast<size_t>(n) * config.n_fft * sizeof(float));
    spectra = Buffer(Buffer::Kind::Device, static_cast<size_t>(n) * n_freqs * sizeof(cufftComplex));
  }
};

LogMelBatch::LogMelBatch(const AudioFrontEndConfig& config) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  const std::vector<float> fb = LogMel::mel_filterbank(config);  // validates the config
  s.config = config;
  s.n_freqs = config.n_fft / 2 + 1;
  if (s.n_freqs * sizeof(float) > 48 * 1024)  // one frame's power spectrum in shared memory
    throw Error("log-mel front end on the GPU: n_fft " + std::to_string(config.n_fft) + " is above the limit of 24574");

  std::vector<float> window(config.win_length);
  for (int i = 0; i < config.win_length; ++i)
    window[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * kPi * i / config.win_length));
  s.window = Buffer(Buffer::Kind::Device, window.size() * sizeof(float));
  s.window.upload(window.data(), window.size() * sizeof(float));

  // Each band's run of nonzero weights, as LogMel keeps them (an empty band sums nothing).
  const int n_mels = config.n_mels;
  std::vector<int> ints(3 * static_cast<size_t>(n_mels), 0);
  std::vector<float> weights;
  for (int m = 0; m < n_mels; ++m) {
    int lo = s.n_freqs, hi = -1;
    for (int k = 0; k < s.n_freqs; ++k)
      if (fb[static_cast<size_t>(k) * n_mels + m] > 0.0f) {
        lo = std::min(lo, k);
        hi = k;
      }
    ints[2 * n_mels + m] = static_cast<int>(weights.size());
    if (hi < 0) continue;
    ints[m] = lo;
    ints[n_mels + m] = hi - lo + 1;
    for (int k = lo; k <= hi; ++k) weights.push_back(fb[static_cast<size_t>(k) * n_mels + m]);
  }
  const size_t int_bytes = ints.size() * sizeof(int);
  s.filters = Buffer(Buffer::Kind::Device, int_bytes + weights.size() * sizeof(float));
  s.filters.upload(ints.data(), int_bytes);
  s.filters.upload(weights.data(), weights.size() * sizeof(float), int_bytes);
  s.first = s.filters.as<int>();
  s.count = s.first + n_mels;
  s.offset = s.first + 2 * n_mels;
  s.weights = reinterpret_cast<const float*>(s.filters.as<char>() + int_bytes);
}

LogMelBatch::~LogMelBatch() = default;

int LogMelBatch::n_mels() const { return impl_->config.n_mels; }

int LogMelBatch::frames(int samples) const {
  const AudioFrontEndConfig& c = impl_->config;
  return samples >= c.win_length ? (samples - c.win_length) / c.hop_length + 1 : 0;
}

void LogMelBatch::run(const float* signals, int count, int samples, size_t signal_step, float* out, void* stream) {
  Impl& s = *impl_;
  const AudioFrontEndConfig& c = s.config;
  const int frames = this->frames(samples);
  if (count <= 0 || frames == 0) return;
  const int n = count * frames;
  s.make_plan(n);
  const cudaStream_t st = as_stream(stream);
  cut_frames<<<n, 256, 0, st>>>(signals, signal_step, frames, c.hop_length, s.window.as<float>(), c.win_length,
                                (c.n_fft - c.win_length) / 2, c.n_fft, s.rows.as<float>());
  check_launch("cut_frames");
  check(cufftSetStream(s.plan, st), "cufftSetStream");
  check(cufftExecR2C(s.plan, s.rows.as<cufftReal>(), s.spectra.as<cufftComplex>()), "cufftExecR2C");
  mel_log<<<n, 64, s.n_freqs * sizeof(float), st>>>(s.spectra.as<cufftComplex>(), s.n_freqs, frames, s.first, s.count,
                                                    s.offset, s.weights, c.n_mels, static_cast<float>(c.log_offset),
                                                    out);
  check_launch("mel_log");
}

}  // namespace avts::gpu
