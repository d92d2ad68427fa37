// The trainer-state file: what a resumed run needs (weights, optimiser state, epoch, step,
// options), in PyTorch's zip format pickled without TorchScript type tags, as the model file
// is (lib/model_file.cpp), so Python reads it with torch.load(path, weights_only=True).
// Written atomically: temporary file in the same folder, fsync, rename.
#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "avts/error.h"
#include "train_internal.h"

namespace avts::train {

namespace {

constexpr const char* kFormat = "avts-trainer-state";
constexpr int64_t kVersion = 1;

c10::Dict<std::string, at::Tensor> tensor_dict(const NamedTensors& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu());
  return dict;
}

std::vector<char> serialise(const Checkpoint& c) {
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("format", std::string(kFormat));
  top.insert("version", kVersion);
  top.insert("config", c.config_json);
  top.insert("trainer", c.trainer_json);
  top.insert("state_dict", tensor_dict(c.weights));
  top.insert("optimiser", tensor_dict(c.optimiser));

  std::vector<char> pickle;
  torch::jit::Pickler pickler(
      [&](const char* bytes, size_t n) { pickle.insert(pickle.end(), bytes, bytes + n); }, nullptr, nullptr,
      nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(top);
  pickler.stop();

  std::vector<char> archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, size_t n) {
    const char* p = static_cast<const char*>(bytes);
    archive.insert(archive.end(), p, p + n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return archive;
}

// Writes `bytes` to a fresh temporary file next to `path` and renames it over `path`.
void write_atomically(const std::string& path, const std::vector<char>& bytes) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) throw Error(std::strerror(errno));
  std::string problem;
  for (size_t done = 0; done < bytes.size() && problem.empty();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n > 0) done += static_cast<size_t>(n);
    else if (!(n < 0 && errno == EINTR)) problem = n < 0 ? std::strerror(errno) : "short write";
  }
  if (problem.empty() && fsync(fd) != 0) problem = std::strerror(errno);
  if (close(fd) != 0 && problem.empty()) problem = std::strerror(errno);
  if (problem.empty() && rename(tmp.c_str(), path.c_str()) != 0) problem = std::strerror(errno);
  if (!problem.empty()) {
    unlink(tmp.c_str());
    throw Error(problem);
  }
  // Makes the rename durable.
  const auto slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dir = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
}

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error("trainer checkpoint '" + path + "' " + problem);
}

c10::IValue field(const c10::impl::GenericDict& top, const std::string& key, const std::string& path) {
  const auto it = top.find(key);
  if (it == top.end()) fail(path, "is not an AVTS trainer checkpoint (no '" + key + "' entry)");
  return it->value();
}

std::string string_field(const c10::impl::GenericDict& top, const std::string& key, const std::string& path) {
  const c10::IValue v = field(top, key, path);
  if (!v.isString()) fail(path, "is corrupt: '" + key + "' is not a string");
  return v.toStringRef();
}

NamedTensors tensors_field(const c10::impl::GenericDict& top, const std::string& key, const std::string& path) {
  const c10::IValue v = field(top, key, path);
  if (!v.isGenericDict()) fail(path, "is corrupt: '" + key + "' is not a dict");
  NamedTensors out;
  for (const auto& entry : v.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      fail(path, "is corrupt: '" + key + "' holds something other than named tensors");
    out.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  return out;
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  try {
    write_atomically(path, serialise(checkpoint));
  } catch (const c10::Error& e) {
    throw Error("cannot write trainer checkpoint '" + path + "': " + e.what_without_backtrace());
  } catch (const Error& e) {
    throw Error("cannot write trainer checkpoint '" + path + "': " + e.what());
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail(path, errno == ENOENT ? "does not exist" : "cannot be read: " + std::string(std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory");
  if (st.st_size == 0) fail(path, "is empty (0 bytes)");

  c10::IValue value;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    // No type resolver, no object loader: only tensors and plain containers are rebuilt.
    value = torch::jit::readArchiveAndTensors("data", "", "", c10::nullopt, c10::nullopt,
                                              torch::Device(torch::kCPU), reader);
  } catch (const c10::Error& e) {
    fail(path, std::string("is not readable (truncated, corrupt or not a PyTorch zip file): ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    fail(path, std::string("is not readable (truncated, corrupt or not a PyTorch zip file): ") + e.what());
  }
  if (!value.isGenericDict()) fail(path, "is not an AVTS trainer checkpoint");
  const c10::impl::GenericDict top = value.toGenericDict();
  for (const auto& entry : top)
    if (!entry.key().isString()) fail(path, "is not an AVTS trainer checkpoint (a key is not a string)");
  if (string_field(top, "format", path) != kFormat)
    fail(path, std::string("is not an AVTS trainer checkpoint (format tag is not '") + kFormat +
                   "'; a model file cannot be resumed from)");
  const c10::IValue version = field(top, "version", path);
  if (!version.isInt() || version.toInt() < 1 || version.toInt() > kVersion)
    fail(path, "has an unsupported format version");

  Checkpoint c;
  c.config_json = string_field(top, "config", path);
  c.trainer_json = string_field(top, "trainer", path);
  c.weights = tensors_field(top, "state_dict", path);
  c.optimiser = tensors_field(top, "optimiser", path);
  return c;
}

}  // namespace avts::train
