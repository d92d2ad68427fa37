#!/usr/bin/env bash
# Writes the shipped model's training manifest: every GRID clip under MEDIA_DIR, split by
# speaker so that validation measures speakers the model has never seen.
#   train:      speakers s1, s3, s4, s20, s22, s23, s25, s26, s30, s31, s32, s33
#   validation: speakers s2, s29
# Usage: train/shipped/manifest.sh MEDIA_DIR > manifest.txt
set -euo pipefail
media=${1:?usage: manifest.sh MEDIA_DIR}
shopt -s nullglob
train_speakers="s1 s3 s4 s20 s22 s23 s25 s26 s30 s31 s32 s33"
echo "# avts shipped model: GRID clips of $media (train $train_speakers, validation s2 s29)"
for speaker in $train_speakers; do
  for f in "$media"/grid_${speaker}_*; do echo "$f train"; done
done
for speaker in s2 s29; do
  for f in "$media"/grid_${speaker}_*; do echo "$f val"; done
done
