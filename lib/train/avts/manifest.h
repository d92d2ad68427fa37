// A training manifest: one media path or URI per line, optionally followed by a split tag
// ("train", "val" / "validation", "auto"). Blank lines and lines starting with '#' are
// ignored, and so is a word starting with '#' and the rest of its line; relative paths are
// taken from the manifest's folder. Paths with spaces must be written as URIs
// (file:///a%20b.mp4), since whitespace separates the columns.
//
// Read by `avts train` and the avtsdatasrc element, which also share the order in which an
// epoch visits the files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "avts/train.h"

namespace avts {

struct ManifestEntry {
  std::string input;  // path or URI
  Split split = Split::Auto;
  int line = 0;  // 1-based, for messages
};

struct Manifest {
  std::vector<ManifestEntry> entries;
  std::vector<std::string> bad_lines;  // "LINE: why", for lines that were not usable
};

// Throws avts::Error when the file cannot be read.
Manifest read_manifest(const std::string& path);

// One rank's share of the entries in a data-parallel run: entry i (in manifest order) goes
// to shard i % num_shards, so the shards are disjoint, cover every entry and differ in size
// by at most one. Throws avts::Error unless 0 <= shard < num_shards.
std::vector<ManifestEntry> manifest_shard(const std::vector<ManifestEntry>& entries, int shard, int num_shards);

// The entries one epoch feeds the trainer, in order: the validation entries first (only
// when `with_validation`: the trainer keeps validation files, so the first epoch of a run
// is enough), then the training and auto-split entries, in manifest order or, with
// `shuffle`, in an order drawn from seed + epoch (so a resumed run sees the same order).
std::vector<ManifestEntry> epoch_order(const std::vector<ManifestEntry>& entries, int epoch, uint64_t seed,
                                       bool shuffle, bool with_validation);

}  // namespace avts
