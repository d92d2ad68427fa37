// C++ side of the MC3-18 and model-file parity tests (tests/parity/*.py).
//
//   mc3_dump video STATE_DICT.pt INPUT.pt OUT.pt
//     Loads a torchvision mc3_18 state_dict (torch.save of a plain dict) into our VideoNet at
//     the paper's widths by name, runs INPUT (N x 3 x T x H x W) in eval mode with 2 threads and
//     writes {"layer1".."layer4": pooled stage outputs} to OUT.pt (readable by torch.load).
//   mc3_dump model-file PRESET OUT.avts
//     Writes Model::create(preset, seed 1) with Model::save and prints a JSON summary:
//     {"id", "config", "tensors": {name: {"shape", "dtype", "sum"}}}.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "avts/model.h"
#include "avts/nets.h"

namespace {

c10::IValue load_pickle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return torch::pickle_load(bytes);
}

int video(const std::string& state_dict_path, const std::string& input_path, const std::string& out_path) {
  torch::set_num_threads(2);
  const c10::impl::GenericDict sd = load_pickle(state_dict_path).toGenericDict();
  avts::nets::VideoNet net(64, 128);
  {
    torch::NoGradGuard no_grad;
    size_t mapped = 0;
    for (const auto& [name, target] : avts::nets::state_dict(*net)) {
      if (name.rfind("proj.", 0) == 0) continue;  // ours, not torchvision's
      const auto it = sd.find(name);
      if (it == sd.end()) throw std::runtime_error("torchvision state_dict lacks " + name);
      const torch::Tensor source = it->value().toTensor();
      if (!source.sizes().equals(target.sizes())) throw std::runtime_error("shape differs for " + name);
      target.copy_(source);
      ++mapped;
    }
    size_t backbone = 0;  // torchvision's names except its classifier
    for (const auto& entry : sd) backbone += entry.key().toStringRef().rfind("fc.", 0) != 0;
    if (mapped != backbone) throw std::runtime_error("torchvision state_dict has names we do not map");
  }
  net->eval();
  const torch::Tensor x = load_pickle(input_path).toTensor();
  c10::InferenceMode inference;
  const avts::nets::NetOutput out = net->forward(x);
  c10::impl::GenericDict result(c10::StringType::get(), c10::TensorType::get());
  for (int k = 0; k < 4; ++k) result.insert("layer" + std::to_string(k + 1), out.stages[k]);
  const std::vector<char> bytes = torch::pickle_save(result);
  std::ofstream(out_path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return 0;
}

int model_file(const std::string& preset, const std::string& path) {
  const auto model = avts::Model::create(avts::ModelConfig::preset_config(preset), 1);
  model->save(path);
  nlohmann::json tensors;
  for (const auto& [name, t] : avts::nets::state_dict(*model->impl().net))
    tensors[name] = {{"shape", t.sizes().vec()},
                     {"dtype", std::string(c10::toString(t.scalar_type()))},
                     {"sum", t.to(torch::kDouble).sum().item<double>()}};
  std::cout << nlohmann::json{{"id", model->id()}, {"config", model->config().to_json()}, {"tensors", tensors}} << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 4 && args[0] == "video") return video(args[1], args[2], args[3]);
    if (args.size() == 3 && args[0] == "model-file") return model_file(args[1], args[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mc3_dump: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: %s video STATE_DICT.pt INPUT.pt OUT.pt | model-file PRESET OUT.avts\n", argv[0]);
  return 2;
}
