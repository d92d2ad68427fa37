// NumPy .npy writer (format version 1.0, little-endian float32 / float64, C order).
#pragma once

#include <string>
#include <vector>

namespace avts {

// Writes a rows x cols float32 array. Throws avts::Error when the file cannot be written.
void write_npy(const std::string& path, const float* data, size_t rows, size_t cols);
// Writes a 1-D float64 array.
void write_npy(const std::string& path, const std::vector<double>& values);

}  // namespace avts
