#!/usr/bin/env bash
# Installs every Debian package that the build, the tests and the benchmarks need.
# Idempotent: packages already present are left alone. Run as root (or with sudo).
set -euo pipefail

packages=(
  # build
  build-essential pkg-config meson ninja-build ccache
  libtorch-dev libfftw3-dev libglib2.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libgtest-dev libcairo2-dev nlohmann-json3-dev
  # c10d Gloo headers (distributed training on CPU)
  libgloo-dev
  # linear SVMs of avts probe
  liblinear-dev
  # face detection and tracking (lib/face: YuNet through OpenCV's FaceDetectorYN)
  libopencv-core-dev libopencv-imgproc-dev libopencv-dnn-dev libopencv-objdetect-dev
  # Debian's LibTorch calls BLAS through libblas.so.3: OpenBLAS makes that fast
  libopenblas0-pthread
  # runtime: demux and decode of ordinary media
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # formatting checks (scripts/check_format.sh)
  clang-format-14 flake8
  # reliability: libFuzzer targets (clang with its sanitizer and fuzzer runtimes),
  # leak checks under valgrind, peak memory of a command (/usr/bin/time)
  clang libclang-rt-14-dev valgrind time
  # references for parity tests and benchmarks (Debian's own python3)
  python3 python3-numpy python3-torch python3-torchvision python3-torchaudio
  python3-av python3-gi python3-gst-1.0
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
echo "bootstrap: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
