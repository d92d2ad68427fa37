// Temporary folders for the tests, in plain POSIX rather than std::filesystem: the libtorch.so
// of a PyTorch wheel exports its own copy of std::filesystem, which wins the symbol lookup and
// crashes the tests that use it (bench/README.md).
#pragma once

#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace avts::test {

inline bool path_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The names in `dir`, sorted, without . and ..
inline std::vector<std::string> file_names(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) throw std::runtime_error("cannot list " + dir + ": " + std::strerror(errno));
  std::vector<std::string> names;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Removes `path` with everything under it (links themselves, not what they point to); a path
// that does not exist is left as it is.
inline void remove_tree(const std::string& path) {
  nftw(
      path.c_str(), [](const char* p, const struct stat*, int, FTW*) { return std::remove(p); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

// A new folder $TMPDIR/<prefix>XXXXXX (/tmp without TMPDIR), removed with its contents when
// it goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
  }
  ~TempDir() { remove_tree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace avts::test
