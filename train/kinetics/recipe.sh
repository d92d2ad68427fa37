#!/usr/bin/env bash
# The corpus-scale run (Kinetics, AudioSet or a corpus of your own laid out the same way): the
# paper's model and training, data-parallel over every GPU of this machine through torchrun.
#   - model: avts-mc3-18 (MC3-18 video network on 112 px crops of 128 px frames, 1 s clips,
#     VGG-style audio network on log-mel spectrograms), the whole frame;
#   - training: the contrastive loss (margin 0.99) and the paper's curriculum: 10 epochs of easy
#     negatives only (audio of another file), then 75 % easy / 25 % hard (the same file's audio
#     shifted 0.5-2 s); positives and negatives 1:1; SGD with momentum 0.9, lr 0.01 cosine, a
#     short warm-up for the large global batch (32 pairs per GPU);
#   - data: manifest.py splits ROOT/train*/ from ROOT/val*/ (validation: sync accuracy each
#     epoch and the decision threshold); each rank decodes its shard, two files ahead of the
#     trainer, and keeps up to 8 GB of decoded clips for later epochs.
# Usage: train/kinetics/recipe.sh ROOT OUTPUT [avts train flags...]   (later flags win)
#   NPROC (default: the GPUs nvidia-smi lists, else 1), DEVICE (default: cuda with GPUs, else
#   cpu), AVTS (default: avts on PATH, else build/tools/avts). For several machines run it on
#   each with NNODES, NODE_RANK and MASTER_ADDR set (torchrun's --nnodes / --node_rank /
#   --master_addr); under Slurm use train/distributed/slurm.sbatch with these flags instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${1:?usage: train/kinetics/recipe.sh ROOT OUTPUT [avts train flags...]}
out=${2:?usage: train/kinetics/recipe.sh ROOT OUTPUT [avts train flags...]}
shift 2
avts=${AVTS:-$(command -v avts || echo "$here/../../build/tools/avts")}

gpus=$( (nvidia-smi -L 2>/dev/null || true) | grep -c '^GPU' || true)
nproc=${NPROC:-$(( gpus > 0 ? gpus : 1 ))}
device=${DEVICE:-$( (( gpus > 0 )) && echo cuda || echo cpu)}

mkdir -p "$(dirname "$out")"
manifest=$out.manifest.txt
"$here/manifest.py" "$root" > "$manifest"
echo "recipe: $(head -n 1 "$manifest" | sed 's/^# //'); $nproc process(es) on $device" >&2

# Every rank's stdout (its summary) goes to a file under OUTPUT.logs/, stderr (rank 0's progress,
# every rank's warnings) to the console as well; setting both also avoids a bug of Debian 12's
# torchrun (PyTorch 1.13 on Python 3.11), which fails on their defaults.
logs=$out.logs
launch=(torchrun --nnodes "${NNODES:-1}" --node_rank "${NODE_RANK:-0}" --nproc_per_node "$nproc"
        --master_addr "${MASTER_ADDR:-127.0.0.1}" --master_port "${MASTER_PORT:-29500}"
        --log_dir "$logs" --redirects 1 --tee 2 --no_python)
"${launch[@]}" "$avts" train "$manifest" -o "$out" --device "$device" \
  --preset avts-mc3-18 --seed 1 \
  --epochs 30 --batch-size 32 --negatives 1 \
  --curriculum paper --easy-epochs 10 --hard-fraction 0.25 --loss contrastive \
  --optimizer sgd --lr 0.01 --schedule cosine --warmup-steps 500 --weight-decay 0.0001 \
  --cache-mb 8192 --decode-ahead 2 \
  "$@"
# Rank 0's summary of this run (on the machine of rank 0).
if [ "${NODE_RANK:-0}" = 0 ]; then cat "$(ls -t "$logs"/*/attempt_*/0/stdout.log | head -n 1)"; fi
