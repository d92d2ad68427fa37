// A check of a pickle before LibTorch's unpickler reads it. That unpickler (1.13) trusts the
// pickle: it allocates and clears a string as long as a length field says and a memo as large
// as an index says (gigabytes from a few bytes), and pops its stack and its marks without
// looking whether they hold enough (memory corruption). A hostile file could do either.
// Internal to lib/.
#pragma once

#include <cstddef>

namespace avts::archive {

// Walks the opcodes and throws avts::Error when an argument reaches past the end of the
// pickle, a memo index is larger than the pickle, or an opcode takes more from the stack or
// the marks than is there. Stops, without judging, at an opcode it does not know: the
// unpickler refuses those itself.
void check_pickle(const char* pickle, size_t size);

}  // namespace avts::archive
