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

// A data-parallel run lost its group: another rank stopped or could not be reached. Not a
// fault of the file being trained on, so callers that skip bad files must not skip on it.
class DistributedError : public Error {
 public:
  using Error::Error;
};

}  // namespace avts
