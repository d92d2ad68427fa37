// Errors the library reports to its callers. Messages are meant for users: they name
// the file, the value or the limit that is wrong.
#pragma once

#include <stdexcept>
#include <string>

namespace avts {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model file that is missing, truncated, corrupt, hostile or does not match its config.
class ModelFileError : public Error {
 public:
  using Error::Error;
};

}  // namespace avts
