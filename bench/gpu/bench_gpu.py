#!/usr/bin/env python3
"""GPU throughput: our C++ code (gpu_bench) against the same work in Python PyTorch, in one run.

Usage: python3 bench/gpu/bench_gpu.py --gpu-bench BUILD/bench/gpu/gpu_bench [--out results.json]
                                      [--precision bfloat16] [--quick]

Work (paper preset avts-mc3-18: 112 px crops of 128 px short sides, 25 frames, 40 x 100 log-mel):
  video features  clips of 25 decoded RGB frames (360 x 288, host memory) -> embeddings:
                  ours:  gpu::VideoClipEmbedder (resize/crop/normalise on the GPU, page-locked
                         double buffers, copies overlapped with compute)
                  torch: the idiomatic loop: batch stacked into page-locked memory, copied,
                         F.interpolate(antialias=True) + crop + normalise, the same network
  audio features  windows of 16240 samples (1 s of log-mel frames) -> embeddings:
                  ours:  gpu::AudioWindowEmbedder (cuFFT log-mel on the GPU)
                  torch: torchaudio MelSpectrogram on the GPU + log, the same network
  training        contrastive training with easy negatives, random crops and flips, audio gain:
                  ours:  avts::Trainer on synthetic files (frames stored at 128 px)
                  torch: the same sampling, augmentation, loss and SGD in a Python loop
Both sides: the same batch sizes, precision (autocast), cuDNN benchmark mode, warm-up before
timing; the networks are torchvision's mc3_18 blocks at the preset's width and the VGG of
lib/model/audio_net.cpp (tests/reference/avts_reference.py, found from this file's place in the tree).
Prints a table with the ratios; writes every number to --out.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

# The networks and the log-mel: the one reference, tests/reference/avts_reference.py (torch alone
# to import; torchvision when a network is made, torchaudio when the log-mel is).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
from avts_reference import MC3, MEAN, STD, VGG, log_mel, mel_spectrogram  # noqa: E402

RESIZE, CROP, FRAMES, WIDTH = 128, 112, 25, 64  # avts-mc3-18 (lib/frontend/config.cpp)
N_MELS, MEL_FRAMES, WINDOW = 40, 100, 16240
DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
# The PyTorch side runs on the CPU when BENCH_GPU_DEVICE=cpu: only to dry-run this script.
DEVICE = os.environ.get("BENCH_GPU_DEVICE", "cuda")


def autocast(precision):
    dtype = DTYPES[precision]
    return torch.autocast(DEVICE, dtype=dtype, enabled=dtype is not None and DEVICE == "cuda")


def synchronize():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def pinned(shape, dtype=torch.float32):
    t = torch.empty(shape, dtype=dtype)
    return t.pin_memory() if DEVICE == "cuda" else t


def timed(fn, warmup):
    fn(warmup)
    synchronize()
    t0 = time.perf_counter()
    n = fn(None)
    synchronize()
    return n, time.perf_counter() - t0


# ---- the PyTorch side -----------------------------------------------------------------------

def torch_video(batch, clips, precision, width, height):
    net = MC3(WIDTH).to(DEVICE).eval()
    mean = torch.tensor(MEAN, device=DEVICE).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=DEVICE).view(1, 3, 1, 1)
    # torchvision's Resize(int): the long side truncated
    size = (RESIZE, int(RESIZE * width / height)) if width > height else (int(RESIZE * height / width), RESIZE)
    top, left = round((size[0] - CROP) / 2), round((size[1] - CROP) / 2)
    pool = 2 * batch + 1
    frames = torch.randint(0, 256, (pool, FRAMES, height, width, 3), dtype=torch.uint8)
    staging = pinned((batch, FRAMES, height, width, 3), torch.uint8)

    def run(n):
        n = n or clips
        rows = []
        with torch.inference_mode():
            for first in range(0, n, batch):
                b = min(batch, n - first)
                torch.stack([frames[(first + i) % pool] for i in range(b)], out=staging[:b])
                x = staging[:b].to(DEVICE, non_blocking=True)
                x = x.permute(0, 1, 4, 2, 3).reshape(b * FRAMES, 3, height, width).float()
                x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
                x = (x[:, :, top:top + CROP, left:left + CROP] / 255 - mean) / std
                x = x.reshape(b, FRAMES, 3, CROP, CROP).permute(0, 2, 1, 3, 4)
                x = x.contiguous(memory_format=torch.channels_last_3d)  # cuDNN's fast layout, as ours
                with autocast(precision):
                    rows.append(net(x).float().cpu())
        return n

    n, seconds = timed(run, 3 * batch)
    return {"clips": n, "seconds": seconds, "clips_per_s": n / seconds}


def torch_audio(batch, windows, precision):
    net = VGG(WIDTH).to(DEVICE).eval()
    mel = mel_spectrogram().to(DEVICE)
    pool = 2 * batch + 1
    samples = torch.randn(pool, WINDOW) * 0.1
    staging = pinned((batch, WINDOW))

    def run(n):
        n = n or windows
        rows = []
        with torch.inference_mode():
            for first in range(0, n, batch):
                b = min(batch, n - first)
                torch.stack([samples[(first + i) % pool] for i in range(b)], out=staging[:b])
                x = staging[:b].to(DEVICE, non_blocking=True)
                x = log_mel(mel, x).unsqueeze(1)  # window centred in n_fft
                with autocast(precision):
                    rows.append(net(x).float().cpu())
        return n

    n, seconds = timed(run, 3 * batch)
    return {"windows": n, "seconds": seconds, "clips_per_s": n / seconds}


PAPER = {"resize": RESIZE, "crop": CROP, "frames": FRAMES, "width": WIDTH, "mel_frames": MEL_FRAMES}


class ContrastiveStep:
    """One step of avts::Trainer's stage 1 in PyTorch: each anchor's video clip (random crop and
    flip) with its positive audio and an easy negative (audio of another file, random gain),
    contrastive loss, SGD with momentum. `bank`: (frames T x H x W x 3 uint8, log-mel N x 40)
    per file; anchors: (file, first frame). `rand` draws from the one seeded generator."""

    def __init__(self, width, crop, frames, mel_frames, precision="float32"):
        self.crop, self.frames, self.mel_frames, self.precision = crop, frames, mel_frames, precision
        self.vnet, self.anet = MC3(width).to(DEVICE).train(), VGG(width).to(DEVICE).train()
        params = list(self.vnet.parameters()) + list(self.anet.parameters())
        self.opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
        self.mean = torch.tensor(MEAN, device=DEVICE).view(1, 1, 1, 1, 3) * 255
        self.std = torch.tensor(STD, device=DEVICE).view(1, 1, 1, 1, 3) * 255
        self.g = torch.Generator().manual_seed(1)

    def rand(self, hi):
        return int(torch.randint(0, hi, (1,), generator=self.g))

    def audio_clip(self, logmel, start):
        gain = 10 ** ((torch.rand(1, generator=self.g).item() * 12 - 6) / 10)
        x = logmel[start:start + self.mel_frames]
        return torch.log((x.exp() - 1e-6).clamp_min(0) * gain + 1e-6).t().unsqueeze(0)

    def __call__(self, bank, anchors):
        c, videos, pos, neg = self.crop, [], [], []
        for f, s in anchors:
            frames, logmel = bank[f]
            h, w = frames.shape[1:3]
            y, x = self.rand(h - c + 1), self.rand(w - c + 1)
            clip = frames[s:s + self.frames, y:y + c, x:x + c]
            videos.append(clip.flip(2) if self.rand(2) else clip)
            pos.append(self.audio_clip(logmel, min(4 * s, logmel.shape[0] - self.mel_frames)))
            other = bank[(f + 1 + self.rand(len(bank) - 1)) % len(bank)][1]
            neg.append(self.audio_clip(other, self.rand(other.shape[0] - self.mel_frames + 1)))
        n = len(anchors)
        video = torch.stack(videos).to(DEVICE)
        # N x T x H x W x C permuted to N x C x T x H x W: channels-last strides, as ours
        video = ((video.float() - self.mean) / self.std).permute(0, 4, 1, 2, 3)
        audio = torch.stack(pos + neg).to(DEVICE)
        y = torch.cat([torch.ones(n), torch.zeros(n)]).to(DEVICE)
        with autocast(self.precision):
            v, a = self.vnet(video), self.anet(audio)
        v, a = v.float().repeat(2, 1), a.float()
        d = (v - a).norm(dim=1)
        loss = (y * d ** 2 + (1 - y) * F.relu(0.99 - d) ** 2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.item()


def torch_train(batch_pairs, files, file_seconds, precision, shape=PAPER):
    """One epoch of warm-up, one timed: the work of avts::Trainer's steps in stage 1.
    `shape`: the preset's resize, crop, frames per clip, network width and log-mel frames."""
    RESIZE, CROP, FRAMES, WIDTH, MEL_FRAMES = (shape[k] for k in ("resize", "crop", "frames", "width", "mel_frames"))
    step = ContrastiveStep(WIDTH, CROP, FRAMES, MEL_FRAMES, precision)
    h, w = RESIZE, RESIZE * 4 // 3
    n_video, n_audio = int(file_seconds * 25), int(file_seconds * 100)
    stored = [(torch.randint(0, 256, (8, h, w, 3), dtype=torch.uint8)[torch.arange(n_video) % 8],
               torch.randn(n_audio, N_MELS) - 5) for _ in range(files)]
    slots = max(1, (n_video - FRAMES + 1) // FRAMES)

    def epoch():
        queue = [(f, k * FRAMES + step.rand(FRAMES)) for f in range(files) for k in range(slots)]
        queue = [(f, min(s, n_video - FRAMES)) for f, s in queue]
        order = torch.randperm(len(queue), generator=step.g).tolist()
        half = batch_pairs // 2
        pairs, t0, loss = 0, time.perf_counter(), 0.0
        for i in range(0, len(order), half):
            anchors = [queue[j] for j in order[i:i + half]]
            loss = step(stored, anchors)
            pairs += 2 * len(anchors)
        return pairs, time.perf_counter() - t0, loss

    epoch()  # warm-up
    pairs, seconds, loss = epoch()
    return {"pairs": pairs, "seconds": seconds, "samples_per_s": pairs / seconds, "loss": loss}


# ---- ours, and the comparison -----------------------------------------------------------------

def ours(gpu_bench, *args):
    out = subprocess.run([gpu_bench, *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"gpu_bench {' '.join(map(str, args))} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu-bench", default="build/bench/gpu/gpu_bench")
    ap.add_argument("--out", default="gpu_bench_results.json")
    ap.add_argument("--precision", default="bfloat16", choices=sorted(DTYPES))
    ap.add_argument("--quick", action="store_true", help="small counts, for a dry run of the script")
    ap.add_argument("--torch-only", action="store_true", help="the PyTorch side alone (dry runs without a GPU)")
    a = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    # batch sizes and amounts of work: the full run takes about a minute on an H200
    video_batch, clips, frame = (2, 4, (180, 144)) if a.quick else (32, 1024, (360, 288))
    audio_batch, windows = (4, 8) if a.quick else (64, 16384)
    train_batch, files, file_seconds = (4, 3, 3.0) if a.quick else (64, 24, 30.0)
    p = a.precision
    results = {"device": torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu", "torch": torch.__version__,
               "cuda": torch.version.cuda,
               "host": platform.node(), "cpus": os.cpu_count(), "precision": p}
    rows = []

    def compare(name, unit, mine, theirs):
        key = "samples_per_s" if unit == "samples/s" else "clips_per_s"
        mine = mine() if not a.torch_only else {key: math.nan}
        theirs = theirs()
        results[name] = {"ours": mine, "torch": theirs, "ratio": mine[key] / theirs[key]}
        rows.append((name, unit, mine[key], theirs[key], mine[key] / theirs[key]))
        print(f"{name}: ours {mine[key]:.1f} {unit}, PyTorch {theirs[key]:.1f} {unit}", flush=True)

    compare("video features", "clips/s",
            lambda: ours(a.gpu_bench, "video", "avts-mc3-18", video_batch, clips, p, *frame),
            lambda: torch_video(video_batch, clips, p, *frame))
    compare("audio features", "clips/s",
            lambda: ours(a.gpu_bench, "audio", "avts-mc3-18", audio_batch, windows, p),
            lambda: torch_audio(audio_batch, windows, p))
    compare("training", "samples/s",
            lambda: ours(a.gpu_bench, "train", "avts-mc3-18", train_batch, files, file_seconds, p),
            lambda: torch_train(train_batch, files, file_seconds, p))

    with open(a.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\n{results['device']}, torch {results['torch']}, {p}, paper preset avts-mc3-18 (112 px)")
    print(f"{'work':<16} {'unit':<10} {'ours':>10} {'PyTorch':>10} {'ours/PyTorch':>13}")
    for name, unit, mine, theirs, ratio in rows:
        print(f"{name:<16} {unit:<10} {mine:>10.1f} {theirs:>10.1f} {ratio:>12.2f}x")
    print(f"results in {a.out}")


if __name__ == "__main__":
    sys.exit(main())
