#!/usr/bin/python3
"""What the face tracker costs `avts sync`: the same SD talking-head file with and without
--face-track, alternating, in one run (issue 19 target: tracking at most 20 % of the job).

Usage: /usr/bin/python3 bench/bench_face_track.py [--build build] [--media ../shared/media]
                                                   [--speaker s1] [--clips 10] [--rounds 3] [--threads 2]

The input is the first --clips GRID clips of one speaker (360x288, 25 fps: SD) joined into one file with
PyAV (MPEG-4 part 2 video, AAC audio), so that the job is long enough for start-up to weigh
little. Both runs use the shipped model and the same thread count; the tracker runs YuNet on
every frame (detect-interval 1, its default).
"""
import argparse
import fractions
import glob
import os
import statistics
import subprocess
import tempfile
import time

import av

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def joined_clip(files, out):
    """The clips one after another in one Matroska file (video re-encoded, audio as AAC)."""
    with av.open(out, "w") as dst:
        v = dst.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt, v.bit_rate = 360, 288, "yuv420p", 2_000_000
        a = dst.add_stream("aac", rate=44100)
        a.layout = "mono"
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=44100)
        frames = 0
        for f in files:
            with av.open(f) as src:
                for frame in src.decode(video=0):
                    frame = frame.reformat(width=360, height=288, format="yuv420p")
                    frame.pts, frame.time_base, frames = frames, fractions.Fraction(1, 25), frames + 1
                    for p in v.encode(frame):
                        dst.mux(p)
            with av.open(f) as src:
                for frame in src.decode(audio=0):
                    frame.pts = None
                    for r in resampler.resample(frame):
                        for p in a.encode(r):
                            dst.mux(p)
        for s in (v, a):
            for p in s.encode():
                dst.mux(p)


def timed(cmd, env):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=False, env=env, capture_output=True)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--media", default=os.path.join(ROOT, "..", "shared", "media"))
    ap.add_argument("--speaker", default="s1")
    ap.add_argument("--clips", type=int, default=10, help="how many of the speaker's clips to join")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.media, f"grid_{args.speaker}_*.mpg")))[:args.clips]
    if not files:
        raise SystemExit(f"no GRID .mpg clips of {args.speaker} in {args.media}")
    env = dict(os.environ, AVTS_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    avts = os.path.join(args.build, "tools", "avts")
    with tempfile.TemporaryDirectory() as tmp:
        clip = os.path.join(tmp, "joined.mkv")
        joined_clip(files, clip)
        with av.open(clip) as c:
            seconds = float(c.duration) / av.time_base
        plain, face = [], []
        for _ in range(args.rounds):  # alternating, so that both see the same machine
            plain.append(timed([avts, "sync", "-q", "--json", "--no-face-track", clip], env))
            face.append(timed([avts, "sync", "-q", "--json", "--face-track", clip], env))
    p, f = statistics.median(plain), statistics.median(face)
    print(f"input: {len(files)} GRID clips of {args.speaker} joined, {seconds:.1f} s, 360x288 25 fps")
    for name, median, runs in (("fixed region", p, plain), ("--face-track", f, face)):
        listed = ", ".join(f"{t:.2f}" for t in runs)
        print(f"avts sync, {name:13s} {median:.2f} s ({seconds / median:.1f}x real time)  runs {listed}")
    print(f"tracking costs {100 * (f - p) / f:.1f} % of the job with it ({f / p:.2f}x the time without)")


if __name__ == "__main__":
    main()
