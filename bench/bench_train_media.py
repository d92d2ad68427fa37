#!/usr/bin/env python3
"""Training throughput on real media, decoding included: `avts train` against a Python loop.

Usage: /usr/bin/python3 bench/bench_train_media.py [--avts build/tools/avts] [--media ../shared/media]
                                                   [--files 48] [--threads 2] [--rounds 1] [--quick]

The case the compute-only benchmark (bench_train.py) leaves out: a corpus too large to keep
decoded, so every epoch decodes its files again. Ours is the whole command, `avts train
--cache-mb 0`: avtsdatasrc decodes the next file on a thread of its own while avtstrain trains
on the current one. The reference is what a plain PyTorch script does: decode a file with PyAV
(audio resampled to 16 kHz mono, log-mel with torchaudio; frames resized with
F.interpolate(antialias=True)), queue its clips, train, decode the next. Both: the compact
preset (whole frame), the GRID clips of the training speakers (s1 s4 s26 s31, tagged `train`:
no validation), stage 1 (each anchor with its positive and one easy negative from another file,
random crop and flip, audio gain), contrastive loss, SGD with momentum, batch 32 pairs, the same
thread count. Two epochs; the second is timed, wall clock, decoding included. With --rounds N
the two sides run alternately N times and the median ratio is reported: single runs on a shared
2-core machine move by 10-20 %.
"""
import argparse
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

os.environ["BENCH_GPU_DEVICE"] = "cpu"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpu"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import av  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import bench_gpu  # noqa: E402
from avts_reference import mel_spectrogram  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The compact preset (lib/frontend/config.cpp; `avts info` of a fresh avts-compact model).
RESIZE, CROP, FRAMES, WIDTH, MEL_FRAMES = 72, 64, 5, 16, 20
# center=True: torchaudio's default centred, reflect-padded frames, as this script has always used
# (not avts's framing, which mel_spectrogram() + log_mel() give); kept so that its numbers do not move.
MEL = mel_spectrogram(center=True)


def grid_files(media, count):
    files = []
    for speaker in ["s1", "s4", "s26", "s31"]:
        files += sorted(glob.glob(os.path.join(media, f"grid_{speaker}_*")))
    if len(files) < count:
        raise SystemExit(f"{media}: {len(files)} GRID clips of the training speakers, {count} asked for")
    return files[:count]


# ---- ours: the avts train command --------------------------------------------------------------

