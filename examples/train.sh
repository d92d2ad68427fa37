#!/bin/sh
# Self-supervised training as a pipeline: avtsdatasrc decodes the files of a manifest, epoch
# after epoch (from its cache after the first), and avtstrain trains an AVTS model on them,
# writing it (and a checkpoint) after every epoch. Settings, each can be set beforehand:
#   MANIFEST  one media path or URI per line, optionally followed by train or val
#             (default: the bundled clips, tests/media/train.txt)
#   EPOCHS    epochs to train (default 2)
#   OUT       where trained.avts and trained.ckpt are written (default: the current folder)
#   MANIFEST=corpus.txt EPOCHS=30 examples/train.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
MANIFEST=${MANIFEST:-$root/tests/media/train.txt}
EPOCHS=${EPOCHS:-2}
OUT=${OUT:-.}
AVTS=${AVTS:-${AVTS_TOOL:-$root/build/tools/avts}}
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$root/build/gst}

# gst-launch prints avtstrain's PROGRESS messages (epoch, step, loss, pairs/s); -m would also
# print every avts-train-progress message with the validation accuracies. short-side=72 sends
# the video at the size avts-compact uses, so the cache holds 16x less than at 360x288.
# (The defaults after ":-" are for running this line alone, from the source folder.)
gst-launch-1.0 avtsdatasrc manifest="${MANIFEST:-tests/media/train.txt}" epochs="${EPOCHS:-2}" short-side=72 name=d \
  d.audio_src ! t.audio_sink d.video_src ! t.video_sink \
  avtstrain name=t preset=avts-compact batch-size=8 output="$OUT/trained.avts" checkpoint="$OUT/trained.ckpt"

# The model: preset, fitted threshold, provenance (epochs, steps, validation accuracy).
"$AVTS" info "$OUT/trained.avts"
