#!/usr/bin/python3
"""Feature extraction speed: the avts command against a Python reference, in one run.

Usage: /usr/bin/python3 bench/bench_features.py [--build build] [--clip FILE] [--threads 2]

For each preset (avts-compact, avts-mc3-18) and each modality it times
  ours:      `avts features CLIP --modality M` (GStreamer decode + our front end + network),
  reference: PyAV decode + torchaudio log-mel / torch resize-crop-normalise + the same network
             in PyTorch (torchvision's mc3_18 blocks at the preset's width; the same VGG: both
             from tests/reference/avts_reference.py),
with the same windows (audio: 1 s every 40 ms; video: 1 s every 1 s, 25 frames picked by PTS),
the same batch sizes and the same thread count. It also measures the networks alone (random
input, no decoding) on both sides, the machine's float32 GEMM peak (torch.mm), and the FLOP/s that
the paper preset's video network achieves. Prints a table and a JSON line.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import av
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
from avts_reference import MC3, VGG, decode_mono_16k, log_mel, mel_spectrogram  # noqa: E402
import avts_reference  # noqa: E402
PRESETS = {  # must match lib/frontend/config.cpp
    "avts-compact": dict(resize=72, crop=64, video_width=16, audio_width=16, frames=5, mel_frames=20),
    "avts-mc3-18": dict(resize=128, crop=112, video_width=64, audio_width=64, frames=25, mel_frames=100),
}
MEAN = torch.tensor(avts_reference.MEAN).view(3, 1, 1)
STD = torch.tensor(avts_reference.STD).view(3, 1, 1)
AUDIO_HOP_FRAMES, AUDIO_BATCH, VIDEO_BATCH = 4, 8, 4


def flops_per_clip(net, x):
    """Multiply-adds x 2 of every conv and linear layer for one input."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            k = np.prod(m.kernel_size) * m.in_channels // m.groups
            total[0] += 2 * k * out.numel()
        elif isinstance(m, nn.Linear):
            total[0] += 2 * m.in_features * out.numel()
    hooks = [m.register_forward_hook(hook) for m in net.modules()]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return total[0] / x.shape[0]


