// Reading one distance curve over shifts: its minimum, refined below one hop, and the
// confidence of that minimum. Internal to lib/ (used by the offset estimator).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace avts {

struct CurveReading {
  size_t argmin = 0;
  double shift_ns = 0;        // shift of the minimum, refined; the edge shift when out of range
  double confidence = 0;      // median(curve) - min(curve)
  bool out_of_range = false;  // the minimum is the first or the last point
};

// curve[i] is the distance at shift first_shift_ns + i * hop_ns (at least 3 points).
// Among equal minima the one nearest to shift 0 wins, so a flat curve reads as shift 0.
// The refinement fits a parabola through the SQUARED distances at the minimum and its two
// neighbours: near the true shift, d^2 = noise^2 + (rate * (s - s0))^2 is quadratic in s
// for a smooth embedding path, where d itself is V-shaped and would bias the vertex.
CurveReading read_curve(const std::vector<double>& curve, int64_t first_shift_ns, int64_t hop_ns);

}  // namespace avts
