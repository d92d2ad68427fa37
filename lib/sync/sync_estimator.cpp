// OffsetEstimator: distance curves per video window, context means, reports, summary.
// See avts/sync.h for the method and the sign convention.
#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <string>

#include "avts/error.h"
#include "avts/sync.h"
#include "sync_curve.h"
#include "sync_statistics.h"

namespace avts {

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::min();    // nothing known yet
constexpr int64_t kForever = std::numeric_limits<int64_t>::max();  // the stream ended

std::string ms_text(int64_t ns) {
  std::string s = std::to_string(static_cast<double>(ns) / 1e6);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s + " ms";
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t floor_to(int64_t t, int64_t step) { return floor_div(t, step) * step; }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

struct Row {
  int64_t t;
  std::vector<float> v;
};

struct Curve {
  int64_t t;  // the video window's start
  std::vector<double> d;
};

double distance(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = static_cast<double>(a[i]) - b[i];
    sum += diff * diff;
  }
  return std::sqrt(sum);
}

void check_options(const SyncOptions& o) {
  if (o.max_offset_ns <= 0) throw Error("sync max offset must be positive (got " + ms_text(o.max_offset_ns) + ")");
  if (o.context_ns <= 0) throw Error("sync context must be positive (got " + ms_text(o.context_ns) + ")");
  if (o.interval_ns <= 0) throw Error("sync report interval must be positive (got " + ms_text(o.interval_ns) + ")");
  if (!(o.min_confidence >= 0) || !std::isfinite(o.min_confidence))
    throw Error("sync min confidence must be 0 or more (got " + std::to_string(o.min_confidence) + ")");
  if (!(o.probability_scale > 0) || !std::isfinite(o.probability_scale))
    throw Error("sync probability scale must be positive (got " + std::to_string(o.probability_scale) + ")");
  if (!(o.step_threshold_hops > 0))
    throw Error("sync step threshold must be positive (got " + std::to_string(o.step_threshold_hops) + " hops)");
}

}  // namespace

double sync_probability(double confidence, const SyncOptions& options) {
  return 1.0 / (1.0 + std::exp(-(confidence - options.min_confidence) / options.probability_scale));
}

struct OffsetEstimator::Impl {
  explicit Impl(const SyncOptions& o) : options(o), tracker(o.tolerance, o.hold, o.hysteresis_ms) {}

  SyncOptions options;
  SyncStatusTracker tracker;
  std::optional<OffsetStatistics> stats;  // once the audio hop is known

  int dim = 0;
  int64_t audio_hop = 0;

  // Shifts scored: first_shift + k * audio_hop for k in [0, n_shifts), fixed by the first
  // window judged.
  bool grid_fixed = false;
  int64_t first_shift = 0;
  int n_shifts = 0;

  std::deque<Row> audio;                             // kept while a video window may still need them
  std::deque<Row> video;                             // windows waiting for their audio
  int64_t last_audio = kNever, last_video = kNever;  // start of each stream's latest row
  int64_t audio_end = kNever, video_end = kNever;    // each stream is known up to here
  int64_t advanced = kNever;
  int64_t last_row = kNever;  // latest row start of either stream
  bool audio_ended = false, video_ended = false, finished = false;

  // Reports: the next one covers [cursor, cursor + interval).
  bool started = false;
  int64_t cursor = 0, first_report = 0;

  std::deque<Curve> context;
  std::vector<double> whole;    // sum of every judged curve
  std::vector<int64_t> minima;  // judged windows by the shift of their own minimum
  int64_t judged = 0, skipped = 0;
  int reports = 0, inconclusive = 0;

  int64_t audio_known() const { return audio_ended ? kForever : std::max(audio_end, advanced); }
  int64_t video_known() const { return video_ended ? kForever : std::max(video_end, advanced); }
  int64_t min_shift() const { return grid_fixed ? first_shift : -options.max_offset_ns; }
  int64_t max_shift() const { return grid_fixed ? first_shift + (n_shifts - 1) * audio_hop : options.max_offset_ns; }

