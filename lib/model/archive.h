// The file format under model files and trainer checkpoints: one plain value (a dict of
// strings, ints and tensors) pickled WITHOUT TorchScript type tags into PyTorch's zip
// format, so that Python reads it with torch.load(path, weights_only=True), and written
// atomically. Internal to lib/.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace avts::archive {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// A string-keyed dict of CPU tensors, ready to be pickled.
c10::Dict<std::string, at::Tensor> tensor_dict(const NamedTensors& tensors);

// Writes `value` to a temporary file beside `path`, fsyncs it and renames it over `path`.
// On failure the temporary file is removed, `path` is untouched, and avts::Error says why
// (without the path: callers name the file as their users know it).
void write(const std::string& path, const c10::IValue& value);

// Reads a file written by write(). Runs no code from the file: the unpickler rebuilds
// tensors and plain containers only. Throws avts::Error saying what is wrong ("does not
// exist", "is empty (0 bytes)", "is not a readable archive (...)", ...), without the path.
c10::IValue read(const std::string& path);

}  // namespace avts::archive