def best_of(fn, runs):
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_peak(n=2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    return 2 * n ** 3 / best_of(lambda: torch.mm(a, b), 5)


# ---- the Python reference pipelines -------------------------------------------------------

def reference_audio(clip, net, mel_frames=100):
    samples = torch.from_numpy(decode_mono_16k(clip))
    logmel = log_mel(mel_spectrogram(), samples)  # 40 x frames
    starts = range(0, logmel.shape[1] - mel_frames + 1, AUDIO_HOP_FRAMES)
    windows = torch.stack([logmel[:, s:s + mel_frames] for s in starts]).unsqueeze(1)
    out = []
    with torch.no_grad():
        for i in range(0, len(windows), AUDIO_BATCH):
            out.append(net(windows[i:i + AUDIO_BATCH]))
    return torch.cat(out)


def reference_video(clip, net, resize, crop, hop_frames=25, frames=25):
    def prepare(img):  # short side -> resize (antialiased bilinear), centre crop, normalise
        x = torch.from_numpy(img).permute(2, 0, 1).float().unsqueeze(0) / 255
        h, w = x.shape[2:]
        s = resize / min(h, w)
        x = F.interpolate(x, size=(max(resize, round(h * s)), max(resize, round(w * s))), mode="bilinear",
                          antialias=True, align_corners=False)[0]
        top, left = (x.shape[1] - crop) // 2, (x.shape[2] - crop) // 2
        return (x[:, top:top + crop, left:left + crop] - MEAN) / STD

    picked, prev, g = [], None, 0  # model frame g (time g / 25) = latest frame at or before it
    with av.open(clip) as c:
        stream = c.streams.video[0]
        for frame in c.decode(video=0):
            t = float(frame.pts * stream.time_base)
            while g / 25.0 < t:
                if prev is not None:
                    picked.append(prev)
                g += 1
            prev = prepare(frame.to_ndarray(format="rgb24"))
    picked.append(prev)
    clips = [torch.stack(picked[s:s + frames], dim=1) for s in range(0, len(picked) - frames + 1, hop_frames)]
    out = []
    with torch.no_grad():
        for i in range(0, len(clips), VIDEO_BATCH):
            out.append(net(torch.stack(clips[i:i + VIDEO_BATCH])))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--clip", default=os.path.join(ROOT, "..", "shared", "media", "bbb_trailer_kivy.m4v"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--presets", default="avts-compact,avts-mc3-18")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    avts = os.path.join(args.build, "tools", "avts")
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(args.build, "gst"), OMP_NUM_THREADS=str(args.threads),
               AVTS_THREADS=str(args.threads))
    with av.open(args.clip) as c:
        seconds = float(c.duration) / av.time_base

    peak = gemm_peak()
    # Loading LibTorch costs about a second per process (as `import torch` does); the
    # reference runs inside an interpreter that paid it already, so it is shown apart.
    startup = best_of(lambda: subprocess.run([avts, "--version"], check=True, env=env, capture_output=True), 3)
    print(f"clip {os.path.basename(args.clip)}: {seconds:.1f} s; threads {args.threads}; "
          f"float32 GEMM peak (torch.mm 2048^3): {peak / 1e9:.1f} GFLOP/s; avts process start {startup:.2f} s")
    results = {"clip": os.path.basename(args.clip), "seconds": seconds, "threads": args.threads,
               "gemm_gflops": peak / 1e9, "startup_s": startup, "runs": []}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            p = PRESETS[preset]
            model = os.path.join(tmp, preset + ".avts")
            subprocess.run([avts, "init", "--preset", preset, "-o", model], check=True, env=env,
                           capture_output=True)
            nets = {"audio": VGG(p["audio_width"]).eval(), "video": MC3(p["video_width"]).eval()}
            for modality, hop in (("audio", 40), ("video", 1000)):
                out = os.path.join(tmp, f"{preset}-{modality}.npy")
                cmd = [avts, "features", args.clip, "--model", model, "--modality", modality,
                       "--hop", str(hop), "--batch-size", str(AUDIO_BATCH if modality == "audio" else VIDEO_BATCH),
                       "-o", out]
                ours = best_of(lambda: subprocess.run(cmd, check=True, env=env, capture_output=True), 2)
                n_ours = np.load(out).shape[0]
                if modality == "audio":
                    ref_fn = lambda: reference_audio(args.clip, nets["audio"], p["mel_frames"])
                else:
                    ref_fn = lambda: reference_video(args.clip, nets["video"], p["resize"], p["crop"],
                                                     frames=p["frames"])
                n_ref = ref_fn().shape[0]
                ref = best_of(ref_fn, 2)
                # Networks alone.
                if modality == "audio":
                    x = torch.randn(AUDIO_BATCH, 1, 40, p["mel_frames"])
                else:
                    x = torch.randn(VIDEO_BATCH, 3, p["frames"], p["crop"], p["crop"])
                net_ref = x.shape[0] / best_of(lambda: nets[modality](x), 3)
                mb = subprocess.run([os.path.join(args.build, "bench", "model_bench"), preset, modality,
                                     str(x.shape[0]), "3", str(args.threads)], check=True, env=env,
                                    capture_output=True, text=True)
                net_ours = json.loads(mb.stdout)["clips_per_s"]
                flops = flops_per_clip(nets[modality], x[:1])
                r = dict(preset=preset, modality=modality, hop_ms=hop, windows=n_ours, windows_ref=n_ref,
                         ours_s=ours, ref_s=ref, rtf_ours=seconds / ours, rtf_ref=seconds / ref,
                         speedup=ref / ours, speedup_after_start=ref / (ours - startup), net_clips_per_s=net_ours,
                         net_clips_per_s_ref=net_ref,
                         gflop_per_clip=flops / 1e9, net_gflops=net_ours * flops / 1e9,
                         net_share_of_peak=net_ours * flops / peak)
                results["runs"].append(r)
                rows.append(r)
                print(f"{preset:12s} {modality}: ours {ours:6.2f} s ({n_ours} windows, "
                      f"{seconds / ours:5.2f}x real time)"
                      f" | reference {ref:6.2f} s ({n_ref} windows, {seconds / ref:5.2f}x) "
                      f"| speed-up {ref / ours:4.2f}x"
                      f" ({ref / (ours - startup):4.2f}x after process start)"
                      f" | network alone {net_ours:7.2f} vs {net_ref:7.2f} clips/s,"
                      f" {flops / 1e9:6.2f} GFLOP/clip -> {net_ours * flops / 1e9:6.1f} GFLOP/s"
                      f" = {100 * net_ours * flops / peak:4.1f}% of GEMM peak", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
