#!/usr/bin/env python3
"""CPU training throughput: avts::Trainer (train_bench) against a Python PyTorch loop, in one run.

Usage: /usr/bin/python3 bench/bench_train.py [--train-bench build/bench/train_bench]
                                             [--preset avts-compact] [--threads 2] [--quick]

Both sides do the same work on synthetic files (random frames stored at the preset's resize
size, noise audio): stage-1 contrastive training, each anchor with its positive and one easy
negative, random crops and flips, audio gain, SGD with momentum, the same batch, the same
thread count; one epoch warms up, the next is timed. The PyTorch side is bench/gpu/bench_gpu.py's
training loop run on the CPU, with the preset's shape as train_bench reports it.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

os.environ["BENCH_GPU_DEVICE"] = "cpu"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu"))
import torch  # noqa: E402
import bench_gpu  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train-bench", default="build/bench/train_bench")
    ap.add_argument("--preset", default="avts-compact")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-pairs", type=int, default=32)
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each synthetic file")
    ap.add_argument("--quick", action="store_true", help="small counts, for a dry run")
    a = ap.parse_args()
    if a.quick:
        a.batch_pairs, a.files, a.seconds = 8, 3, 3.0
    torch.set_num_threads(a.threads)

    args = [a.train_bench, a.preset, a.batch_pairs, a.files, a.seconds, a.threads]
    out = subprocess.run(list(map(str, args)), capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"train_bench failed:\n{out.stderr}")
    ours = json.loads(out.stdout.strip().splitlines()[-1])
    theirs = bench_gpu.torch_train(a.batch_pairs, a.files, a.seconds, "float32", shape=ours["shape"])
    ratio = ours["samples_per_s"] / theirs["samples_per_s"]
    print(json.dumps({"host": platform.node(), "cpus": os.cpu_count(), "threads": a.threads, "torch": torch.__version__,
                      "preset": a.preset, "ours": ours, "torch_loop": theirs, "ratio": ratio}))
    print(f"{a.preset}, batch {a.batch_pairs} pairs, {a.threads} threads: ours {ours['samples_per_s']:.1f} pairs/s, "
          f"PyTorch {theirs['samples_per_s']:.1f} pairs/s, ours/PyTorch {ratio:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