  void start_clock(int64_t t) {
    if (started) return;
    started = true;
    cursor = first_report = floor_to(t, options.interval_ns);
  }

  void check_rows(const FeatureRows& rows, const char* stream) {
    if (finished) throw Error("rows pushed after finish(): call reset() to start a new stream");
    if (rows.n < 0 || rows.dim < 1 || rows.data.size() != static_cast<size_t>(rows.n) * rows.dim)
      throw Error(std::string(stream) + " rows: data does not hold n x dim values");
    if (rows.hop_ns <= 0) throw Error(std::string(stream) + " rows: hop must be positive");
    if (dim == 0) dim = rows.dim;
    if (rows.dim != dim)
      throw Error(std::string(stream) + " rows are " + std::to_string(rows.dim) + " wide but earlier rows were " +
                  std::to_string(dim) + " wide: both feature streams must come from the same model and layer");
  }

  void push_audio(const FeatureRows& rows) {
    check_rows(rows, "audio");
    if (audio_hop == 0) {
      if (options.max_offset_ns < 2 * rows.hop_ns)
        throw Error("sync max offset " + ms_text(options.max_offset_ns) + " must be at least two audio hops (" +
                    ms_text(2 * rows.hop_ns) + ")");
      audio_hop = rows.hop_ns;
      stats.emplace(static_cast<double>(options.max_offset_ns) / 1e6 + 1,
                    options.step_threshold_hops * static_cast<double>(audio_hop) / 1e6);
    } else if (rows.hop_ns != audio_hop) {
      throw Error("audio rows changed hop from " + ms_text(audio_hop) + " to " + ms_text(rows.hop_ns) +
                  " within a stream");
    }
    for (int i = 0; i < rows.n; ++i) {
      const int64_t t = rows.pts_ns + i * rows.hop_ns;
      if (last_audio != kNever && t <= last_audio) continue;  // back in time
      start_clock(t);
      audio.push_back(Row{t, std::vector<float>(rows.data.begin() + static_cast<size_t>(i) * dim,
                                                rows.data.begin() + static_cast<size_t>(i + 1) * dim)});
      last_audio = t;
      audio_end = std::max(audio_end, t + rows.hop_ns);
      last_row = std::max(last_row, t);
    }
  }

  void push_video(const FeatureRows& rows) {
    check_rows(rows, "video");
    for (int i = 0; i < rows.n; ++i) {
      const int64_t t = rows.pts_ns + i * rows.hop_ns;
      if (last_video != kNever && t <= last_video) continue;  // back in time
      if (started && t < cursor) continue;                    // its interval is reported
      start_clock(t);
      video.push_back(Row{t, std::vector<float>(rows.data.begin() + static_cast<size_t>(i) * dim,
                                                rows.data.begin() + static_cast<size_t>(i + 1) * dim)});
      last_video = t;
      video_end = std::max(video_end, t + rows.hop_ns);
      last_row = std::max(last_row, t);
    }
  }

  // Puts the shifts on the audio rows' grid as seen from a video window at t.
  void fix_grid(int64_t t) {
    int64_t phase = (audio.front().t - t) % audio_hop;
    if (phase < 0) phase += audio_hop;
    if (2 * phase > audio_hop) phase -= audio_hop;
    const int64_t k_lo = ceil_div(-options.max_offset_ns - phase, audio_hop);
    const int64_t k_hi = floor_div(options.max_offset_ns - phase, audio_hop);
    first_shift = phase + k_lo * audio_hop;
    n_shifts = static_cast<int>(k_hi - k_lo + 1);
    grid_fixed = true;
  }

