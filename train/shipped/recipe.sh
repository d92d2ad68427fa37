#!/usr/bin/env bash
# Rebuilds the shipped model (models/avts-compact.avts) from scratch: the GRID clips of
# MEDIA_DIR split by speaker (manifest.sh), then one `avts train` run with the settings
# measured in models/README.md. Extra arguments go to `avts train` after the recipe's own,
# so they override them (tests shorten the run with --epochs 1). The shipped file is the model
# this run writes after epoch 7 of 10 (see models/README.md).
# Usage: train/shipped/recipe.sh MEDIA_DIR [OUTPUT] [avts train flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
media=${1:?usage: train/shipped/recipe.sh MEDIA_DIR [OUTPUT] [avts train flags...]}
out=${2:-models/avts-compact.avts}
shift $(( $# >= 2 ? 2 : 1 ))
avts=${AVTS:-build/tools/avts}

manifest=$(mktemp --suffix=.txt)
trap 'rm -f "$manifest"' EXIT
train/shipped/manifest.sh "$media" > "$manifest"

# Two threads, as the model card's timing; the seed fixes weights, sampling and augmentation.
AVTS_THREADS=${AVTS_THREADS:-2} "$avts" train "$manifest" -o "$out" \
  --preset avts-compact --seed 1 \
  --epochs 10 --batch-size 32 --negatives 4 \
  --curriculum paper-fine --easy-epochs 0 --mixed-epochs 7 --hard-fraction 1.0 \
  --optimizer adamw --lr 0.001 --schedule cosine \
  "$@"
