// Broadcast A/V-sync tolerances and the ok / warn / fail status kept with hysteresis.
//
// Offsets follow the avts sign: POSITIVE = AUDIO EARLY (audio leads video), negative =
// audio late. A tolerance says how far audio may lead and how far it may lag, both as
// positive numbers of milliseconds.
#pragma once

#include <string>
#include <vector>

namespace avts {

enum class SyncStandard {
  EbuR37,           // EBU R37: audio at most 40 ms early, 60 ms late
  ItuBt1359,        // ITU-R BT.1359 detectability: 45 ms early, 125 ms late
  ItuBt1359Accept,  // ITU-R BT.1359 acceptability: 90 ms early, 185 ms late
  AtscIs191,        // ATSC IS-191: 15 ms early, 45 ms late
  Custom,           // bounds chosen by the user
};

// "ebu-r37", "itu-bt1359", "itu-bt1359-accept", "atsc-is191", "custom".
const char* sync_standard_name(SyncStandard standard);
// Throws avts::Error listing the known names.
SyncStandard sync_standard_from_name(const std::string& name);
std::vector<SyncStandard> sync_standards();  // every value, in the order above

struct SyncTolerance {
  SyncStandard standard = SyncStandard::EbuR37;
  double early_ms = 40;  // audio may lead video by up to this
  double late_ms = 60;   // audio may lag video by up to this

  // The window of a published standard. Throws avts::Error for Custom (use custom()).
  static SyncTolerance of(SyncStandard standard);
  // Throws avts::Error when a bound is negative or not finite.
  static SyncTolerance custom(double early_ms, double late_ms);

  // -late_ms + margin_ms <= offset_ms <= early_ms - margin_ms (bounds included).
  bool contains(double offset_ms, double margin_ms = 0) const;
};

enum class SyncStatus { Ok, Warn, Fail, Inconclusive };

const char* sync_status_name(SyncStatus status);  // "ok", "warn", "fail", "inconclusive"

// The status of a stream from its confident estimates, with hysteresis:
//  - ok while every estimate is within the tolerance;
//  - the first estimate outside (or out of range) -> warn;
//  - `hold` consecutive estimates outside -> fail (hold = 1: fail at once);
//  - from warn or fail, back to ok after `hold` consecutive estimates inside the tolerance
//    shrunk by `hysteresis_ms` on both sides; estimates between the shrunk and the full
//    bounds keep the current state.
// Inconclusive estimates are not given to the tracker: they do not move the state.
class SyncStatusTracker {
 public:
  // Throws avts::Error when hold < 1 or hysteresis_ms is negative.
  explicit SyncStatusTracker(const SyncTolerance& tolerance, int hold = 3, double hysteresis_ms = 10);

  // One confident estimate; returns the new status (ok, warn or fail).
  SyncStatus update(double offset_ms, bool out_of_range);
  SyncStatus status() const { return status_; }  // ok before the first estimate
  bool ever_failed() const { return ever_failed_; }
  const SyncTolerance& tolerance() const { return tolerance_; }
  void reset();

 private:
  SyncTolerance tolerance_;
  int hold_;
  double hysteresis_ms_;
  SyncStatus status_ = SyncStatus::Ok;
  int outside_run_ = 0;  // consecutive estimates outside the tolerance
  int inside_run_ = 0;   // consecutive estimates inside the shrunk tolerance
  bool ever_failed_ = false;
};

}  // namespace avts
