// libFuzzer target: avts::Model::load, the loader of model files that users get from
// elsewhere. It must turn every input into a model or an avts::Error, and never crash,
// hang, run code from the file or let another exception type escape.
//
// The first byte of an input picks its shape:
//   even: the rest is the whole file, as found on disk (zip container, records, pickle);
//   odd:  the rest is only the pickle (data.pkl), wrapped with the tensor records of a real
//         tiny model into a well-formed archive, so that mutations get past the zip
//         container's checksums to the unpickler and the checks after it.
//
// AVTS_FUZZ_WRITE_SEEDS=DIR writes the seed inputs (one of each shape) to DIR and exits.
#include <caffe2/serialize/inline_container.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "avts/error.h"
#include "avts/model.h"

namespace {

using Records = std::vector<std::pair<std::string, std::string>>;

std::string scratch;     // where each input is written as a file
Records tensor_records;  // of the tiny model, every record but data.pkl and the version
std::string tiny_model_file, tiny_pickle;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

std::string record(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  auto [data, size] = reader.getRecord(name);
  return {static_cast<const char*>(data.get()), size};
}

// A tiny model (the smallest widths) saved once: its file, pickle and tensor records.
void make_tiny_model() {
  avts::Model::set_threads(1);
  avts::ModelConfig c = avts::ModelConfig::preset_config("avts-compact");
  c.video.resize = c.video.crop = 16;
  c.video_base_width = c.audio_base_width = 4;
  c.embedding_dim = 2;
  const std::string path = scratch + ".tiny";
  avts::Model::create(c, 1)->save(path);
  tiny_model_file = read_file(path);
  caffe2::serialize::PyTorchStreamReader reader(path);
  for (const std::string& name : reader.getAllRecords()) {
    if (name == "data.pkl")
      tiny_pickle = record(reader, name);
    else if (name.find("version") == std::string::npos)  // the writer adds its own
      tensor_records.emplace_back(name, record(reader, name));
  }
  unlink(path.c_str());
}

// `pickle` as data.pkl of an archive holding the tiny model's tensor records.
std::string archive_with_pickle(const uint8_t* pickle, size_t size) {
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, size_t n) {
    out.append(static_cast<const char*>(bytes), n);
    return n;
  });
  writer.writeRecord("data.pkl", pickle, size);
  for (const auto& [name, bytes] : tensor_records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
  return out;
}

void write_seeds(const std::string& dir) {
  const auto seed = [&](const std::string& name, uint8_t shape, const std::string& body) {
    std::string bytes(1, static_cast<char>(shape));
    bytes += body;
    write_file(dir + "/" + name, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  };
  seed("tiny-model-file", 0, tiny_model_file);
  seed("tiny-model-pickle", 1, tiny_pickle);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  scratch = std::string(tmp ? tmp : "/tmp") + "/avts-fuzz-model-" + std::to_string(getpid());
  make_tiny_model();
  if (const char* dir = std::getenv("AVTS_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    write_file(scratch, data + 1, size - 1);
  } else {
    const std::string archive = archive_with_pickle(data + 1, size - 1);
    write_file(scratch, reinterpret_cast<const uint8_t*>(archive.data()), archive.size());
  }
  try {
    const auto model = avts::Model::load(scratch);
    if (model->id().size() != 16) std::abort();  // a loaded model is a whole one
  } catch (const avts::Error&) {
    // The expected answer to a bad file.
  }
  unlink(scratch.c_str());
  return 0;
}
