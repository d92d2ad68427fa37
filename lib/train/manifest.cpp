#include "avts/manifest.h"

#include <glib.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "avts/error.h"

namespace avts {

namespace {

Split parse_tag(const std::string& tag) {
  if (tag == "val") return Split::Validation;  // the usual short form
  return parse_split(tag);
}

// A URI ("scheme:...") or an absolute path stays as it is; a relative path is taken from
// the manifest's folder.
std::string resolve(const std::string& input, const std::string& manifest_dir) {
  gchar* scheme = g_uri_parse_scheme(input.c_str());
  const bool is_uri = scheme != nullptr;
  g_free(scheme);
  if (is_uri || g_path_is_absolute(input.c_str())) return input;
  gchar* joined = g_build_filename(manifest_dir.c_str(), input.c_str(), nullptr);
  std::string out(joined);
  g_free(joined);
  return out;
}

}  // namespace

Manifest read_manifest(const std::string& path) {
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR)) throw Error("manifest '" + path + "' is a directory");
  std::ifstream in(path);
  if (!in) throw Error("cannot read manifest '" + path + "': no such file or not readable");
  gchar* dir = g_path_get_dirname(path.c_str());
  const std::string manifest_dir(dir);
  g_free(dir);

  Manifest m;
  std::string text;
  for (int line = 1; std::getline(in, text); ++line) {
    std::istringstream columns(text);
    std::vector<std::string> words;
    for (std::string w; columns >> w && w[0] != '#';) words.push_back(w);
    if (words.empty()) continue;
    if (words.size() > 2) {
      m.bad_lines.push_back(std::to_string(line) + ": expected 'PATH [SPLIT]', got " + std::to_string(words.size()) +
                            " columns");
      continue;
    }
    ManifestEntry e{resolve(words[0], manifest_dir), Split::Auto, line};
    if (words.size() > 1) {
      try {
        e.split = parse_tag(words[1]);
      } catch (const Error& err) {
        m.bad_lines.push_back(std::to_string(line) + ": " + err.what());
        continue;
      }
    }
    m.entries.push_back(e);
  }
  return m;
}

std::vector<ManifestEntry> manifest_shard(const std::vector<ManifestEntry>& entries, int shard, int num_shards) {
  if (num_shards < 1 || shard < 0 || shard >= num_shards)
    throw Error("shard " + std::to_string(shard) + " of " + std::to_string(num_shards) +
                ": need num-shards >= 1 and 0 <= shard < num-shards");
  std::vector<ManifestEntry> out;
  for (size_t i = static_cast<size_t>(shard); i < entries.size(); i += static_cast<size_t>(num_shards))
    out.push_back(entries[i]);
  return out;
}

std::vector<ManifestEntry> epoch_order(const std::vector<ManifestEntry>& entries, int epoch, uint64_t seed,
                                       bool shuffle, bool with_validation) {
  std::vector<ManifestEntry> validation, training;
  for (const ManifestEntry& e : entries) (e.split == Split::Validation ? validation : training).push_back(e);
  if (shuffle) {
    std::mt19937_64 rng(seed + static_cast<uint64_t>(epoch));
    std::shuffle(training.begin(), training.end(), rng);
  }
  if (!with_validation) return training;
  validation.insert(validation.end(), training.begin(), training.end());
  return validation;
}

}  // namespace avts
