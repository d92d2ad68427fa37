#!/usr/bin/python3
"""Log-mel front end speed: avts::LogMel (bench/logmel_bench) against torchaudio's MelSpectrogram.

Usage: /usr/bin/python3 bench/bench_frontend.py BUILD_DIR/bench/logmel_bench [--seconds 60] [--clip FILE]

Both sides get the same audio (a real clip decoded with PyAV, resampled to 16 kHz mono and
repeated to fill --seconds), compute the same frames (torchaudio on the samples padded by
(n_fft - win) / 2 zeros, center=False, then log(x + 1e-6): tests/reference/avts_reference.py, the
reference of the parity test) and run on one thread. Times are the best of 7 runs, after the FFT
plan / module are made.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from avts_reference import SAMPLE_RATE, decode_mono_16k, log_mel, mel_spectrogram  # noqa: E402

RUNS = 7


def time_torchaudio(samples):
    torch.set_num_threads(1)
    mel = mel_spectrogram()
    x = torch.from_numpy(samples)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(RUNS):
            start = time.perf_counter()
            frames = log_mel(mel, x)
            best = min(best, time.perf_counter() - start)
    return best, frames.shape[1]


def time_ours(bench_exe, clip_samples, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.f32")
        clip_samples.tofile(path)
        env = dict(os.environ, OMP_NUM_THREADS="1")
        out = subprocess.run([bench_exe, str(seconds), path], check=True, env=env,
                             capture_output=True, text=True).stdout
    results = {}
    for line in out.splitlines():  # "<mode> <seconds> s <x> x real time <frames> frames"
        fields = line.split()
        results[fields[0]] = (float(fields[1]), int(fields[-2]))
    return results


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench_exe", help="path to the built logmel_bench")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clip", default=os.path.join(here, "..", "tests", "media", "grid_s1_bbal8p.mpg"))
    args = parser.parse_args()

    clip = decode_mono_16k(args.clip)
    n = int(args.seconds * SAMPLE_RATE)
    samples = clip[np.arange(n) % len(clip)]  # the clip repeated, as logmel_bench does

    ours = time_ours(args.bench_exe, clip, args.seconds)
    theirs, theirs_frames = time_torchaudio(samples)
    print(f"{args.seconds:g} s of audio from {os.path.basename(args.clip)}, 1 thread each, best of {RUNS}")
    print(f"  torchaudio MelSpectrogram + log: {theirs * 1e3:8.2f} ms  {theirs_frames} frames  "
          f"{args.seconds / theirs:7.0f} x real time")
    for mode, (seconds, frames) in ours.items():
        if frames != theirs_frames:
            raise SystemExit(f"frame counts differ: ours {frames}, torchaudio {theirs_frames}")
        print(f"  avts LogMel ({mode:10s}):      {seconds * 1e3:8.2f} ms  {frames} frames  "
              f"{args.seconds / seconds:7.0f} x real time  {theirs / seconds:5.2f} x faster than torchaudio")


if __name__ == "__main__":
    main()
