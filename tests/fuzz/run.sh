#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*.cpp) with clang in their own build folder and
# runs each one for SECONDS from its seed corpus (tests/fuzz/corpus/TARGET). New inputs the
# fuzzer finds go to WORK/corpus-TARGET, never into the repository; a crash leaves its input
# in WORK and fails the run.
#
#   tests/fuzz/run.sh [SECONDS] [BUILD_DIR] [WORK]     (defaults: 5, build-fuzz, BUILD_DIR/work)
#
# The test suite runs it for a few seconds per target; a longer hunt is e.g.
#   tests/fuzz/run.sh 1800
# and a crash is replayed with  BUILD_DIR/tests/fuzz/fuzz_TARGET WORK/crash-...
# Without clang or libFuzzer it exits 77 (meson's "skipped"), or 1 when AVTS_REQUIRE_TOOLS=1
# (CI: scripts/bootstrap.sh installs them, so their absence is an error there).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-5}
build=$(realpath -m "${2:-$src/build-fuzz}")
work=$(realpath -m "${3:-$build/work}")

missing() {
  echo "fuzz: $1" >&2
  [ "${AVTS_REQUIRE_TOOLS:-0}" = 1 ] && exit 1
  exit 77
}
command -v clang++ >/dev/null || missing "clang++ not found (Debian: apt install clang libclang-rt-14-dev)"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
  clang++ -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null ||
  missing "clang++ cannot link libFuzzer (Debian: apt install libclang-rt-14-dev)"

if [ ! -f "$build/build.ninja" ]; then
  # Only the fuzz targets are built, at -O1 with line tables for readable stack traces.
  CC=clang CXX=clang++ meson setup "$build" "$src" --buildtype=plain -Dfuzz=true -Dtests=false \
    -Dcuda=disabled -Dcpp_args='-O1 -gline-tables-only' >"$build.setup.log" 2>&1 ||
    { cat "$build.setup.log" >&2; exit 1; }
fi
ninja -C "$build" fuzz >/dev/null

mkdir -p "$work"
# LibTorch and GLib keep a few allocations for the life of the process.
# Full stacks on malloc: GLib has no frame pointers, and the suppressions match deep frames.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0:malloc_context_size=64:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$src/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$src/tests/sanitizers/ubsan.supp"
export TMPDIR="$work"

status=0
for corpus in "$src"/tests/fuzz/corpus/*/; do
  target=$(basename "$corpus")
  binary="$build/tests/fuzz/fuzz_$target"
  [ -x "$binary" ] || { echo "fuzz: $binary was not built" >&2; status=1; continue; }
  mkdir -p "$work/corpus-$target"
  log="$work/$target.log"
  if "$binary" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
       -artifact_prefix="$work/$target-" "$work/corpus-$target" "$corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $target: ${runs:-?} inputs in ${seconds} s, no failure"
  else
    status=1
    echo "fuzz: $target FAILED; its input is in $work/$target-*; replay with $binary FILE" >&2
    tail -n 60 "$log" >&2
  fi
done
exit $status
