#include "sync_curve.h"

#include <algorithm>
#include <cstdlib>

#include "avts/error.h"

namespace avts {

namespace {

double median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  if (v.size() % 2) return v[mid];
  const double upper = v[mid];
  return 0.5 * (upper + *std::max_element(v.begin(), v.begin() + mid));
}

}  // namespace

CurveReading read_curve(const std::vector<double>& curve, int64_t first_shift_ns, int64_t hop_ns) {
  if (curve.size() < 3) throw Error("a distance curve needs at least 3 shifts");
  const auto shift_of = [&](size_t i) { return first_shift_ns + static_cast<int64_t>(i) * hop_ns; };

  CurveReading r;
  for (size_t i = 1; i < curve.size(); ++i) {
    const bool lower = curve[i] < curve[r.argmin];
    const bool tie_nearer = curve[i] == curve[r.argmin] && std::llabs(shift_of(i)) < std::llabs(shift_of(r.argmin));
    if (lower || tie_nearer) r.argmin = i;
  }
  r.confidence = median(curve) - curve[r.argmin];
  r.out_of_range = r.argmin == 0 || r.argmin == curve.size() - 1;
  r.shift_ns = static_cast<double>(shift_of(r.argmin));
  if (!r.out_of_range) {
    const double before = curve[r.argmin - 1] * curve[r.argmin - 1];
    const double at = curve[r.argmin] * curve[r.argmin];
    const double after = curve[r.argmin + 1] * curve[r.argmin + 1];
    const double curvature = before - 2 * at + after;
    if (curvature > 0) {
      const double delta = std::clamp(0.5 * (before - after) / curvature, -0.5, 0.5);
      r.shift_ns += delta * static_cast<double>(hop_ns);
    }
  }
  return r;
}

}  // namespace avts
