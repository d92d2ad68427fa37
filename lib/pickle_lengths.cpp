#include "pickle_lengths.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "avts/error.h"

namespace avts::archive {

namespace {

// How an opcode's argument is laid out (Python's pickletools, protocols 0 to 5).
enum class Arg { None, Fixed, Line, TwoLines, Length, Unknown };

struct Layout {
  Arg arg;
  int bytes;  // Fixed: the argument's size; Length: the size of the little-endian length field
};

Layout layout_of(unsigned char op) {
  switch (op) {
    case 'K': case 'h': case 'q': case 0x80: case 0x82:  // BININT1 BINGET BINPUT PROTO EXT1
      return {Arg::Fixed, 1};
    case 'M': case 0x83:  // BININT2 EXT2
      return {Arg::Fixed, 2};
    case 'J': case 'j': case 'r': case 0x84:  // BININT LONG_BINGET LONG_BINPUT EXT4
      return {Arg::Fixed, 4};
    case 'G':  // BINFLOAT
      return {Arg::Fixed, 8};
    case 'I': case 'L': case 'F': case 'S': case 'V': case 'P': case 'g': case 'p':
      return {Arg::Line, 0};  // INT LONG FLOAT STRING UNICODE PERSID GET PUT
    case 'c': case 'i':  // GLOBAL INST: module and name
      return {Arg::TwoLines, 0};
    case 'U': case 0x8c: case 'C': case 0x8a:  // SHORT_BINSTRING SHORT_BINUNICODE SHORT_BINBYTES LONG1
      return {Arg::Length, 1};
    case 'T': case 'X': case 'B': case 0x8b:  // BINSTRING BINUNICODE BINBYTES LONG4
      return {Arg::Length, 4};
    case 0x8d: case 0x8e: case 0x96:  // BINUNICODE8 BINBYTES8 BYTEARRAY8
      return {Arg::Length, 8};
    case 0x95:  // FRAME: its length counts the opcodes that follow, which are read as usual
      return {Arg::Fixed, 8};
    case '(': case '.': case '0': case '1': case '2': case 'N': case 0x88: case 0x89: case '}': case ']':
    case ')': case 'a': case 'e': case 'b': case 'd': case 'l': case 't': case 0x85: case 0x86: case 0x87:
    case 's': case 'u': case 'R': case 0x81: case 0x92: case 'o': case 'Q': case 0x8f: case 0x90: case 0x91:
    case 0x93: case 0x94: case 0x97: case 0x98:
      return {Arg::None, 0};
    default:
      return {Arg::Unknown, 0};
  }
}

[[noreturn]] void too_long(size_t at) {
  throw Error("its pickle has a length at byte " + std::to_string(at) + " that reaches past its end");
}

}  // namespace

void check_pickle_lengths(const char* pickle, size_t size) {
  const auto* p = reinterpret_cast<const unsigned char*>(pickle);
  size_t at = 0;
  while (at < size) {
    const unsigned char op = p[at];
    const Layout l = layout_of(op);
    const size_t start = at++;
    const size_t left = size - at;
    switch (l.arg) {
      case Arg::Unknown:
        return;
      case Arg::None:
        if (op == '.') return;  // STOP
        break;
      case Arg::Fixed:
        if (left < static_cast<size_t>(l.bytes)) too_long(start);
        // LONG_BINPUT: the unpickler grows its memo to the index. Pickles number their memo
        // entries from 0, each entry taking bytes of the pickle: a bigger index is hostile.
        if (op == 'r' && (p[at] | p[at + 1] << 8 | p[at + 2] << 16 | uint64_t{p[at + 3]} << 24) > size)
          throw Error("its pickle has a memo index at byte " + std::to_string(start) + " beyond its size");
        at += l.bytes;
        break;
      case Arg::Line:
      case Arg::TwoLines:
        for (int line = 0; line < (l.arg == Arg::Line ? 1 : 2); ++line) {
          const void* end = std::memchr(p + at, '\n', size - at);
          if (!end) too_long(start);
          at = static_cast<size_t>(static_cast<const unsigned char*>(end) - p) + 1;
        }
        break;
      case Arg::Length: {
        if (left < static_cast<size_t>(l.bytes)) too_long(start);
        uint64_t n = 0;
        for (int i = l.bytes - 1; i >= 0; --i) n = (n << 8) | p[at + i];
        at += l.bytes;
        if (l.bytes == 4 && (op == 'T' || op == 0x8b) && (n & 0x80000000u)) too_long(start);  // signed, negative
        if (n > size - at) too_long(start);
        at += n;
        break;
      }
    }
  }
}

}  // namespace avts::archive
