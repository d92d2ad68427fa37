// A training manifest: one media path or URI per line, optionally followed by a split tag
// ("train", "val" / "validation", "auto"). Blank lines and lines starting with '#' are
// ignored; relative paths are taken from the manifest's folder. Paths with spaces must be
// written as URIs (file:///a%20b.mp4), since whitespace separates the columns.
#pragma once

#include <string>
#include <vector>

#include "avts/train.h"

namespace avts {

struct ManifestEntry {
  std::string input;  // path or URI
  Split split = Split::Auto;
  int line = 0;       // 1-based, for messages
};

struct Manifest {
  std::vector<ManifestEntry> entries;
  std::vector<std::string> bad_lines;  // "LINE: why", for lines that were not usable
};

// Throws avts::Error when the file cannot be read.
Manifest read_manifest(const std::string& path);

}  // namespace avts
