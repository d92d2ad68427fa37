#!/usr/bin/python3
"""A speaker-independent baseline without learning: the audio's loudness against the motion
of the mouth region.

For each file: per video frame, the mean absolute change of the region's luma from the frame
before, and the log energy of the 40 ms of audio around the same instant; the lag (within
+-15 frames, +-600 ms) where their correlation peaks is the estimate. Files are taken as
recorded in sync, so an estimate within one frame of 0 is right (chance: 3 of 31 lags).
Decodes with PyAV (Debian's python3-av).

    train/ablations/energy_cue.py REGION FILE...      # REGION: x,y,w,h as fractions
    train/ablations/energy_cue.py 0.3,0.6,0.4,0.3 ../shared/media-wild/*.mp4
"""
import sys

import av
import numpy as np

MAX_LAG = 15


def decode(path):
    with av.open(path) as c:
        stream = c.streams.video[0]
        frames, times = [], []
        for f in c.decode(stream):
            frames.append(f.to_ndarray(format="gray").astype(np.float32))
            times.append(float(f.pts * stream.time_base))
    with av.open(path) as c:
        chunks, start, rate = [], None, None
        for f in c.decode(c.streams.audio[0]):
            a = f.to_ndarray().astype(np.float32)
            chunks.append(a.mean(0) if a.ndim == 2 and a.shape[0] < a.shape[1] else a.reshape(-1))
            if start is None:
                start, rate = float(f.pts * f.time_base), f.sample_rate
    return np.stack(frames), np.array(times), np.concatenate(chunks), start, rate


def cues(path, region):
    frames, times, audio, start, rate = decode(path)
    h, w = frames.shape[1:]
    x, y, rw, rh = region
    mouth = frames[:, int(y * h):int((y + rh) * h), int(x * w):int((x + rw) * w)]
    motion = np.abs(np.diff(mouth, axis=0)).mean((1, 2))
    half = int(0.02 * rate)
    energy = []
    for t in times[1:] - 0.02:  # between the two frames
        s = int((t - start) * rate)
        seg = audio[max(0, s - half):max(0, s + half)]
        energy.append(np.log(np.mean(seg ** 2) + 1e-8) if len(seg) > 10 else np.nan)
    energy = np.array(energy)
    energy[np.isnan(energy)] = np.nanmin(energy)
    return motion, energy


def best_lag(motion, energy):
    scores = np.full(2 * MAX_LAG + 1, -np.inf)
    for i, lag in enumerate(range(-MAX_LAG, MAX_LAG + 1)):
        a = motion[:len(motion) - lag] if lag >= 0 else motion[-lag:]
        b = energy[lag:] if lag >= 0 else energy[:len(energy) + lag]
        if len(a) >= 10:
            scores[i] = np.mean((a - a.mean()) / (a.std() + 1e-6) * (b - b.mean()) / (b.std() + 1e-6))
    return int(np.argmax(scores)) - MAX_LAG if np.isfinite(scores).any() else None


if __name__ == "__main__":
    region = [float(v) for v in sys.argv[1].split(",")]
    lags = [best_lag(*cues(p, region)) for p in sys.argv[2:]]
    lags = [lag for lag in lags if lag is not None]
    right = sum(abs(lag) <= 1 for lag in lags)
    print(f"{right} of {len(lags)} files within one frame ({right / max(1, len(lags)):.2f}; chance 0.10)")
