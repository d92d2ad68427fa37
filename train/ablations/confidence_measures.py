#!/usr/bin/python3
"""How well confidence measures rank right offset answers above wrong ones.

Reads `avts eval --json` reports (each trial carries its mean distance curve and, per point,
the windows whose own minimum is there) and prints, per measure, the ROC AUC of right against
wrong answers, the precision of the most confident answers at a few coverages, and how many
answers a threshold could give at 95 % precision (0: none).

    train/ablations/confidence_measures.py val.json wild.json
"""
import json
import sys

import numpy as np


def measures(t):
    c = np.array(t["curve"])
    minima = np.array(t["window-minima"], float)
    k = int(np.argmin(c))
    med = np.median(c)
    frame = max(1, int(round(40 / t["curve-hop-ms"])))  # one video frame, in curve points
    far = np.r_[c[:max(0, k - 2 * frame)], c[k + 2 * frame + 1:]]
    second = far.min() if len(far) else med
    depth = med - c[k]
    return {
        "median-min (avtssync)": depth,
        "depth / MAD": depth / (np.median(np.abs(c - med)) + 1e-9),
        "depth / std": depth / (c.std() + 1e-9),
        "second minimum - min": second - c[k],
        "(second - min) / depth": (second - c[k]) / (depth + 1e-9),
        "windows agreeing": minima[max(0, k - frame):k + frame + 1].sum() / max(1.0, minima.sum()),
    }


def auc(pos, neg):
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())


def study(path):
    trials = [t for t in json.load(open(path))["trials"] if t.get("curve")]
    right = np.array([not t["out-of-range"] and abs(t["offset-ms"] - t["truth-ms"]) <= 40 for t in trials])
    rows = [measures(t) for t in trials]
    print(f"{path}: {len(trials)} trials with a curve, {right.mean():.3f} right when forced")
    for name in rows[0]:
        v = np.array([r[name] for r in rows])
        order = np.argsort(-v)
        precision = np.cumsum(right[order]) / np.arange(1, len(v) + 1)
        at = "  ".join(f"{c:.2f}: {precision[max(0, int(c * len(v)) - 1)]:.2f}" for c in (0.05, 0.1, 0.2, 0.5))
        enough = [i + 1 for i in range(9, len(v)) if precision[i] >= 0.95]
        print(f"  {name:24s} AUC {auc(v[right], v[~right]):.3f}  precision at coverage {at}"
              f"  answers at 95 %: {max(enough) if enough else 0}")


if __name__ == "__main__":
    for report in sys.argv[1:]:
        study(report)
