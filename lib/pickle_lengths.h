// A check of a pickle's length fields and memo indices before LibTorch's unpickler reads it.
// That unpickler (1.13) allocates and clears a string as long as a length field says, and a
// memo as large as an index says, before it finds them wrong, so a small hostile file could
// make it take gigabytes. Internal to lib/.
#pragma once

#include <cstddef>

namespace avts::archive {

// Throws avts::Error when an argument of an opcode (a length-prefixed string or bytes, a
// frame, a fixed-size number) reaches past the end of the pickle, or a memo index is larger
// than the pickle. Stops, without judging, at an opcode it does not know: the unpickler
// refuses those itself.
void check_pickle_lengths(const char* pickle, size_t size);

}  // namespace avts::archive
