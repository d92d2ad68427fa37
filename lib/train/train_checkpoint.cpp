// The trainer-state file: what a resumed run needs (weights, optimizer state, epoch, step,
// options), in PyTorch's zip format pickled without TorchScript type tags, as the model file
// is (lib/model/archive.h), so Python reads it with torch.load(path, weights_only=True).
// Written atomically: temporary file in the same folder, fsync, rename.
#include "archive.h"
#include "avts/error.h"
#include "train_internal.h"

namespace avts::train {

namespace {

constexpr const char* kFormat = "avts-trainer-state";
constexpr int64_t kVersion = 1;

c10::IValue pack(const Checkpoint& c) {
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("format", std::string(kFormat));
  top.insert("version", kVersion);
  top.insert("config", c.config_json);
  top.insert("trainer", c.trainer_json);
  top.insert("state_dict", archive::tensor_dict(c.weights));
  top.insert("optimiser", archive::tensor_dict(c.optimizer));  // the file format's key, kept
  return top;
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
    archive::write(path, pack(checkpoint));
  } catch (const Error& e) {
    throw Error("cannot write trainer checkpoint '" + path + "': " + e.what());
  }
}

Checkpoint read_checkpoint(const std::string& path) {
  c10::IValue value;
  try {
    value = archive::read(path);
  } catch (const Error& e) {
    fail(path, e.what());
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
  c.optimizer = tensors_field(top, "optimiser", path);
  return c;
}

}  // namespace avts::train
