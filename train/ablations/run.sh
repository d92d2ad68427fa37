#!/usr/bin/env bash
# The paper's ablations at this project's scale (issue 8): every variant is the shipped recipe
# (train/shipped/recipe.sh: the lower-middle region, 40 epochs, AdamW 0.001 cosine, batch 32,
# 4 negatives, seed 1, the fine-shift stage for the last 10 epochs) with one thing changed, so
# that each gets the same budget. Each is then measured the same way: `avts eval` on the
# validation speakers (forced and at the default confidence) and the GRID linear probes.
#
# Usage: train/ablations/run.sh MEDIA_DIR [OUT_DIR] [VARIANT...]
#   OUT_DIR default train/ablations/results; VARIANTs default all (names below).
#   AVTS (default build/tools/avts), AVTS_THREADS (default 2), PROBE=0 skips the probes,
#   SEED (default 1: the shipped recipe's) seeds the initial weights and the training; another
#   seed tells whether a result is the variant's or the seed's (use another OUT_DIR).
# Each variant takes about 40 minutes on 2 idle cores; a finished variant (its eval.json
# exists) is not run again, so the script can be stopped and started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
media=${1:?usage: train/ablations/run.sh MEDIA_DIR [OUT_DIR] [VARIANT...]}
media=$(cd "$media" && pwd)
out=${2:-$here/results}
shift $(( $# >= 2 ? 2 : 1 ))
avts=${AVTS:-$repo/build/tools/avts}
export AVTS_THREADS=${AVTS_THREADS:-2}
seed=${SEED:-1}

# name | what changes against the shipped recipe (avts train flags)
variants=(
  "multi-way-hard|"
  "contrastive-hard|--loss contrastive"
  "cross-entropy-hard|--loss cross-entropy"
  "curriculum-75-25|--easy-epochs 10 --mixed-epochs 20 --hard-fraction 0.25"
  "curriculum-50-50|--easy-epochs 10 --mixed-epochs 20 --hard-fraction 0.5"
  "easy-only|--curriculum easy-only"
)
selected=("$@")

mkdir -p "$out"
"$repo/train/shipped/manifest.sh" "$media" > "$out/manifest.txt"
"$avts" init -o "$out/init.avts" --preset avts-compact --seed "$seed" --region 0.2,0.45,0.6,0.5 > /dev/null

for v in "${variants[@]}"; do
  name=${v%%|*}
  read -r -a flags <<< "${v#*|}"
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $name "* ]]; then continue; fi
  dir=$out/$name
  [ -f "$dir/eval.json" ] && { echo "== $name: done before"; continue; }
  mkdir -p "$dir"
  echo "== $name: avts train ${flags[*]}"
  resume=()
  [ -f "$dir/model.avts.ckpt" ] && resume=(--resume "$dir/model.avts.ckpt")
  "$avts" train "$out/manifest.txt" -o "$dir/model.avts" --init "$out/init.avts" --seed "$seed" \
    --epochs 40 --batch-size 32 --negatives 4 \
    --curriculum paper-fine --easy-epochs 0 --mixed-epochs 30 --hard-fraction 1.0 \
    --optimizer adamw --lr 0.001 --schedule cosine --loss multi-way \
    "${flags[@]}" "${resume[@]}" 2>&1 | tee "$dir/train.log" | grep -E "done|validation" || true
  "$avts" eval "$out/manifest.txt" --model "$dir/model.avts" --split validation --min-confidence 0 --json \
    > "$dir/eval_forced.json"
  "$avts" eval "$out/manifest.txt" --model "$dir/model.avts" --split validation --json > "$dir/eval.json.part"
  mv "$dir/eval.json.part" "$dir/eval.json"
  if [ "${PROBE:-1}" = 1 ]; then
    AVTS="$avts" AVTS_MEDIA="$media" SPLITS=speaker "$repo/train/probe/run.sh" "$dir/model.avts" "$dir/probe" > /dev/null
  fi
done
/usr/bin/python3 "$here/table.py" "$out" | tee "$out/table.md"
