#include "manifest.h"

#include <gst/gst.h>

#include <fstream>
#include <sstream>

#include "avts/error.h"

namespace avts {

namespace {

Split parse_tag(const std::string& tag) {
  if (tag == "val") return Split::Validation;  // the usual short form
  return parse_split(tag);
}

std::string resolve(const std::string& input, const std::string& manifest_dir) {
  if (gst_uri_is_valid(input.c_str()) || g_path_is_absolute(input.c_str())) return input;
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
    for (std::string w; columns >> w;) words.push_back(w);
    if (words.empty() || words[0][0] == '#') continue;
    if (words.size() > 2 && words[2][0] != '#') {
      m.bad_lines.push_back(std::to_string(line) + ": expected 'PATH [SPLIT]', got " +
                            std::to_string(words.size()) + " columns");
      continue;
    }
    ManifestEntry e{resolve(words[0], manifest_dir), Split::Auto, line};
    if (words.size() > 1 && words[1][0] != '#') {
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

}  // namespace avts
