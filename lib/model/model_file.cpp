#include "model_file.h"

#include <glib.h>

#include <algorithm>

#include "archive.h"
#include "avts/error.h"

namespace avts::model_file {

std::string content_sha256(const std::string& config_json, std::vector<std::pair<std::string, torch::Tensor>> tensors) {
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, reinterpret_cast<const guchar*>(config_json.data()), static_cast<gssize>(config_json.size()));
  for (const auto& [name, tensor] : tensors) {
    g_checksum_update(sum, reinterpret_cast<const guchar*>(name.c_str()), static_cast<gssize>(name.size() + 1));
    const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    g_checksum_update(sum, static_cast<const guchar*>(t.data_ptr()), static_cast<gssize>(t.nbytes()));
  }
  std::string hex = g_checksum_get_string(sum);
  g_checksum_free(sum);
  return hex;
}

void write(const std::string& path, const Contents& contents) {
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("format", std::string(kFormat));
  top.insert("version", kVersion);
  top.insert("config", contents.config_json);
  top.insert("state_dict", archive::tensor_dict(contents.tensors));
  top.insert("sha256", content_sha256(contents.config_json, contents.tensors));
  try {
    archive::write(path, top);
  } catch (const Error& e) {
    throw Error("cannot write model file '" + path + "': " + e.what());
  }
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
    fail(path,
         "is corrupt: its content does not match the checksum stored in it "
         "(damaged in storage or transfer?)");
  return contents;
}

}  // namespace

Contents read(const std::string& path) {
  c10::IValue value;
  try {
    value = archive::read(path);
  } catch (const Error& e) {
    fail(path, e.what());
  }
  return unpack(value, path);
}

}  // namespace avts::model_file
