// The labelled clips of a linear-probe evaluation.
//
// A probe manifest has one clip per line:  PATH-OR-URI  LABEL  [FOLD]
// Columns are separated by whitespace (paths with spaces must be written as URIs); blank
// lines and lines starting with '#' are ignored, and a word starting with '#' ends a line.
// FOLD is a positive integer, given on every line or on none. Relative paths are taken from
// the media root when one is given, else from the manifest's folder.
//
// The ESC-50 layout (github.com/karolpiczak/ESC-50): DIR/meta/esc50.csv with the columns
// filename, fold, target, category, ... and the clips in DIR/audio/.
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace avts {

struct LabelledClip {
  std::string input;  // path or URI
  std::string label;
  int fold = 0;  // 0: none given
  int line = 0;  // 1-based, for messages
};

// `name` is the manifest's name in messages; `root` resolves relative paths (empty: keep
// them as they are). Throws avts::Error naming the line of the first malformed line, or
// when there are no clips.
std::vector<LabelledClip> parse_probe_manifest(std::istream& in, const std::string& name, const std::string& root);

// Reads a manifest file; `root` empty means the manifest's own folder.
std::vector<LabelledClip> read_probe_manifest(const std::string& path, const std::string& root);

// Reads DIR/meta/esc50.csv: label = category, fold = the official fold (1..5).
std::vector<LabelledClip> read_esc50(const std::string& dir);

}  // namespace avts
