#!/usr/bin/env python3
"""Markdown table of `avts probe --json` results: one row per probe and layer, the model's
accuracy against the random-init network's (mean and standard deviation over folds, %).

Usage: table.py RESULT.json...
"""
import json
import os
import sys


def pct(row):
    return f"{100 * row['mean_accuracy']:.1f} ± {100 * row['std_accuracy']:.1f}"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| task | folds | modality | layer | dim | model | random-init | chance |")
    print("|---|---|---|---|---|---|---|---|")
    model_ids = set()
    for path in sys.argv[1:]:
        with open(path) as f:
            r = json.load(f)
        task = os.path.basename(r.get("manifest") or r.get("esc50") or path)
        rows = {(x["network"], x["layer"]): x for x in r["results"]}
        for (network, layer), row in rows.items():
            if network != "model":
                continue
            model_ids.add(row["model_id"])
            baseline = rows.get(("random-init", layer))
            print(f"| {task} | {len(row['folds'])} | {r['modality']} | {layer} | {row['dim']} | {pct(row)} | "
                  f"{pct(baseline) if baseline else '-'} | {100 * r['majority_accuracy']:.1f} |")
    print(f"\nAccuracy in %, mean ± std over folds; chance = the majority class. Model id(s): "
          f"{', '.join(sorted(model_ids))}.")


if __name__ == "__main__":
    main()
