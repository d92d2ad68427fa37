#include "pickle_check.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "avts/error.h"

namespace avts::archive {

namespace {

// How an opcode's argument is laid out (Python's pickletools, protocols 0 to 5).
enum class Arg { None, Fixed, Line, TwoLines, Length };

// What it does to the stack: takes `pops` items and gives `pushes`; or sets a mark; or takes
// everything down to the last mark (and its mark) and gives `pushes`, needing `below` items
// under the mark to work on (APPENDS appends to the list under its mark).
enum class Stack { Plain, Mark, ToMark };

struct Opcode {
  bool known = false;
  Arg arg = Arg::None;
  int bytes = 0;  // Fixed: the argument's size; Length: the size of its little-endian length
  Stack stack = Stack::Plain;
  int pops = 0, pushes = 0, below = 0;
};

Opcode opcode(unsigned char op) {
  const auto plain = [](Arg arg, int bytes, int pops, int pushes) {
    return Opcode{true, arg, bytes, Stack::Plain, pops, pushes, 0};
  };
  const auto to_mark = [](int pushes, int below) {
    return Opcode{true, Arg::None, 0, Stack::ToMark, 0, pushes, below};
  };
  switch (op) {
    case '(':
      return Opcode{true, Arg::None, 0, Stack::Mark, 0, 0, 0};  // MARK
    case '.':
      return plain(Arg::None, 0, 1, 1);  // STOP: the result
    case '0':
      return plain(Arg::None, 0, 1, 0);  // POP
    case '1':
      return to_mark(0, 0);  // POP_MARK
    case '2':
      return plain(Arg::None, 0, 1, 2);  // DUP
    case 'N':
    case 0x88:
    case 0x89:
    case '}':
    case ']':
    case ')':
    case 0x8f:  // constants, empty containers
      return plain(Arg::None, 0, 0, 1);
    case 'K':
    case 0x82:
      return plain(Arg::Fixed, 1, 0, 1);  // BININT1 EXT1
    case 'M':
    case 0x83:
      return plain(Arg::Fixed, 2, 0, 1);  // BININT2 EXT2
    case 'J':
    case 0x84:
      return plain(Arg::Fixed, 4, 0, 1);  // BININT EXT4
    case 'G':
      return plain(Arg::Fixed, 8, 0, 1);  // BINFLOAT
    case 'h':
      return plain(Arg::Fixed, 1, 0, 1);  // BINGET
    case 'j':
      return plain(Arg::Fixed, 4, 0, 1);  // LONG_BINGET
    case 'q':
      return plain(Arg::Fixed, 1, 1, 1);  // BINPUT
    case 'r':
      return plain(Arg::Fixed, 4, 1, 1);  // LONG_BINPUT
    case 0x94:
      return plain(Arg::None, 0, 1, 1);  // MEMOIZE
    case 0x80:
      return plain(Arg::Fixed, 1, 0, 0);  // PROTO
    case 0x95:
      return plain(Arg::Fixed, 8, 0, 0);  // FRAME (its opcodes follow as usual)
    case 'I':
    case 'L':
    case 'F':
    case 'S':
    case 'V':
    case 'P':
    case 'g':  // INT LONG FLOAT STRING UNICODE PERSID GET
      return plain(Arg::Line, 0, 0, 1);
    case 'p':
      return plain(Arg::Line, 0, 1, 1);  // PUT
    case 'c':
      return plain(Arg::TwoLines, 0, 0, 1);  // GLOBAL
    case 'i':
      return Opcode{true, Arg::TwoLines, 0, Stack::ToMark, 0, 1, 0};  // INST
    case 'U':
    case 0x8c:
    case 'C':
    case 0x8a:  // SHORT_BINSTRING SHORT_BINUNICODE SHORT_BINBYTES LONG1
      return plain(Arg::Length, 1, 0, 1);
    case 'T':
    case 'X':
    case 'B':
    case 0x8b:  // BINSTRING BINUNICODE BINBYTES LONG4
      return plain(Arg::Length, 4, 0, 1);
    case 0x8d:
    case 0x8e:
    case 0x96:  // BINUNICODE8 BINBYTES8 BYTEARRAY8
      return plain(Arg::Length, 8, 0, 1);
    case 0x85:
      return plain(Arg::None, 0, 1, 1);  // TUPLE1
    case 0x86:
      return plain(Arg::None, 0, 2, 1);  // TUPLE2
    case 0x87:
      return plain(Arg::None, 0, 3, 1);  // TUPLE3
    case 't':
    case 'l':
    case 'd':
    case 0x91:
    case 'o':  // TUPLE LIST DICT FROZENSET OBJ
      return to_mark(1, 0);
    case 'e':
    case 'u':
    case 0x90:  // APPENDS SETITEMS ADDITEMS
      return to_mark(0, 1);
    case 'a':
      return plain(Arg::None, 0, 2, 1);  // APPEND
    case 's':
      return plain(Arg::None, 0, 3, 1);  // SETITEM
    case 'b':
    case 'R':
    case 0x81:
    case 0x93:
      return plain(Arg::None, 0, 2, 1);  // BUILD REDUCE NEWOBJ STACK_GLOBAL
    case 0x92:
      return plain(Arg::None, 0, 3, 1);  // NEWOBJ_EX
    case 'Q':
      return plain(Arg::None, 0, 1, 1);  // BINPERSID
    default:
      return Opcode{};
  }
}

[[noreturn]] void hostile(size_t at, const std::string& what) {
  throw Error("its pickle " + what + " at byte " + std::to_string(at));
}

uint64_t little_endian(const unsigned char* p, int bytes) {
  uint64_t n = 0;
  for (int i = bytes - 1; i >= 0; --i) n = (n << 8) | p[i];
  return n;
}

}  // namespace

void check_pickle(const char* pickle, size_t size) {
  const auto* p = reinterpret_cast<const unsigned char*>(pickle);
  size_t depth = 0;           // items on the stack
  std::vector<size_t> marks;  // the depth at each mark
  size_t at = 0;
  while (at < size) {
    const unsigned char op = p[at];
    const Opcode o = opcode(op);
    if (!o.known) return;
    const size_t start = at++;

    switch (o.arg) {
      case Arg::None:
        break;
      case Arg::Fixed:
        if (size - at < static_cast<size_t>(o.bytes)) hostile(start, "has an argument that reaches past its end");
        // LONG_BINPUT: the unpickler grows its memo to the index. Pickles number their memo
        // entries from 0, each entry taking bytes of the pickle: a bigger index is hostile.
        if (op == 'r' && little_endian(p + at, 4) > size) hostile(start, "has a memo index beyond its size");
        at += o.bytes;
        break;
      case Arg::Line:
      case Arg::TwoLines:
        for (int line = 0; line < (o.arg == Arg::Line ? 1 : 2); ++line) {
          const void* end = std::memchr(p + at, '\n', size - at);
          if (!end) hostile(start, "has an argument that reaches past its end");
          at = static_cast<size_t>(static_cast<const unsigned char*>(end) - p) + 1;
        }
        break;
      case Arg::Length: {
        if (size - at < static_cast<size_t>(o.bytes)) hostile(start, "has a length that reaches past its end");
        const uint64_t n = little_endian(p + at, o.bytes);
        at += o.bytes;
        const bool negative = o.bytes == 4 && (op == 'T' || op == 0x8b) && (n & 0x80000000u);
        if (negative || n > size - at) hostile(start, "has a length that reaches past its end");
        at += n;
        break;
      }
    }

    // The stack: nothing may be taken from below the last mark, nor a mark that is not there.
    const size_t floor = marks.empty() ? 0 : marks.back();
    switch (o.stack) {
      case Stack::Mark:
        marks.push_back(depth);
        break;
      case Stack::ToMark:
        if (marks.empty() || marks.back() < static_cast<size_t>(o.below) ||
            marks.back() - o.below < (marks.size() > 1 ? marks[marks.size() - 2] : 0))
          hostile(start, "takes more from its stack than there is");
        depth = marks.back() + o.pushes;
        marks.pop_back();
        break;
      case Stack::Plain:
        if (depth - floor < static_cast<size_t>(o.pops)) hostile(start, "takes more from its stack than there is");
        depth = depth - o.pops + o.pushes;
        break;
    }
    if (op == '.') return;  // STOP
  }
}

}  // namespace avts::archive
