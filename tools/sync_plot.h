// The picture of a sync report: offset over time with the tolerance band shaded, and the
// confidence below it. Drawn with cairo into a PNG.
#pragma once

#include <string>
#include <vector>

namespace avts {

struct SyncPoint {
  double time_s = 0;     // report timestamp
  double offset_ms = 0;  // positive = audio early
  double confidence = 0;
  bool inconclusive = false;
  bool out_of_range = false;
};

struct SyncPlotInfo {
  std::string title;               // e.g. the file name
  std::string standard;            // e.g. "ebu-r37"
  double tolerance_early_ms = 40;  // audio may lead by this much
  double tolerance_late_ms = 60;   // audio may lag by this much
  double max_offset_ms = 600;      // the searched range
  double min_confidence = 0;
  bool has_global = false;
  double global_offset_ms = 0;
};

// Throws avts::Error when the file cannot be written.
void write_sync_plot(const std::string& png_path, const std::vector<SyncPoint>& points, const SyncPlotInfo& info);

}  // namespace avts
