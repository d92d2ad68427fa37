// libFuzzer target: avts::read_manifest, the reader of training manifests (written by hand
// or by scripts, in any encoding). Every byte sequence must give entries and bad lines, or an
// avts::Error; every entry names an input and its line, and no line gives two results.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "avts/error.h"
#include "avts/manifest.h"

namespace {

std::string scratch;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  scratch = std::string(tmp ? tmp : "/tmp") + "/avts-fuzz-manifest-" + std::to_string(getpid()) + ".txt";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FILE* f = std::fopen(scratch.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  const size_t lines = static_cast<size_t>(std::count(data, data + size, '\n')) + 1;

  try {
    const avts::Manifest m = avts::read_manifest(scratch);
    if (m.entries.size() + m.bad_lines.size() > lines) std::abort();
    std::set<int> seen;
    for (const avts::ManifestEntry& e : m.entries) {
      if (e.input.empty() || e.line < 1 || static_cast<size_t>(e.line) > lines) std::abort();
      if (!seen.insert(e.line).second) std::abort();  // one entry per line
    }
    // The shards of any split cover the entries exactly once.
    size_t sharded = 0;
    for (int shard = 0; shard < 3; ++shard) sharded += avts::manifest_shard(m.entries, shard, 3).size();
    if (sharded != m.entries.size()) std::abort();
  } catch (const avts::Error&) {
    // The expected answer to an unreadable file.
  }
  unlink(scratch.c_str());
  return 0;
}
