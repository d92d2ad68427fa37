#!/usr/bin/env bash
# Rebuilds the shipped model (models/avts-compact.avts) from scratch: the GRID clips of
# MEDIA_DIR split by speaker (manifest.sh); a fresh avts-compact model (seed 1) that looks at
# the lower middle of the picture, where the talking heads' mouths are, through inputs that
# carry little of the speaker (gray-motion video, band-mean audio); then one `avts train`
# run with the settings measured in models/README.md. Extra arguments go to `avts train` after
# the recipe's own, so they override them (tests shorten the run with --epochs 1).
# Usage: train/shipped/recipe.sh MEDIA_DIR [OUTPUT] [avts train flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
media=${1:?usage: train/shipped/recipe.sh MEDIA_DIR [OUTPUT] [avts train flags...]}
out=${2:-models/avts-compact.avts}
shift $(( $# >= 2 ? 2 : 1 ))
avts=${AVTS:-build/tools/avts}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
train/shipped/manifest.sh "$media" > "$work/manifest.txt"
"$avts" init -o "$work/init.avts" --preset avts-compact --seed 1 --region 0.2,0.45,0.6,0.5 \
  --video-input gray-motion --audio-normalise band-mean > /dev/null

# Two threads, as the model card's timing; the seed fixes weights, sampling and augmentation.
AVTS_THREADS=${AVTS_THREADS:-2} "$avts" train "$work/manifest.txt" -o "$out" \
  --init "$work/init.avts" --seed 1 \
  --epochs 40 --batch-size 32 --negatives 4 \
  --curriculum paper-fine --easy-epochs 0 --mixed-epochs 30 --hard-fraction 1.0 \
  --optimizer adamw --lr 0.001 --schedule cosine --loss multi-way \
  "$@"
