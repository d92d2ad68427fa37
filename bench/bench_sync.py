#!/usr/bin/python3
"""`avts sync` speed against a Python reference doing the same job, in one run.

Usage: /usr/bin/python3 bench/bench_sync.py [--build build] [--clip FILE] [--threads 2]
                                             [--presets avts-compact,avts-mc3-18] [--video-hop 200]
                                             [--precision float32|bfloat16] [--loops N]

Ours: `avts sync CLIP --json` (decode, both feature elements, avtssync: audio windows every
40 ms, video windows every 200 ms (--video-hop), shifts of +-600 ms every 40 ms, 5 s context, a report a
second). Reference: PyAV decode + torchaudio log-mel + the same audio network every 40 ms, frames
picked by PTS + the same video network every 200 ms (bench_features.py), then the same distance
curves, context averaging and argmin in torch. Same thread count and precision on both sides
(bfloat16: `avts sync --precision bfloat16` against the networks under torch.autocast("cpu")).
Prints the real-time factors and the ratio, and two floors measured in the same run: the
start of the avts program (loading LibTorch, `avts --version`) and decoding the clip with
GStreamer alone (both streams into fakesinks). No avts command on the clip can be faster than
the two together. --loops N runs both sides on the clip played N times over (remuxed, not
re-encoded, into one file), where start-up weighs less: the steady-state rate.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import av
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from avts_reference import MC3, VGG  # noqa: E402
from bench_features import PRESETS, ROOT, reference_audio, reference_video  # noqa: E402

AUDIO_HOP_MS, MAX_OFFSET_MS, CONTEXT_S = 40, 600, 5


def reference_sync(clip, preset, video_hop_ms=200, precision="float32"):
    p = PRESETS[preset]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        audio = reference_audio(clip, VGG(p["audio_width"]).eval(), p["mel_frames"])  # one row per 40 ms
        video = reference_video(clip, MC3(p["video_width"]).eval(), p["resize"], p["crop"],
                                hop_frames=video_hop_ms // 40, frames=p["frames"])  # one row per video hop
    audio, video = audio.float(), video.float()
    k = MAX_OFFSET_MS // AUDIO_HOP_MS
    step = video_hop_ms // AUDIO_HOP_MS
    curves, times = [], []
    for i in range(video.shape[0]):
        a0 = i * step
        if a0 - k < 0 or a0 + k >= audio.shape[0]:
            continue  # only full curves, as avtssync judges them
        curves.append(torch.norm(video[i] - audio[a0 - k:a0 + k + 1], dim=1))
        times.append(i * video_hop_ms / 1000)
    curves, times = torch.stack(curves), torch.tensor(times)
    offsets = []
    for t in range(1, int(times.max()) + 2):  # a report a second over the last 5 s
        m = (times < t) & (times >= t - CONTEXT_S)
        if m.any():
            offsets.append(-(curves[m].mean(0).argmin().item() - k) * AUDIO_HOP_MS)
    return offsets


def reference_process(clip, preset, threads, video_hop_ms, precision):
    """The reference as a program of its own, as a user would run it: Python, torch and PyAV start-up
    included, as ours includes LibTorch's."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, os.path.abspath(__file__), "--reference-only", preset, "--clip", clip,
                    "--threads", str(threads), "--video-hop", str(video_hop_ms), "--precision", precision],
                   check=True, env=env,
                   capture_output=True)
    return time.perf_counter() - t0


def looped_clip(clip, loops, folder):
    """The clip N times over in one Matroska file: splitmuxsrc plays the copies as one stream.
    For an H.264 + AAC clip such as the default one."""
    ext = os.path.splitext(clip)[1]
    for i in range(loops):
        os.symlink(os.path.abspath(clip), os.path.join(folder, f"part{i:04d}{ext}"))
    out = os.path.join(folder, "looped.mkv")
    subprocess.run(["gst-launch-1.0", "-q", "splitmuxsrc", f"location={folder}/part*{ext}", "name=s",
                    "s.video_0", "!", "queue", "!", "h264parse", "!", "matroskamux", "name=m", "!", "filesink",
                    f"location={out}", "s.audio_0", "!", "queue", "!", "aacparse", "!", "m."], check=True)
    return out