  // The distance curve of one video window; false when some shift has no audio.
  bool judge(const Row& v, std::vector<double>& curve) {
    if (audio.empty()) return false;
    if (!grid_fixed) fix_grid(v.t);
    curve.assign(n_shifts, 0.0);
    auto it = audio.begin();
    for (int k = 0; k < n_shifts; ++k) {
      const int64_t tau = v.t + first_shift + k * audio_hop;
      it = std::lower_bound(it, audio.end(), tau, [](const Row& r, int64_t t) { return r.t < t; });
      if (it != audio.end() && it->t == tau) {
        curve[k] = distance(v.v, it->v);
        continue;
      }
      // Off the audio grid: interpolate between two adjacent rows, never across a gap.
      if (it == audio.begin() || it == audio.end()) return false;
      const Row& before = *(it - 1);
      if (it->t - before.t != audio_hop) return false;
      const double w = static_cast<double>(tau - before.t) / static_cast<double>(audio_hop);
      curve[k] = (1 - w) * distance(v.v, before.v) + w * distance(v.v, it->v);
    }
    return true;
  }

  // The latest audio row that the window at t may need: the one at its largest shift, or
  // the next row after it when that shift falls between rows (interpolation).
  int64_t last_row_needed(int64_t t) const {
    const int64_t tau = t + max_shift();
    if (last_audio == kNever) return tau;
    int64_t off_grid = (tau - last_audio) % audio_hop;
    if (off_grid < 0) off_grid += audio_hop;
    return off_grid == 0 ? tau : tau + audio_hop - off_grid;
  }

  void decide_windows() {
    while (!video.empty() && last_row_needed(video.front().t) < audio_known()) {
      Curve c{video.front().t, {}};
      if (judge(video.front(), c.d)) {
        if (whole.empty()) whole.assign(n_shifts, 0.0);
        for (int k = 0; k < n_shifts; ++k) whole[k] += c.d[k];
        if (minima.empty()) minima.assign(n_shifts, 0);
        ++minima[std::min_element(c.d.begin(), c.d.end()) - c.d.begin()];
        ++judged;
        context.push_back(std::move(c));
      } else {
        ++skipped;
      }
      video.pop_front();
    }
  }

  void drop_unneeded_audio() {
    const int64_t needed_from = video.empty() ? video_known() : video.front().t;
    if (needed_from == kNever) return;
    if (needed_from == kForever) {
      audio.clear();
      return;
    }
    const int64_t cutoff = needed_from + min_shift() - audio_hop;
    while (!audio.empty() && audio.front().t < cutoff) audio.pop_front();
  }

  // Reports are made up to here (plus the conditions in emit_reports()).
  int64_t horizon() const {
    if (audio_ended && video_ended)  // the report holding the last row, then stop
      return last_row == kNever ? cursor : floor_to(last_row, options.interval_ns) + options.interval_ns;
    return std::max(last_row, advanced);
  }

  void fill_estimate(const std::vector<double>& mean, double& offset_ms, double& confidence, double& probability,
                     bool& out_of_range) const {
    const CurveReading r = read_curve(mean, first_shift, audio_hop);
    offset_ms = -r.shift_ns / 1e6;
    confidence = r.confidence;
    probability = sync_probability(r.confidence, options);
    out_of_range = r.out_of_range;
  }

  SyncReport make_report(int64_t end) {
    SyncReport r;
    r.start_ns = end - options.interval_ns;
    r.duration_ns = options.interval_ns;
    std::vector<double> mean(n_shifts, 0.0);
    for (const Curve& c : context) {
      if (c.t < end - options.context_ns || c.t >= end) continue;
      for (int k = 0; k < n_shifts; ++k) mean[k] += c.d[k];
      ++r.windows;
    }
    if (r.windows > 0) {
      for (double& d : mean) d /= r.windows;
      fill_estimate(mean, r.offset_ms, r.confidence, r.probability, r.out_of_range);
      if (r.confidence >= options.min_confidence) {
        r.status = tracker.update(r.offset_ms, r.out_of_range);
        if (!r.out_of_range) stats->add(r.start_ns, r.offset_ms);
      }
    }
    ++reports;
    if (r.status == SyncStatus::Inconclusive) ++inconclusive;
    // The next report looks back from end + interval.
    while (!context.empty() && context.front().t < end + options.interval_ns - options.context_ns) context.pop_front();
    return r;
  }

