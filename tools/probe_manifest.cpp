#include "probe_manifest.h"

#include <glib.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "avts/error.h"

namespace avts {

namespace {

std::string resolve(const std::string& input, const std::string& root) {
  if (root.empty() || g_uri_peek_scheme(input.c_str()) || g_path_is_absolute(input.c_str())) return input;
  gchar* joined = g_build_filename(root.c_str(), input.c_str(), nullptr);
  std::string out(joined);
  g_free(joined);
  return out;
}

// A positive integer, or 0 when `text` is not one.
int parse_fold(const std::string& text) {
  const auto digit = [](unsigned char c) { return std::isdigit(c) != 0; };
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), digit)) return 0;
  return std::stoi(text);
}

std::string dirname(const std::string& path) {
  gchar* dir = g_path_get_dirname(path.c_str());
  std::string out(dir);
  g_free(dir);
  return out;
}

std::ifstream open(const std::string& path, const char* what) {
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR)) throw Error(std::string(what) + " '" + path + "' is a directory");
  std::ifstream in(path);
  if (!in) throw Error(std::string("cannot read ") + what + " '" + path + "': no such file or not readable");
  return in;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string field; std::getline(in, field, sep);) out.push_back(field);
  return out;
}

}  // namespace

std::vector<LabelledClip> parse_probe_manifest(std::istream& in, const std::string& name, const std::string& root) {
  std::vector<LabelledClip> clips;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    const auto fail = [&](const std::string& why) { throw Error(name + ":" + std::to_string(line) + ": " + why); };
    std::istringstream columns(text);
    std::vector<std::string> words;
    for (std::string w; columns >> w && w[0] != '#';) words.push_back(w);
    if (words.empty()) continue;
    if (words.size() < 2) fail("expected 'PATH LABEL [FOLD]', got only '" + words[0] + "' (no label)");
    if (words.size() > 3)
      fail("expected 'PATH LABEL [FOLD]', got " + std::to_string(words.size()) +
           " columns (write paths with spaces as URIs)");
    LabelledClip clip{resolve(words[0], root), words[1], 0, line};
    if (words.size() == 3 && !(clip.fold = parse_fold(words[2])))
      fail("fold '" + words[2] + "' is not a positive integer");
    if (!clips.empty() && (clip.fold > 0) != (clips.front().fold > 0))
      fail(std::string(clip.fold > 0 ? "gives a fold but line " : "gives no fold but line ") +
           std::to_string(clips.front().line) + (clip.fold > 0 ? " does not" : " does") +
           ": give a fold on every line or on none");
    clips.push_back(clip);
  }
  if (clips.empty()) throw Error(name + ": no labelled clips (expected lines 'PATH LABEL [FOLD]')");
  return clips;
}

std::vector<LabelledClip> read_probe_manifest(const std::string& path, const std::string& root) {
  std::ifstream in = open(path, "manifest");
  return parse_probe_manifest(in, path, root.empty() ? dirname(path) : root);
}

std::vector<LabelledClip> read_esc50(const std::string& dir) {
  gchar* csv_path = g_build_filename(dir.c_str(), "meta", "esc50.csv", nullptr);
  gchar* audio_dir = g_build_filename(dir.c_str(), "audio", nullptr);
  const std::string csv(csv_path), audio(audio_dir);
  g_free(csv_path);
  g_free(audio_dir);
  if (!g_file_test(dir.c_str(), G_FILE_TEST_IS_DIR)) throw Error("ESC-50 folder '" + dir + "' does not exist");
  std::ifstream in = open(csv, "ESC-50 metadata");

  std::string text;
  if (!std::getline(in, text)) throw Error(csv + ": empty file");
  const std::vector<std::string> header = split(text, ',');
  const auto column = [&](const char* wanted) {
    const auto it = std::find_if(header.begin(), header.end(), [&](std::string h) {
      h.erase(h.find_last_not_of(" \r") + 1);
      return h == wanted;
    });
    if (it == header.end()) throw Error(csv + ": the header has no '" + wanted + "' column");
    return static_cast<size_t>(it - header.begin());
  };
  const size_t file_col = column("filename"), fold_col = column("fold"), label_col = column("category");
  const size_t needed = std::max({file_col, fold_col, label_col}) + 1;

  std::vector<LabelledClip> clips;
  for (int line = 2; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) continue;
    const std::vector<std::string> fields = split(text, ',');
    if (fields.size() < needed)
      throw Error(csv + ":" + std::to_string(line) + ": expected at least " + std::to_string(needed) +
                  " comma-separated fields, got " + std::to_string(fields.size()));
    LabelledClip clip{resolve(fields[file_col], audio), fields[label_col], parse_fold(fields[fold_col]), line};
    if (!clip.fold)
      throw Error(csv + ":" + std::to_string(line) + ": fold '" + fields[fold_col] + "' is not a positive integer");
    clips.push_back(clip);
  }
  if (clips.empty()) throw Error(csv + ": no clips listed");
  return clips;
}

}  // namespace avts
