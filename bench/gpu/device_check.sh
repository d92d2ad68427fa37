#!/usr/bin/env bash
# The whole GPU check in one command, for a machine with CUDA, nvcc and PyTorch but no
# GStreamer, FFTW, GLib headers or package registry (the lent GPU machine):
#   1. configure lib/, its tests and bench/ without GStreamer, against the LibTorch inside the
#      PyTorch wheel, with the CUDA kernels for this GPU, reading the libraries carried in
#      .gpudeps/ (bench/gpu/fetch_deps.sh made it from Debian packages);
#   2. build libavts, the CUDA tests and gpu_bench (ninja -j16);
#   3. run the CUDA parity tests and the data-parallel tests (NCCL on this GPU: its
#      collectives, a one-rank NCCL run against one process; two NCCL ranks where there are
#      two GPUs); 4. the gradient exchange's cost (one-rank groups over Gloo and NCCL against
#      no group) and the benchmark (bench_gpu.py); 5. the other lib tests.
# Logs and results go to $OUT (default /tmp/avts-gpu-check). Run from the repository root:
#   bash bench/gpu/device_check.sh
# BENCH=0 leaves out step 4 (GROUP_BENCH=1 keeps its gradient-exchange part), LIB_TESTS=0 step 5.
# Dry run on a machine without a GPU: DRY_RUN=1 LIBTORCH= bash bench/gpu/device_check.sh
# (the system LibTorch; the GPU tests skip; the PyTorch side of the bench on the CPU).
set -uo pipefail
OUT=${OUT:-/tmp/avts-gpu-check}
mkdir -p "$OUT"
root=$(pwd)
deps=$root/.gpudeps
build=${BUILD:-build-gpu-device}
python=${PYTHON:-python3}
jobs=${JOBS:-16}
step() { echo "== $(date +%T) $*"; }
export PYTHONUNBUFFERED=1
# meson and ninja may come as Python packages beside PyTorch
PATH="$(dirname "$(command -v "$python")"):$PATH"

step machine
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 || true
echo "meson $(meson --version), ninja $(ninja --version), cmake $(cmake --version 2>/dev/null | head -1)"
echo "cores $(nproc); $(g++ --version | head -1); $(nvcc --version | tail -1); $($python --version)"
[ -x "$deps/bin/pkg-config" ] || { echo "no .gpudeps: run bench/gpu/fetch_deps.sh first and carry .gpudeps"; exit 1; }

# The carried libraries: pkg-config sees only them; programs load FFTW and GLib from them.
export PKG_CONFIG="$deps/bin/pkg-config" PATH="$deps/bin:$PATH"
export LD_LIBRARY_PATH="$deps/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ "${LIBTORCH-auto}" = auto ]; then
  LIBTORCH=$($python -c 'import os, torch; print(os.path.dirname(torch.__file__))') || exit 1
fi
echo "LibTorch: ${LIBTORCH:-the system one}"

step configure
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Dlibtorch="$LIBTORCH" -Dpython="$(command -v "$python")" -Dgstreamer=disabled -Dcuda=enabled \
    -Dgpu_arch="${GPU_ARCH:-90}" -Dbuildtype=release > "$OUT/build.log" 2>&1
  rc=$?
  tail -25 "$OUT/build.log"
  grep -E 'NCCL' "$OUT/build.log"
  [ $rc -eq 0 ] || { cp "$build/meson-logs/meson-log.txt" "$OUT/" 2>/dev/null; exit 1; }
fi

step build: libavts, the CUDA tests, gpu_bench
first=(lib/libavts.so tests/lib/test_cuda_video_prep tests/lib/test_cuda_logmel tests/lib/test_cuda_model
       tests/lib/test_train_distributed bench/gpu/gpu_bench)
ninja -C "$build" -k 0 -j "$jobs" "${first[@]}" >> "$OUT/build.log" 2>&1
rc=$?
grep -E -A12 '^FAILED|error:' "$OUT/build.log" | head -120
[ $rc -eq 0 ] || { echo "build failed (rc $rc)"; exit 1; }