  void emit_reports(std::vector<SyncReport>& out) {
    while (started) {
      const int64_t end = cursor + options.interval_ns;
      if (end > horizon() || video_known() < end) break;
      if (!video.empty() && video.front().t < end) break;  // a window of it waits for audio
      out.push_back(make_report(end));
      cursor = end;
    }
  }

  void process(std::vector<SyncReport>& out) {
    decide_windows();
    drop_unneeded_audio();
    emit_reports(out);
  }

  SyncSummary summary() const {
    SyncSummary s;
    s.start_ns = first_report;
    s.duration_ns = started ? cursor - first_report : 0;
    if (judged > 0) {
      std::vector<double> mean = whole;
      for (double& d : mean) d /= static_cast<double>(judged);
      fill_estimate(mean, s.offset_ms, s.confidence, s.probability, s.out_of_range);
      s.curve = std::move(mean);
      s.window_minima = minima;
      s.curve_first_offset_ms = -static_cast<double>(first_shift) / 1e6;
      s.curve_hop_ms = static_cast<double>(audio_hop) / 1e6;
    }
    if (stats) {
      s.spread_ms = stats->spread_ms();
      s.drift_ms_per_min = stats->drift_ms_per_min();
      s.steps = stats->steps();
    }
    s.windows = judged;
    s.windows_skipped = skipped;
    s.reports = reports;
    s.inconclusive_reports = inconclusive;
    s.inconclusive_share = reports ? static_cast<double>(inconclusive) / reports : 0.0;
    if (judged == 0 || s.confidence < options.min_confidence)
      s.status = SyncStatus::Inconclusive;
    else if (s.out_of_range || !options.tolerance.contains(s.offset_ms))
      s.status = SyncStatus::Fail;
    else
      s.status = tracker.ever_failed() ? SyncStatus::Warn : SyncStatus::Ok;
    return s;
  }
};

OffsetEstimator::OffsetEstimator(const SyncOptions& options) {
  check_options(options);
  impl_ = std::make_unique<Impl>(options);
}

void OffsetEstimator::set_min_confidence(double min_confidence) {
  SyncOptions o = impl_->options;
  o.min_confidence = min_confidence;
  check_options(o);
  impl_->options.min_confidence = min_confidence;
}

OffsetEstimator::~OffsetEstimator() = default;

const SyncOptions& OffsetEstimator::options() const { return impl_->options; }

void OffsetEstimator::push_audio(const FeatureRows& rows, std::vector<SyncReport>& out) {
  impl_->push_audio(rows);
  impl_->process(out);
}

void OffsetEstimator::push_video(const FeatureRows& rows, std::vector<SyncReport>& out) {
  impl_->push_video(rows);
  impl_->process(out);
}

void OffsetEstimator::advance(int64_t until_ns, std::vector<SyncReport>& out) {
  Impl& s = *impl_;
  if (s.finished) return;
  // A live monitor reports from its first deadline on, even before any data.
  s.start_clock(until_ns - s.options.max_offset_ns - s.options.interval_ns);
  s.advanced = std::max(s.advanced, until_ns);
  s.process(out);
}

void OffsetEstimator::end_audio(std::vector<SyncReport>& out) {
  impl_->audio_ended = true;
  impl_->process(out);
}

void OffsetEstimator::end_video(std::vector<SyncReport>& out) {
  impl_->video_ended = true;
  impl_->process(out);
}

SyncSummary OffsetEstimator::finish(std::vector<SyncReport>& out) {
  Impl& s = *impl_;
  if (!s.finished) {
    s.audio_ended = s.video_ended = true;
    s.process(out);
    s.finished = true;
  }
  return s.summary();
}

void OffsetEstimator::reset() { impl_ = std::make_unique<Impl>(impl_->options); }

std::optional<int64_t> OffsetEstimator::next_report_start() const {
  if (!impl_->started) return std::nullopt;
  return impl_->cursor;
}

size_t OffsetEstimator::buffered_rows() const { return impl_->audio.size() + impl_->video.size(); }

}  // namespace avts
