#!/usr/bin/env bash
# Memory checks beyond the test suite (tests/RELIABILITY.md):
#
#   --asan DIR      builds the element tests (meson suite 'gst') and state_cycles with
#                   AddressSanitizer + UndefinedBehaviorSanitizer (meson's b_sanitize) in DIR
#                   and runs them (state_cycles with 10 cycles); any report fails the run.
#                   LibTorch, GLib and GStreamer are not instrumented; allocations they keep
#                   for the process's life are listed in tests/sanitizers/lsan.supp.
#   --valgrind DIR  runs DIR's state_cycles (a normal build) under valgrind twice, with N and
#                   2N cycles of NULL -> PLAYING -> NULL: no memory error, and no more memory
#                   lost after 2N cycles than after N.
#
#   --short         under ASan, only the monitoring chain's element tests (avtsaudiofeat,
#                   avtsvideofeat, avtssync, avtssyncbin) and state_cycles: CI's short form.
#
#   tests/sanitizers/run.sh --asan build-asan --valgrind build        (everything)
#   tests/sanitizers/run.sh --short --asan build-asan --valgrind build (what CI runs)
#   tests/sanitizers/run.sh --asan build-asan --tests avtssync         (one test, while debugging)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
asan="" valgrind_build="" only=() cycles=${AVTS_VALGRIND_CYCLES:-3}
while [ $# -gt 0 ]; do
  case "$1" in
    --asan) asan=$(realpath -m "$2"); shift 2 ;;
    --valgrind) valgrind_build=$(realpath -m "$2"); shift 2 ;;
    --tests) read -ra only <<<"$2"; shift 2 ;;
    --short) only=(avtsaudiofeat avtsvideofeat avtssync avtssyncbin); shift ;;
    *) echo "usage: $0 [--short] [--asan BUILD_DIR] [--valgrind BUILD_DIR] [--tests 'NAME ...']" >&2; exit 2 ;;
  esac
done
[ -n "$asan$valgrind_build" ] || { echo "usage: $0 [--asan BUILD_DIR] [--valgrind BUILD_DIR]" >&2; exit 2; }
status=0

if [ -n "$asan" ]; then
  start=$SECONDS
  if [ ! -f "$asan/build.ninja" ]; then
    # -O1 with line tables: readable stack traces, and a build that stays quick.
    meson setup "$asan" "$src" --buildtype=plain -Db_sanitize=address,undefined -Db_lundef=false \
      -Dcuda=disabled -Dcpp_args='-O1 -g1 -fno-omit-frame-pointer' >"$asan.setup.log" 2>&1 ||
      { cat "$asan.setup.log" >&2; exit 1; }
  fi
  # The element tests (suite gst), or those named with --tests: their names, and the
  # programs to build for them and state_cycles (nothing else).
  selected=$(cd "$asan" && meson introspect --tests | /usr/bin/python3 -c '
import json, os, sys
only = sys.argv[1:]
for t in json.load(sys.stdin):
    if (t["name"] in only) if only else "avts:gst" in t["suite"]:
        print(t["name"], os.path.relpath(t["cmd"][0]))' "${only[@]}")
  [ -n "$selected" ] || { echo "sanitizers: no such tests: ${only[*]}" >&2; exit 2; }
  ninja -C "$asan" $(cut -d" " -f2 <<<"$selected") tests/reliability/state_cycles gst/libgstavts.so >/dev/null
  echo "sanitizers: ASan + UBSan build ready in $((SECONDS - start)) s"

  export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=64:${ASAN_OPTIONS:-}"
  export LSAN_OPTIONS="suppressions=$src/tests/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$src/tests/sanitizers/ubsan.supp"
  # The plugin scanner is a separate, uninstrumented program that cannot load an ASan
  # plugin: scan in the (instrumented) test process instead.
  export GST_REGISTRY_FORK=no
  if meson test -C "$asan" --no-rebuild --print-errorlogs --num-processes 2 -t 4 $(cut -d" " -f1 <<<"$selected") &&
     GST_PLUGIN_PATH="$asan/gst" GST_REGISTRY="$asan/tests/gst-registry.bin" \
       "$asan/tests/reliability/state_cycles" --cycles 8 --warmup 2 --max-growth-kb 1e9; then
    echo "sanitizers: ASan + UBSan: no report ($((SECONDS - start)) s)"
  else
    status=1
  fi
fi

if [ -n "$valgrind_build" ]; then
  start=$SECONDS
  program="$valgrind_build/tests/reliability/state_cycles"
  [ -x "$program" ] || ninja -C "$valgrind_build" tests/reliability/state_cycles >/dev/null
  # The registry is built first, outside valgrind, so that both runs start alike.
  export GST_PLUGIN_PATH="$valgrind_build/gst" GST_REGISTRY="$valgrind_build/valgrind-registry.bin"
  gst-inspect-1.0 avtssyncbin >/dev/null
  lost() {  # cycles -> "definitely indirectly" lost bytes; memory errors fail the run
    local log="$valgrind_build/valgrind-$1.log"
    valgrind --error-exitcode=99 --errors-for-leak-kinds=none --leak-check=full --num-callers=40 \
      --suppressions="$src/tests/sanitizers/valgrind.supp" \
      "$program" --cycles "$1" --warmup 1 --seconds 1.2 --timeout 600 --max-growth-kb 1e9 >"$log" 2>&1 ||
      { echo "sanitizers: valgrind found memory errors ($log):" >&2; grep -A20 "^==[0-9]*== [A-Z]" "$log" >&2; return 1; }
    local definite indirect
    definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
    indirect=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d ,)
    echo "${definite:-0} ${indirect:-0}"
  }
  if once=$(lost "$cycles") && twice=$(lost $((2 * cycles))); then
    echo "sanitizers: valgrind: lost (definitely, indirectly) after $cycles cycles: $once bytes; after $((2 * cycles)): $twice bytes ($((SECONDS - start)) s)"
    # Twice the cycles may not lose more (1 KiB of slack for what threads hold at exit).
    read -r d1 i1 <<<"$once"
    read -r d2 i2 <<<"$twice"
    [ $((d2 + i2)) -le $((d1 + i1 + 1024)) ] || { echo "sanitizers: memory lost grows with the state cycles" >&2; status=1; }
  else
    status=1
  fi
fi
exit $status
