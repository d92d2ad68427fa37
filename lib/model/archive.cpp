#include "archive.h"

#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/csrc/jit/serialization/export.h>  // writeArchiveAndTensors
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "avts/error.h"
#include "pickle_check.h"

namespace avts::archive {

namespace {

std::vector<char> serialise(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler([&](const char* bytes, size_t n) { pickle.insert(pickle.end(), bytes, bytes + n); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);  // plain pickle for Python
  pickler.protocol();
  pickler.pushIValue(value);
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

// Whether every element `t` addresses lies inside its storage. The unpickler takes a
// tensor's shape, strides and offset from the file as they are, so a hostile file can make
// a small storage claim gigabytes; reading such a tensor would read outside the storage.
bool fits_its_storage(const at::Tensor& t) {
  if (t.layout() != at::kStrided || !t.has_storage() || t.storage_offset() < 0) return false;
  __int128 last = t.storage_offset();  // the furthest element addressed, in elements
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.size(d) < 0 || t.stride(d) < 0) return false;
    if (t.size(d) == 0) return t.storage_offset() * static_cast<__int128>(t.itemsize()) <= t.storage().nbytes();
    last += static_cast<__int128>(t.size(d) - 1) * t.stride(d);
  }
  return (last + 1) * static_cast<__int128>(t.itemsize()) <= static_cast<__int128>(t.storage().nbytes());
}

// Throws avts::Error for the first tensor in `value` (however deep) that does not fit.
void check_tensors(const c10::IValue& value) {
  if (value.isTensor()) {
    if (!fits_its_storage(value.toTensor()))
      throw Error("a tensor claims more data than its storage holds (hostile or damaged file)");
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) check_tensors(entry.value());
  } else if (value.isList()) {
    for (const c10::IValue& item : value.toListRef()) check_tensors(item);
  } else if (value.isTuple()) {
    for (const c10::IValue& item : value.toTupleRef().elements()) check_tensors(item);
  }
}

// A new file next to the target, removed again unless it was renamed into place.
struct TemporaryFile {
  int fd = -1;
  std::string path;
  bool renamed = false;

  explicit TemporaryFile(const std::string& target) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
      path = target + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
      fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0 && errno != EEXIST) throw Error(errno_text());
    }
    if (fd < 0) throw Error("no free temporary name");
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd >= 0) close(fd);
    if (!renamed) unlink(path.c_str());
  }
};

void write_all(int fd, const std::vector<char>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(n < 0 ? errno_text() : "short write");
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

c10::Dict<std::string, at::Tensor> tensor_dict(const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu());
  return dict;
}

void write(const std::string& path, const c10::IValue& value) {
  std::vector<char> bytes;
  try {
    bytes = serialise(value);
  } catch (const c10::Error& e) {
    throw Error(e.what_without_backtrace());
  }
  TemporaryFile tmp(path);
  write_all(tmp.fd, bytes);
  if (fsync(tmp.fd) != 0) throw Error(errno_text());
  const int closed = close(tmp.fd);
  tmp.fd = -1;
  if (closed != 0) throw Error(errno_text());
  if (rename(tmp.path.c_str(), path.c_str()) != 0) throw Error(errno_text());
  tmp.renamed = true;
  sync_folder(path);
}

c10::IValue read(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw Error(errno == ENOENT ? "does not exist" : "cannot be read: " + errno_text());
  if (S_ISDIR(st.st_mode)) throw Error("is a directory");
  if (st.st_size == 0) throw Error("is empty (0 bytes)");
  if (access(path.c_str(), R_OK) != 0) throw Error("cannot be read: " + errno_text());
  const std::string unreadable = "is not a readable archive (truncated, corrupt or not a PyTorch zip file): ";
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (reader.hasRecord("data.pkl")) {
      const auto [pickle, size] = reader.getRecord("data.pkl");
      check_pickle(static_cast<const char*>(pickle.get()), size);
    }
    // No type resolver and no object loader: the unpickler rebuilds tensors and plain
    // containers only and refuses every other global, so no code from the file runs.
    c10::IValue value = torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt,
                                                          torch::Device(torch::kCPU), reader);
    check_tensors(value);
    return value;
  } catch (const c10::Error& e) {
    throw Error(unreadable + e.what_without_backtrace());
  } catch (const Error& e) {
    throw Error(unreadable + e.what());
  } catch (const std::exception& e) {
    throw Error(unreadable + e.what());
  }
}

}  // namespace avts::archive
