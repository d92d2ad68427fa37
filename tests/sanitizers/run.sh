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
#                   lost after 2N cycles than after N. GStreamer sees only the plugins the
#                   pipeline uses (a private registry), so no other library loads under valgrind.
#   --selfcheck     with --valgrind: then shows that the check can fail, on a planted invalid
#                   read and a planted leak (state_cycles --plant both).
#
#   --short         under ASan, only the monitoring chain's element tests (avtsaudiofeat,
#                   avtsvideofeat, avtssync, avtssyncbin) and state_cycles: CI's short form.
#
#   tests/sanitizers/run.sh --asan build-asan --valgrind build        (everything)
#   tests/sanitizers/run.sh --short --asan build-asan --valgrind build (what CI runs)
#   tests/sanitizers/run.sh --asan build-asan --tests avtssync         (one test, while debugging)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
asan="" valgrind_build="" selfcheck="" only=() cycles=${AVTS_VALGRIND_CYCLES:-3}
while [ $# -gt 0 ]; do
  case "$1" in
    --asan) asan=$(realpath -m "$2"); shift 2 ;;
    --valgrind) valgrind_build=$(realpath -m "$2"); shift 2 ;;
    --tests) read -ra only <<<"$2"; shift 2 ;;
    --short) only=(avtsaudiofeat avtsvideofeat avtssync avtssyncbin); shift ;;
    --selfcheck) selfcheck=1; shift ;;
    *) echo "usage: $0 [--short] [--asan BUILD_DIR] [--valgrind BUILD_DIR [--selfcheck]] [--tests 'NAME ...']" >&2; exit 2 ;;
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
  # Debian's LibTorch links libavcodec -> libjxl -> libhwy, whose start-up code runs RDTSCP;
  # valgrind 3.19 cannot decode it where CPUID hides it (some virtual machines): a shim takes
  # the place of that one libhwy function (tests/sanitizers/hwy_timer.c). Checked here, outside
  # valgrind, that the dynamic linker binds libhwy's call to the shim.
  shim="$valgrind_build/tests/sanitizers/libhwy_timer.so"
  [ -f "$shim" ] || ninja -C "$valgrind_build" tests/sanitizers/libhwy_timer.so >/dev/null
  # A registry of just the plugins the pipeline uses, built first, outside valgrind: every run
  # starts alike on every machine, and no other plugin's libraries can load.
  plugins="$valgrind_build/valgrind-plugins"
  system="$(pkg-config --variable=pluginsdir gstreamer-1.0)"
  rm -rf "$plugins" && mkdir -p "$plugins"
  ln -s "$valgrind_build/gst/libgstavts.so" "$plugins/"
  for p in coreelements app audiotestsrc videotestsrc audioconvert audioresample videoconvertscale; do
    ln -s "$system/libgst$p.so" "$plugins/"
  done
  unset GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH_1_0
  export GST_PLUGIN_SYSTEM_PATH="$plugins" GST_PLUGIN_PATH="" GST_REGISTRY="$plugins/registry.bin"
  gst-inspect-1.0 avtssyncbin >/dev/null
  LD_DEBUG=bindings LD_PRELOAD="$shim" "$program" --cycles 1 --warmup 0 --seconds 0.4 >/dev/null 2>"$plugins/bindings.log" || true
  grep -q "libhwy.* to .*libhwy_timer.so.*TimerResolution" "$plugins/bindings.log" ||
    { echo "sanitizers: libhwy's start-up timer does not bind to $shim ($plugins/bindings.log)" >&2; exit 1; }
  rm -f "$plugins/bindings.log"
  # state_cycles under memcheck; prints the log's file. Fails with one clear line when valgrind
  # cannot run the program at all (an instruction it cannot decode), telling that apart from a
  # memory error.
  memcheck() {  # log-name, state_cycles arguments...
    local log="$valgrind_build/valgrind-$1.log"; shift
    LD_PRELOAD="$shim" valgrind --error-exitcode=99 --errors-for-leak-kinds=none --leak-check=full --num-callers=40 \
      --suppressions="$src/tests/sanitizers/valgrind.supp" \
      "$program" --warmup 1 --seconds 1.2 --timeout 600 --max-growth-kb 1e9 "$@" >"$log" 2>&1
    local rc=$?
    if grep -q "Unrecognised instruction\|unhandled instruction bytes" "$log"; then
      echo "sanitizers: valgrind cannot execute this program on this CPU (an instruction it does not decode;" \
        "not a memory error): $(grep -m1 -A1 'Unrecognised instruction' "$log" | tail -1) ($log)" >&2
      return 2
    fi
    echo "$log"
    return $rc
  }
  lost() {  # log -> "definitely indirectly" lost bytes
    local definite indirect
    definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$1" | tr -d ,)
    indirect=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$1" | tr -d ,)
    echo "$(( ${definite:-0} + ${indirect:-0} ))"
  }
  check() {  # cycles -> lost bytes; memory errors fail the run
    local log rc=0
    log=$(memcheck "$1" --cycles "$1") || rc=$?
    [ $rc -eq 2 ] && return 1
    [ $rc -eq 0 ] || { echo "sanitizers: valgrind found memory errors ($log):" >&2; grep -A20 "^==[0-9]*== [A-Z]" "$log" >&2; return 1; }
    lost "$log"
  }
  if once=$(check "$cycles") && twice=$(check $((2 * cycles))); then
    echo "sanitizers: valgrind: lost (definitely + indirectly) after $cycles cycles: $once bytes; after $((2 * cycles)): $twice bytes ($((SECONDS - start)) s)"
    # Twice the cycles may not lose more (1 KiB of slack for what threads hold at exit).
    [ "$twice" -le $((once + 1024)) ] || { echo "sanitizers: memory lost grows with the state cycles" >&2; status=1; }
  else
    status=1
  fi
  if [ -n "$selfcheck" ] && [ $status -eq 0 ]; then
    # The check must be able to fail: one run with a planted invalid read (a memory error) and
    # a planted leak (64 KiB a cycle, definitely lost).
    rc=0; log=$(memcheck planted --cycles 1 --plant both) || rc=$?
    read=$(grep -c "Invalid read of size 1" "$log" || true) leaked=$(lost "$log")
    if [ $rc -eq 99 ] && [ "$read" -gt 0 ] && [ "$leaked" -ge 65536 ]; then
      echo "sanitizers: valgrind catches a planted invalid read and a planted leak ($((SECONDS - start)) s)"
    else
      # Why, in CI's own log: valgrind's exit status, the reads it reported, the bytes lost.
      echo "sanitizers: valgrind missed a planted invalid read or leak (exit status $rc, want 99;" \
        "$read invalid reads reported; $leaked bytes lost, want 65536 or more; $log):" >&2
      grep -v "^==[0-9]*==    \(at\|by\) " "$log" | tail -40 >&2
      status=1
    fi
  fi
fi
exit $status
