#include "npy.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

#include "avts/error.h"

namespace avts {

namespace {

// The header is a Python dict literal padded with spaces so that the data starts on a
// 64-byte boundary (the .npy format's rule).
void write_array(const std::string& path, const char* descr, const std::string& shape, const void* data, size_t bytes) {
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t preamble = 10;  // magic (6) + version (2) + header length (2)
  const size_t total = (preamble + header.size() + 1 + 63) / 64 * 64;
  header.append(total - preamble - header.size() - 1, ' ');
  header.push_back('\n');

  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error("cannot write '" + path + "': " + std::strerror(errno));
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  f.write(magic, sizeof magic);
  const char len_le[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(len_le, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  f.close();
  if (!f) throw Error("cannot write '" + path + "': " + std::strerror(errno));
}

}  // namespace

void write_npy(const std::string& path, const float* data, size_t rows, size_t cols) {
  static_assert(sizeof(float) == 4, "float32");
  write_array(path, "<f4", "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")", data,
              rows * cols * sizeof(float));
}

void write_npy(const std::string& path, const std::vector<double>& values) {
  write_array(path, "<f8", "(" + std::to_string(values.size()) + ",)", values.data(), values.size() * sizeof(double));
}

}  // namespace avts