step CUDA tests
export OMP_NUM_THREADS=2 AVTS_TEST_MEDIA="$root/tests/media"
for t in cuda_video_prep cuda_logmel cuda_model train_distributed; do
  "$build/tests/lib/test_$t" > /tmp/test_$t.log 2>&1
  echo "test_$t: rc $? $(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' /tmp/test_$t.log | tr '\n' ' ')"
  grep -E -B2 -A8 'Failure|SKIPPED \]' /tmp/test_$t.log | head -40
  cat /tmp/test_$t.log >> "$OUT/tests.log"
done

gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
if [ "$gpus" = 1 ] && [ -z "${DRY_RUN:-}" ]; then
  step "two NCCL ranks on one GPU: NCCL refuses them; both ranks must stop with an error, not hang"
  rm -rf /tmp/avts-nccl-shared && mkdir -p /tmp/avts-nccl-shared
  for rank in 0 1; do
    RANK=$rank WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29650 AVTS_TEST_WORKER_DIR=/tmp/avts-nccl-shared \
      AVTS_TEST_WORKER_DEVICE=cuda AVTS_TEST_WORKER_BACKEND=nccl timeout 120 \
      "$build/tests/lib/test_train_distributed" --gtest_filter=TrainDistributed.Worker > /tmp/avts-nccl-shared/log-$rank 2>&1 &
  done
  for rank in 0 1; do wait -n; echo "a rank ended: rc $?"; done
  for rank in 0 1; do
    echo "-- rank $rank"; grep -m3 -E 'exception|rror' /tmp/avts-nccl-shared/log-$rank | cut -c1-600
    cp /tmp/avts-nccl-shared/log-$rank "$OUT/nccl-shared-gpu-rank-$rank.log"
  done
fi

step "gradient exchange: one-rank groups (avts-mc3-18, batch 64, bfloat16)"
if [ "${BENCH:-1}" != 0 ] || [ "${GROUP_BENCH:-0}" = 1 ]; then
  port=29600
  for group in "" gloo nccl; do
    port=$((port + 1))
    MASTER_PORT=$port timeout 240 "$build/bench/gpu/gpu_bench" train avts-mc3-18 64 24 30 bfloat16 $group 2>&1 |
      tee -a "$OUT/group_bench.log"
  done
fi

step benchmark
if [ "${BENCH:-1}" = 0 ]; then
  echo "skipped (BENCH=0)"
elif [ -n "${DRY_RUN:-}" ]; then
  BENCH_GPU_DEVICE=cpu $python bench/gpu/bench_gpu.py --gpu-bench "$build/bench/gpu/gpu_bench" --quick --torch-only \
    --precision float32 --out "$OUT/gpu_bench_results.json" 2>&1 | tee "$OUT/bench.log"
else
  timeout "${BENCH_TIMEOUT:-240}" $python bench/gpu/bench_gpu.py --gpu-bench "$build/bench/gpu/gpu_bench" \
    --precision "${PRECISION:-bfloat16}" --out "$OUT/gpu_bench_results.json" 2>&1 | tee "$OUT/bench.log"
fi

[ "${LIB_TESTS:-1}" = 1 ] || { step done; exit 0; }
step the other lib tests
ninja -C "$build" -k 0 -j "$jobs" > /tmp/build_rest.log 2>&1 || grep -E -A12 '^FAILED|error:' /tmp/build_rest.log | head -60
cat /tmp/build_rest.log >> "$OUT/build.log"
timeout "${TESTS_TIMEOUT:-150}" meson test -C "$build" --suite lib --no-rebuild --num-processes 8 --print-errorlogs \
  > "$OUT/lib_tests.log" 2>&1
echo "lib tests: rc $?"
grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|SKIP)|^(Ok|Fail|Skipped|Timeout):' "$OUT/lib_tests.log"
step done