def ours(avts, manifest, threads, batch_pairs, workdir):
    """Seconds of epoch 2 (from the command's epoch lines) and the pairs it trained."""
    model = os.path.join(workdir, "ours.avts")
    env = dict(os.environ, AVTS_THREADS=str(threads))
    cmd = [avts, "train", manifest, "-o", model, "--preset", "avts-compact", "--epochs", "2", "--cache-mb", "0",
           "--batch-size", str(batch_pairs), "--seed", "1"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    done = {}
    for line in p.stderr:  # not a terminal: a line per epoch end, written as it ends
        m = re.match(r"epoch (\d)/2 done", line)
        if m:
            done[int(m.group(1))] = time.perf_counter()
    out = p.stdout.read()
    if p.wait() != 0 or len(done) != 2:
        raise SystemExit(f"avts train failed:\n{out}")
    info = json.loads(subprocess.run([avts, "info", "--json", model], capture_output=True, text=True,
                                     check=True).stdout)
    pairs = int(info["provenance"]["train_pairs"]) / 2  # both epochs train every file's clips once
    return {"pairs": pairs, "seconds": done[2] - done[1], "samples_per_s": pairs / (done[2] - done[1])}


# ---- the reference: decode with PyAV, then train ------------------------------------------------

def decode(path):
    """(frames T x h x w x 3 uint8 with short side RESIZE, log-mel N x 40)."""
    with av.open(path) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
        samples, frames = [], []
        for frame in container.decode(*container.streams.audio[:1], *container.streams.video[:1]):
            if isinstance(frame, av.AudioFrame):
                samples += [r.to_ndarray().reshape(-1) for r in resampler.resample(frame)]
            else:
                frames.append(torch.from_numpy(frame.to_ndarray(format="rgb24")))
        samples += [r.to_ndarray().reshape(-1) for r in resampler.resample(None)]
    audio = torch.from_numpy(np.concatenate(samples))
    logmel = torch.log(MEL(audio) + 1e-6).t().contiguous()
    video = torch.stack(frames).permute(0, 3, 1, 2).float()
    h, w = video.shape[2:]
    size = (RESIZE, round(w * RESIZE / h)) if h <= w else (round(h * RESIZE / w), RESIZE)
    video = F.interpolate(video, size=size, mode="bilinear", antialias=True, align_corners=False)
    return video.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous(), logmel


def reference(files, threads, batch_pairs):
    torch.set_num_threads(threads)
    step = bench_gpu.ContrastiveStep(WIDTH, CROP, FRAMES, MEL_FRAMES)

    def epoch():
        order = torch.randperm(len(files), generator=step.g).tolist()
        bank, queue, pairs, half = [], [], 0, batch_pairs // 2
        t0 = time.perf_counter()
        for i in order:
            frames, logmel = decode(files[i])
            bank.append((frames, logmel))
            f = len(bank) - 1
            slots = max(1, (frames.shape[0] - FRAMES + 1) // FRAMES)
            queue += [(f, min(k * FRAMES + step.rand(FRAMES), frames.shape[0] - FRAMES)) for k in range(slots)]
            while len(bank) >= 2 and len(queue) >= half:
                pick = set(torch.randperm(len(queue), generator=step.g)[:half].tolist())
                step(bank, [q for j, q in enumerate(queue) if j in pick])
                queue = [q for j, q in enumerate(queue) if j not in pick]
                pairs += 2 * half
        if queue:
            step(bank, queue)
            pairs += 2 * len(queue)
        return pairs, time.perf_counter() - t0

    epoch()  # warm-up
    pairs, seconds = epoch()
    return {"pairs": pairs, "seconds": seconds, "samples_per_s": pairs / seconds}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--avts", default=os.path.join(ROOT, "build", "tools", "avts"))
    ap.add_argument("--media", default=os.path.join(ROOT, "..", "shared", "media"))
    ap.add_argument("--files", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-pairs", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=1, help="alternate the two sides this many times")
    ap.add_argument("--quick", action="store_true", help="6 files, for a dry run")
    a = ap.parse_args()
    if a.quick:
        a.files = 6
    # Absolute: the manifest is written elsewhere, and its relative lines mean "beside the manifest".
    files = grid_files(os.path.abspath(a.media), a.files)
    rounds = []
    with tempfile.TemporaryDirectory() as work:
        manifest = os.path.join(work, "train.txt")
        with open(manifest, "w") as f:
            f.writelines(f"{path} train\n" for path in files)
        for _ in range(a.rounds):
            mine = ours(a.avts, manifest, a.threads, a.batch_pairs, work)
            theirs = reference(files, a.threads, a.batch_pairs)
            ratio = mine["samples_per_s"] / theirs["samples_per_s"]
            rounds.append(ratio)
            print(json.dumps({"host": platform.node(), "cpus": os.cpu_count(), "threads": a.threads,
                              "files": a.files, "torch": torch.__version__, "ours": mine, "python_loop": theirs,
                              "ratio": ratio}))
            print(f"avts-compact, {a.files} GRID clips decoded every epoch, batch {a.batch_pairs} pairs, "
                  f"{a.threads} threads: ours {mine['samples_per_s']:.1f} pairs/s, Python loop "
                  f"{theirs['samples_per_s']:.1f} pairs/s, ours/Python {ratio:.2f}x", flush=True)
    if len(rounds) > 1:
        print(f"{len(rounds)} rounds: ours/Python {' '.join(f'{r:.2f}' for r in rounds)}; "
              f"median {statistics.median(rounds):.2f}x")


if __name__ == "__main__":
    sys.exit(main())
