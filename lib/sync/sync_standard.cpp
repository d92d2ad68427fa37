// Broadcast tolerance windows and the hysteresis of the sync status.
#include "avts/sync_standard.h"

#include <cmath>

#include "avts/error.h"

namespace avts {

namespace {

struct StandardEntry {
  SyncStandard standard;
  const char* name;
  double early_ms, late_ms;
};

// Audio early / audio late limits in ms, as the documents state them.
constexpr StandardEntry kStandards[] = {
    {SyncStandard::EbuR37, "ebu-r37", 40, 60},
    {SyncStandard::ItuBt1359, "itu-bt1359", 45, 125},
    {SyncStandard::ItuBt1359Accept, "itu-bt1359-accept", 90, 185},
    {SyncStandard::AtscIs191, "atsc-is191", 15, 45},
    {SyncStandard::Custom, "custom", 0, 0},
};

const StandardEntry& entry(SyncStandard standard) {
  for (const StandardEntry& e : kStandards)
    if (e.standard == standard) return e;
  throw Error("unknown sync standard");
}

}  // namespace

const char* sync_standard_name(SyncStandard standard) { return entry(standard).name; }

SyncStandard sync_standard_from_name(const std::string& name) {
  std::string known;
  for (const StandardEntry& e : kStandards) {
    if (name == e.name) return e.standard;
    known += known.empty() ? "" : ", ";
    known += e.name;
  }
  throw Error("unknown sync standard '" + name + "' (known: " + known + ")");
}

std::vector<SyncStandard> sync_standards() {
  std::vector<SyncStandard> all;
  for (const StandardEntry& e : kStandards) all.push_back(e.standard);
  return all;
}

SyncTolerance SyncTolerance::of(SyncStandard standard) {
  if (standard == SyncStandard::Custom)
    throw Error("the custom standard has no fixed bounds: give them with SyncTolerance::custom()");
  const StandardEntry& e = entry(standard);
  return SyncTolerance{standard, e.early_ms, e.late_ms};
}

SyncTolerance SyncTolerance::custom(double early_ms, double late_ms) {
  if (!std::isfinite(early_ms) || !std::isfinite(late_ms) || early_ms < 0 || late_ms < 0)
    throw Error("custom sync tolerance needs bounds of 0 ms or more (got audio early " + std::to_string(early_ms) +
                " ms, audio late " + std::to_string(late_ms) + " ms)");
  return SyncTolerance{SyncStandard::Custom, early_ms, late_ms};
}

bool SyncTolerance::contains(double offset_ms, double margin_ms) const {
  return offset_ms <= early_ms - margin_ms && offset_ms >= -(late_ms - margin_ms);
}

const char* sync_status_name(SyncStatus status) {
  switch (status) {
    case SyncStatus::Ok:
      return "ok";
    case SyncStatus::Warn:
      return "warn";
    case SyncStatus::Fail:
      return "fail";
    case SyncStatus::Inconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

SyncStatusTracker::SyncStatusTracker(const SyncTolerance& tolerance, int hold, double hysteresis_ms)
    : tolerance_(tolerance), hold_(hold), hysteresis_ms_(hysteresis_ms) {
  if (hold < 1) throw Error("sync status hold must be at least 1 report (got " + std::to_string(hold) + ")");
  if (!(hysteresis_ms >= 0))
    throw Error("sync status hysteresis must be 0 ms or more (got " + std::to_string(hysteresis_ms) + ")");
}

SyncStatus SyncStatusTracker::update(double offset_ms, bool out_of_range) {
  const bool outside = out_of_range || !tolerance_.contains(offset_ms);
  if (outside) {
    inside_run_ = 0;
    ++outside_run_;
    if (outside_run_ >= hold_)
      status_ = SyncStatus::Fail;
    else if (status_ == SyncStatus::Ok)
      status_ = SyncStatus::Warn;
  } else {
    outside_run_ = 0;
    if (status_ != SyncStatus::Ok) {
      // Leaving warn / fail needs a clear margin, so that an offset sitting on a bound
      // does not flap between states.
      if (tolerance_.contains(offset_ms, hysteresis_ms_)) {
        if (++inside_run_ >= hold_) {
          status_ = SyncStatus::Ok;
          inside_run_ = 0;
        }
      } else {
        inside_run_ = 0;
      }
    }
  }
  ever_failed_ |= status_ == SyncStatus::Fail;
  return status_;
}

void SyncStatusTracker::reset() {
  status_ = SyncStatus::Ok;
  outside_run_ = inside_run_ = 0;
  ever_failed_ = false;
}

}  // namespace avts
