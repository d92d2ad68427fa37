#include "model_file.h"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/csrc/jit/serialization/export.h>  // writeArchiveAndTensors
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <unistd.h>

#include <glib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>

#include "avts/error.h"

namespace avts::model_file {

std::string content_sha256(const std::string& config_json,
                           std::vector<std::pair<std::string, torch::Tensor>> tensors) {
  std::sort(tensors.begin(), tensors.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, reinterpret_cast<const guchar*>(config_json.data()),
                    static_cast<gssize>(config_json.size()));
  for (const auto& [name, tensor] : tensors) {
    g_checksum_update(sum, reinterpret_cast<const guchar*>(name.c_str()),
                      static_cast<gssize>(name.size() + 1));
    const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    g_checksum_update(sum, static_cast<const guchar*>(t.data_ptr()), static_cast<gssize>(t.nbytes()));
  }
  std::string hex = g_checksum_get_string(sum);
  g_checksum_free(sum);
  return hex;
}

namespace {

std::vector<char> serialise(const Contents& contents) {
  c10::Dict<std::string, at::Tensor> state_dict;
  for (const auto& [name, tensor] : contents.tensors) state_dict.insert(name, tensor.cpu());
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("format", std::string(kFormat));
  top.insert("version", kVersion);
  top.insert("config", contents.config_json);
  top.insert("state_dict", state_dict);
  top.insert("sha256", content_sha256(contents.config_json, contents.tensors));

  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* bytes, size_t n) { pickle.insert(pickle.end(), bytes, bytes + n); },
      nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);  // plain pickle for Python
  pickler.protocol();
  pickler.pushIValue(top);
  pickler.stop();

  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, size_t n) {
    const char* c = static_cast<const char*>(bytes);
    archive.insert(archive.end(), c, c + n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return archive;
}

std::string errno_text() { return std::strerror(errno); }

// A new file next to the target, removed again unless it was renamed into place.
struct TemporaryFile {
  int fd = -1;
  std::string path;
  bool renamed = false;

  TemporaryFile(int fd, std::string path) : fd(fd), path(std::move(path)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd >= 0) close(fd);
    if (!renamed) unlink(path.c_str());
  }
};

TemporaryFile open_temporary(const std::string& target) {
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string tmp = target + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return TemporaryFile(fd, std::move(tmp));
    if (errno != EEXIST) throw Error("cannot write model file '" + target + "': " + errno_text());
  }
  throw Error("cannot write model file '" + target + "': no free temporary name");
}

void write_all(int fd, const std::vector<char>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(errno_text());
    done += static_cast<size_t>(n);
  }
}

// Makes the rename durable.
void sync_folder(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the file is written; only durability across a crash is weaker
  fsync(fd);
  close(fd);
}

}  // namespace

void write(const std::string& path, const Contents& contents) {
  std::vector<char> bytes;
  try {
    bytes = serialise(contents);
  } catch (const c10::Error& e) {
    throw Error("cannot write model file '" + path + "': " + e.what_without_backtrace());
  }
  TemporaryFile tmp = open_temporary(path);
  try {
    write_all(tmp.fd, bytes);
    if (fsync(tmp.fd) != 0) throw Error(errno_text());
    const int closed = close(tmp.fd);
    tmp.fd = -1;
    if (closed != 0) throw Error(errno_text());
    if (rename(tmp.path.c_str(), path.c_str()) != 0) throw Error(errno_text());
    tmp.renamed = true;
  } catch (const Error& e) {
    throw Error("cannot write model file '" + path + "': " + e.what());
  }
  sync_folder(path);
}

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw ModelFileError("model file '" + path + "' " + problem);
}

// The ivalue behind `key` in the top-level dict, or a clear error.
c10::IValue field(const c10::impl::GenericDict& top, const std::string& key, const std::string& path) {
  const auto it = top.find(key);
  if (it == top.end()) fail(path, "is not an AVTS model file (no '" + key + "' entry)");
  return it->value();
}

Contents unpack(const c10::IValue& value, const std::string& path) {
  if (!value.isGenericDict()) fail(path, "is not an AVTS model file (it holds a " + value.tagKind() + ", not a dict)");
  const c10::impl::GenericDict top = value.toGenericDict();
  for (const auto& entry : top)
    if (!entry.key().isString()) fail(path, "is not an AVTS model file (a key is not a string)");

  const c10::IValue format = field(top, "format", path);
  if (!format.isString() || format.toStringRef() != kFormat)
    fail(path, std::string("is not an AVTS model file (format tag is not '") + kFormat + "')");
  const c10::IValue version = field(top, "version", path);
  if (!version.isInt() || version.toInt() < 1) fail(path, "has an invalid format version");
  if (version.toInt() > kVersion)
    fail(path, "has format version " + std::to_string(version.toInt()) + ", newer than this avts reads (" +
                   std::to_string(kVersion) + "): update avts");
  const c10::IValue config = field(top, "config", path);
  if (!config.isString()) fail(path, "is corrupt: 'config' is not a JSON string");
  const c10::IValue state_dict = field(top, "state_dict", path);
  if (!state_dict.isGenericDict()) fail(path, "is corrupt: 'state_dict' is not a dict");

  Contents contents;
  contents.config_json = config.toStringRef();
  for (const auto& entry : state_dict.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      fail(path, "is corrupt: 'state_dict' holds something other than named tensors");
    contents.tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  const auto checksum = top.find("sha256");
  if (checksum != top.end() &&
      (!checksum->value().isString() ||
       checksum->value().toStringRef() != content_sha256(contents.config_json, contents.tensors)))
    fail(path, "is corrupt: its content does not match the checksum stored in it "
               "(damaged in storage or transfer?)");
  return contents;
}

}  // namespace

Contents read(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) fail(path, "does not exist");
    fail(path, "cannot be read: " + errno_text());
  }
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory");
  if (st.st_size == 0) fail(path, "is empty (0 bytes)");
  if (access(path.c_str(), R_OK) != 0) fail(path, "cannot be read: " + errno_text());

  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    fail(path, std::string("is not a readable model archive (truncated, corrupt or not a PyTorch zip file): ") +
                   e.what_without_backtrace());
  }
  c10::IValue value;
  try {
    // No type resolver and no object loader: the unpickler rebuilds tensors and plain
    // containers only and refuses every other global, so no code from the file runs.
    value = torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt,
                                              torch::Device(torch::kCPU), *reader);
  } catch (const c10::Error& e) {
    fail(path, std::string("is corrupt or not an AVTS model file: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    fail(path, std::string("is corrupt or not an AVTS model file: ") + e.what());
  }
  return unpack(value, path);
}

}  // namespace avts::model_file
