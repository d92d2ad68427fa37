#!/usr/bin/env python3
"""Markdown table of the ablation runs in OUT_DIR (train/ablations/run.sh): per variant, the last
epoch's training loss, `avts eval` on the validation speakers (hard / easy ROC AUC, offset accuracy
and mean error forced, offset accuracy at the default confidence, the inconclusive share and the
accuracy of the answered trials) and the held-out-speaker probes.

Usage: table.py OUT_DIR
"""
import glob
import json
import os
import re
import sys


def last_loss(log):
    losses = re.findall(r"epoch \d+/\d+ done .*? loss ([0-9.]+)", open(log).read()) if os.path.exists(log) else []
    return losses[-1] if losses else "-"


def probe(dirname, task, modality):
    path = os.path.join(dirname, "probe", f"{task}_speaker_{modality}.json")
    if not os.path.exists(path):
        return "-"
    rows = {r["network"]: r for r in json.load(open(path))["results"]}
    return f"{100 * rows['model']['mean_accuracy']:.1f}"


def num(x):
    return "-" if x is None else f"{x:.3f}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    print("| variant | loss | hard AUC | easy AUC | offset acc. (forced) | MAE (forced) | offset acc. | inconclusive "
          "| conclusive acc. | command probe (audio / video) | colour probe (audio / video) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for eval_path in sorted(glob.glob(os.path.join(out, "*", "eval.json"))):
        d = os.path.dirname(eval_path)
        e = json.load(open(eval_path))
        forced = json.load(open(os.path.join(d, "eval_forced.json")))
        s, o, f = e["sync-classification"], e["offset"], forced["offset"]
        print(f"| {os.path.basename(d)} | {last_loss(os.path.join(d, 'train.log'))} | {num(s['auc-hard'])} | "
              f"{num(s['auc-easy'])} | {num(f['accuracy'])} | {f['mean-abs-error-ms']:.0f} ms | {num(o['accuracy'])} | "
              f"{num(o['inconclusive-share'])} | {num(o['conclusive-accuracy'])} | "
              f"{probe(d, 'command', 'audio')} / {probe(d, 'command', 'video')} | "
              f"{probe(d, 'colour', 'audio')} / {probe(d, 'colour', 'video')} |")
    print("\nValidation split: GRID speakers s2 and s29 (18 clips), never seen in training. Offset accuracy: "
          "share of 198 trials within 40 ms; forced = --min-confidence 0. Probes: linear SVM on frozen "
          "embeddings, folds = held-out speakers, accuracy in %.")


if __name__ == "__main__":
    main()
