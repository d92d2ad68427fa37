#!/usr/bin/env bash
# The main job: install, build, then describe the model and extract audio and video
# features from a bundled real clip.  Usage: scripts/demo.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

scripts/bootstrap.sh
[ -f "$build/build.ninja" ] || meson setup "$build"
ninja -C "$build"

export GST_PLUGIN_PATH="$PWD/$build/gst"
avts="$build/tools/avts"
clip=tests/media/grid_s1_bbal8p.mpg
out="$build/demo"
mkdir -p "$out"

model=models/avts-compact.avts
if [ ! -f "$model" ]; then
  # No trained model ships yet: use a freshly initialised one.
  model="$out/untrained-compact.avts"
  "$avts" init --preset avts-compact --seed 0 -o "$model"
fi

"$avts" info "$model"
echo
"$avts" features "$clip" --model "$model" --modality audio -o "$out/audio.npy" --times "$out/audio_t.npy"
"$avts" features "$clip" --model "$model" --modality video --hop 200 -o "$out/video.npy" --times "$out/video_t.npy"
/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np
d = sys.argv[1]
for m in ("audio", "video"):
    x, t = np.load(f"{d}/{m}.npy"), np.load(f"{d}/{m}_t.npy")
    print(f"{m}: {x.shape[0]} windows x {x.shape[1]} dims, starts {t[0]:.2f} .. {t[-1]:.2f} s, "
          f"row norms {np.linalg.norm(x, axis=1).mean():.3f}")
PY
