// Synthetic embedding streams with a known A/V offset, for the sync tests (lib and element).
//
// The content is a smooth random path e(t) of unit vectors (Gaussian-smoothed white noise,
// so nearby times have similar embeddings and far ones are unrelated). The video row at t
// is e(t) plus noise; the audio row at tau is e(tau + d(tau)): audio EARLY by d (the sound
// of video time t is stamped t - d), which the estimator must report as offset +d.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "avts/feature_rows.h"

namespace avts_sync_test {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;

using Row = std::vector<float>;
using RowAt = std::function<std::optional<Row>(int64_t t_ns)>;  // nullopt: no row (a gap)

class Path {
 public:
  explicit Path(int dim = 64, uint64_t seed = 1, double sigma_ms = 50) : dim_(dim), seed_(seed), sigma_(sigma_ms) {}

  int dim() const { return dim_; }

  Row at(double t_ms) const {
    std::vector<double> sum(dim_, 0.0);
    const long first = std::lround(std::floor((t_ms - 4 * sigma_) / kKnotMs));
    const long last = std::lround(std::ceil((t_ms + 4 * sigma_) / kKnotMs));
    for (long j = first; j <= last; ++j) {
      const double x = (t_ms - j * kKnotMs) / sigma_;
      const double w = std::exp(-0.5 * x * x);
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(j) * 0xBF58476D1CE4E5B9ull);
      std::normal_distribution<double> g(0.0, 1.0);
      for (int i = 0; i < dim_; ++i) sum[i] += w * g(rng);
    }
    return normalised(sum);
  }

  static Row normalised(const std::vector<double>& v) {
    double n = 0;
    for (double x : v) n += x * x;
    n = std::sqrt(n);
    Row r(v.size());
    for (size_t i = 0; i < v.size(); ++i) r[i] = static_cast<float>(v[i] / n);
    return r;
  }

 private:
  static constexpr double kKnotMs = 20;
  int dim_;
  uint64_t seed_;
  double sigma_;
};

// Audio rows of `path`, early by audio_early_ms(tau) (positive = audio early).
inline RowAt audio_of(const Path& path, std::function<double(double)> audio_early_ms) {
  return [path, audio_early_ms](int64_t t) -> std::optional<Row> {
    const double ms = static_cast<double>(t) / kMs;
    return path.at(ms + audio_early_ms(ms));
  };
}

inline RowAt audio_of(const Path& path, double audio_early_ms) {
  return audio_of(path, [audio_early_ms](double) { return audio_early_ms; });
}

// Video rows of `path` with noise of about `noise` in norm (before renormalisation).
inline RowAt video_of(const Path& path, double noise = 0.3, uint64_t seed = 99) {
  return [path, noise, seed](int64_t t) -> std::optional<Row> {
    const Row clean = path.at(static_cast<double>(t) / kMs);
    std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
    std::normal_distribution<double> g(0.0, noise / std::sqrt(static_cast<double>(clean.size())));
    std::vector<double> v(clean.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = clean[i] + g(rng);
    return Path::normalised(v);
  };
}

// Rows at from, from + hop, ... (< to), `per_buffer` to a FeatureRows; a missing row ends
// a buffer, the next one after it is marked discont.
inline std::vector<avts::FeatureRows> rows_between(int64_t from, int64_t to, int64_t hop, int per_buffer,
                                                   const RowAt& row_at) {
  std::vector<avts::FeatureRows> out;
  avts::FeatureRows cur;
  bool discont = true;
  const auto close = [&] {
    if (cur.n > 0) out.push_back(cur);
    cur = avts::FeatureRows();
  };
  for (int64_t t = from; t < to; t += hop) {
    const std::optional<Row> r = row_at(t);
    if (!r) {
      close();
      discont = true;
      continue;
    }
    if (cur.n == 0) {
      cur.pts_ns = t;
      cur.hop_ns = hop;
      cur.dim = static_cast<int>(r->size());
      cur.discont = discont;
      discont = false;
    }
    cur.data.insert(cur.data.end(), r->begin(), r->end());
    if (++cur.n == per_buffer) close();
  }
  close();
  return out;
}

// Rows of `row_at`, except in [gap_from, gap_to).
inline RowAt with_gap(RowAt row_at, int64_t gap_from, int64_t gap_to) {
  return [row_at, gap_from, gap_to](int64_t t) -> std::optional<Row> {
    if (t >= gap_from && t < gap_to) return std::nullopt;
    return row_at(t);
  };
}

// Buffers of both streams in the order a time-ordered merge delivers them (audio first on
// equal times): calls on_audio / on_video for each.
inline void interleave(const std::vector<avts::FeatureRows>& audio, const std::vector<avts::FeatureRows>& video,
                       const std::function<void(const avts::FeatureRows&)>& on_audio,
                       const std::function<void(const avts::FeatureRows&)>& on_video) {
  size_t a = 0, v = 0;
  while (a < audio.size() || v < video.size()) {
    if (v == video.size() || (a < audio.size() && audio[a].pts_ns <= video[v].pts_ns))
      on_audio(audio[a++]);
    else
      on_video(video[v++]);
  }
}

}  // namespace avts_sync_test