def timed_run(cmd, env=None):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def networks_alone(build, preset, seconds, video_hop_ms, threads):
    """Seconds the two networks need for the clip's windows (every 40 ms audio, every hop video) at
    `avts sync`'s batch sizes, on random input: what the job costs with nothing else to do."""
    def rate(modality, batch, iterations):
        out = subprocess.run([os.path.join(build, "bench", "model_bench"), preset, modality, str(batch),
                              str(iterations), str(threads)], check=True, capture_output=True, text=True).stdout
        return json.loads(out)["clips_per_s"]
    return (seconds / (AUDIO_HOP_MS / 1000) / rate("audio", 32, 30)
            + seconds / (video_hop_ms / 1000) / rate("video", 8, 15))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference-only", metavar="PRESET", help="run only the reference (timed by the parent)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--clip", default=os.path.join(ROOT, "..", "shared", "media", "bbb_trailer_kivy.m4v"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--presets", default="avts-compact,avts-mc3-18")
    ap.add_argument("--video-hop", type=int, default=200, help="ms between video windows, a multiple of 40")
    ap.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                    help="the networks' arithmetic on both sides")
    ap.add_argument("--loops", type=int, default=1, help="play the clip this many times over (steady state)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.reference_only:
        with torch.no_grad():
            reference_sync(args.clip, args.reference_only, args.video_hop, args.precision)
        return
    avts = os.path.join(args.build, "tools", "avts")
    env = dict(os.environ, AVTS_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    loops_dir = tempfile.TemporaryDirectory()
    if args.loops > 1:
        args.clip = looped_clip(args.clip, args.loops, loops_dir.name)
    with av.open(args.clip) as c:
        seconds = float(c.duration) / av.time_base
    print(f"clip {os.path.basename(args.clip)}: {seconds:.1f} s; threads {args.threads}; "
          f"video hop {args.video_hop} ms; {args.precision}")
    start = min(timed_run([avts, "--version"], env) for _ in range(3))
    uri = pathlib.Path(os.path.abspath(args.clip)).as_uri()
    decode = min(timed_run(["gst-launch-1.0", "-q", "uridecodebin", "uri=" + uri,
                            "name=d", "d.", "!", "queue", "!", "fakesink", "d.", "!", "queue", "!", "fakesink"])
                 for _ in range(2))
    print(f"floors: avts start {start:.2f} s, decoding alone {decode:.2f} s ({seconds / decode:.1f}x real time); "
          f"together {seconds / (start + decode):.1f}x real time at most", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            model = os.path.join(tmp, preset + ".avts")
            subprocess.run([avts, "init", "--preset", preset, "-o", model], check=True, env=env,
                           capture_output=True)
            nets = networks_alone(args.build, preset, seconds, args.video_hop, args.threads)
            print(f"{preset:12s}: its networks alone (bench/model_bench, batches 32 audio / 8 video, random input) "
                  f"{nets:.2f} s ({seconds / nets:.1f}x real time at most)", flush=True)
            t0 = time.perf_counter()
            p = subprocess.run([avts, "sync", args.clip, "--model", model, "--json", "-q",
                                "--video-hop", str(args.video_hop), "--precision", args.precision], env=env,
                               capture_output=True, text=True)
            ours = time.perf_counter() - t0
            if p.returncode not in (0, 1):
                raise SystemExit(p.stderr)
            with torch.no_grad():
                t0 = time.perf_counter()
                reports = reference_sync(args.clip, preset, args.video_hop, args.precision)
                ref = time.perf_counter() - t0
            ref_process = reference_process(args.clip, preset, args.threads, args.video_hop, args.precision)
            print(f"{preset:12s}: avts sync {ours:6.2f} s ({seconds / ours:6.2f}x real time) | "
                  f"reference {ref:6.2f} s in-process ({seconds / ref:6.2f}x, {len(reports)} reports), "
                  f"{ref_process:6.2f} s as a program | avts sync is {ref / ours:4.2f}x the in-process "
                  f"reference's speed, {ref_process / ours:4.2f}x the program's", flush=True)


if __name__ == "__main__":
    main()
