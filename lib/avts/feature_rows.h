// Rows of features: what the featurizers produce and the sync estimator reads.
#pragma once

#include <cstdint>
#include <vector>

namespace avts {

// `n` consecutive windows: window i starts at pts_ns + i * hop_ns.
struct FeatureRows {
  int64_t pts_ns = 0;
  int64_t hop_ns = 0;
  int n = 0;
  int dim = 0;
  bool discont = false;     // first rows after a start, a gap or a reset
  std::vector<float> data;  // n x dim
};

}  // namespace avts
