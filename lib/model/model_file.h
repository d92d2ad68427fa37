// The model file on disk: a zip archive in PyTorch's own serialisation format holding
//   {"format": "avts-model", "version": 1, "config": <ModelConfig JSON>,
//    "state_dict": {name: tensor}, "sha256": <content_sha256 of config and tensors>}
// pickled without TorchScript type tags, so that Python reads it with
//   ckpt = torch.load(path, weights_only=True)
// Only strings, one small int and tensors are pickled: Python's weights_only unpickler
// (PyTorch 1.13) refuses pickled floats and int lists. Internal to lib/.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace avts::model_file {

constexpr const char* kFormat = "avts-model";
constexpr int64_t kVersion = 1;

struct Contents {
  std::string config_json;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // CPU tensors
};

// SHA-256 (hex) over the config JSON, then each tensor in name order as name, NUL, raw
// bytes. Stored in the file so that damage inside tensor data is caught on load; its first
// 16 characters are the model id.
std::string content_sha256(const std::string& config_json, std::vector<std::pair<std::string, torch::Tensor>> tensors);

// Writes atomically: a temporary file in the same folder, fsync, rename. On failure the
// temporary file is removed, an existing file at `path` is untouched, and avts::Error
// is thrown.
void write(const std::string& path, const Contents& contents);

// Reads a file written by write() into CPU tensors. Runs no code from the file: the
// unpickler only rebuilds tensors and plain containers. Throws avts::ModelFileError
// naming the file and the problem, also when the stored checksum does not match (a file
// without one, e.g. re-saved from Python, is accepted).
Contents read(const std::string& path);

}  // namespace avts::model_file
