#!/usr/bin/env bash
# Checks the formatting, builds avts and runs the whole test suite (lib gtests, element harness tests, parity
# tests against the Python references, end-to-end runs of the README and examples/,
# reliability tests with a short fuzzing run), then the element tests under ASan + UBSan (a
# second build in BUILD_DIR-asan) and the state cycling under valgrind (tests/RELIABILITY.md).
# Usage: scripts/test.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/bootstrap.sh
# Unformatted code fails the run (after the tests, so that they still run and report).
format=0
scripts/check_format.sh || format=$?
# One GPU architecture is enough to catch a CUDA breakage here; release builds take the default list.
[ -f "$build/build.ninja" ] || meson setup "$build" -Dgpu_arch=90
ninja -C "$build"

status=0
# bootstrap installed clang and libFuzzer: the fuzzing test must run, not skip.
export AVTS_REQUIRE_TOOLS=1
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?
memory=0
tests/sanitizers/run.sh --short --asan "$build-asan" --valgrind "$build" --selfcheck || memory=$?

# One closing line, 'N passed, N failed', counted from meson's log.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
with open(sys.argv[1]) as log:
    for line in log:
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif result == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
[ $memory -eq 0 ] && echo "sanitizers and valgrind: passed" || echo "sanitizers and valgrind: FAILED"
[ $format -eq 0 ] && echo "formatting: passed" || echo "formatting: FAILED (scripts/check_format.sh)"
[ $status -eq 0 ] || exit $status
[ $memory -eq 0 ] || exit $memory
exit $format
