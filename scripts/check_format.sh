#!/usr/bin/env bash
# Fails, listing the files, when the tracked sources are not formatted as the tree's
# configuration says: C, C++ and CUDA by clang-format (.clang-format), Python by flake8
# (.flake8). scripts/test.sh runs it, so CI fails on unformatted code.
# Fix the C/C++ side with:  clang-format-14 -i $(git ls-files '*.c' '*.h' '*.cpp' '*.cu')
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
mapfile -t sources < <(git ls-files '*.c' '*.h' '*.cpp' '*.cu')
if ! clang-format-14 --dry-run --Werror "${sources[@]}" 2>/tmp/avts-format.$$; then
  echo "format: these files differ from .clang-format (run clang-format-14 -i on them):" >&2
  grep -o '^[^:]*:[0-9]*:[0-9]*: error' /tmp/avts-format.$$ | cut -d: -f1 | sort -u | sed 's/^/  /' >&2
  status=1
fi
rm -f /tmp/avts-format.$$
mapfile -t python < <(git ls-files '*.py')
flake8 "${python[@]}" || { echo "format: flake8 found the problems above" >&2; status=1; }
[ $status -eq 0 ] && echo "format: ${#sources[@]} C/C++/CUDA and ${#python[@]} Python files as configured"
exit $status
