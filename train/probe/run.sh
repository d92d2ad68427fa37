#!/usr/bin/env bash
# The GRID linear probes: which command (bin/lay/place/set) and which colour (blue/green/red/
# white) a GRID sentence says, from MODEL's frozen features and from a freshly initialised
# network of the same preset and seed (avts probe --random-init), with file folds and with
# held-out speakers. Writes one JSON per probe and a Markdown table of them.
#
# Usage: train/probe/run.sh MODEL [OUT_DIR]     (OUT_DIR: train/probe/results/<model name>)
# Environment:
#   AVTS_MEDIA   folder of the GRID clips (default: ../shared/media beside the repository)
#   AVTS         the avts command (default: build/tools/avts in the repository)
#   MODALITIES   default "audio video"      LAYERS  default "embedding" (comma list, or all)
#   SPLITS       default "file speaker"     PROBE_ARGS  more avts probe options, e.g. "--C auto"
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
model=$1
out=${2:-$here/results/$(basename "${model%.*}")}
export AVTS_MEDIA=${AVTS_MEDIA:-$(cd "$repo/.." && pwd)/shared/media}
avts=${AVTS:-$repo/build/tools/avts}
[ -d "$AVTS_MEDIA" ] || { echo "run.sh: no media folder $AVTS_MEDIA: set AVTS_MEDIA" >&2; exit 2; }
[ -x "$avts" ] || { echo "run.sh: no avts command at $avts: build it or set AVTS" >&2; exit 2; }

mkdir -p "$out"
for task in command colour; do
  for split in ${SPLITS:-file speaker}; do
    manifest=$here/grid_$task.tsv
    [ "$split" = speaker ] && manifest=$here/grid_${task}_by_speaker.tsv
    for modality in ${MODALITIES:-audio video}; do
      json=$out/${task}_${split}_$modality.json
      echo "run.sh: $task, $split folds, $modality -> $json" >&2
      # shellcheck disable=SC2086  # PROBE_ARGS is a list of options
      "$avts" probe "$manifest" --model "$model" --modality "$modality" --layer "${LAYERS:-embedding}" \
        --random-init --json ${PROBE_ARGS:-} > "$json.tmp"
      mv "$json.tmp" "$json"
    done
  done
done
/usr/bin/python3 "$here/table.py" "$out"/*.json > "$out/table.md"
cat "$out/table.md"
