#!/usr/bin/env python3
"""Writes the GRID probe manifests from the clip names in a media folder.

A GRID clip is named grid_<speaker>_<sentence>.<ext>; the sentence code's first letter is the
command (b=bin, l=lay, p=place, s=set) and its second the colour (b=blue, g=green, r=red,
w=white). For each of the two labels, two manifests:

  grid_<label>.tsv             5 folds by file, balanced by speaker and label: every speaker
                               is in every fold's training and test part (speaker-dependent,
                               as GRID is usually evaluated), and no file is in two folds.
  grid_<label>_by_speaker.tsv  one fold per speaker group (s1 | s4 | all others): the test
                               speakers are never heard in training (speaker-independent).

Paths are the bare file names: give the media folder to avts probe with --root or $AVTS_MEDIA.
Usage: make_grid_manifests.py MEDIA_DIR [OUT_DIR]
"""
import os
import re
import sys

COMMANDS = {"b": "bin", "l": "lay", "p": "place", "s": "set"}
COLOURS = {"b": "blue", "g": "green", "r": "red", "w": "white"}
NAME = re.compile(r"^grid_(s\d+)_([a-z0-9]{6})\.\w+$")
FOLDS = 5
SPEAKER_FOLDS = {"s1": 1, "s4": 2}  # every other speaker: fold 3


def clips(media_dir):
    out = []
    for name in sorted(os.listdir(media_dir)):
        m = NAME.match(name)
        if m:
            speaker, code = m.groups()
            out.append((name, speaker, {"command": COMMANDS[code[0]], "colour": COLOURS[code[1]]}))
    return out


def file_folds(items, label):
    """Deals each (speaker, label) group's files, in name order, round robin over the folds,
    the deal running on from one group to the next so that fold sizes stay within one."""
    folds, turn = {}, 0
    for name, speaker, labels in sorted(items, key=lambda c: (c[1], c[2][label], c[0])):
        folds[name] = 1 + turn % FOLDS
        turn += 1
    return folds


def write(path, items, label, folds, how):
    with open(path, "w") as f:
        f.write(f"# GRID {label} labels: PATH LABEL FOLD ({how}); written by make_grid_manifests.py\n")
        for name, _, labels in items:
            f.write(f"{name}\t{labels[label]}\t{folds[name]}\n")
    print(f"wrote {path}: {len(items)} clips")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    media_dir = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.abspath(__file__))
    items = clips(media_dir)
    if not items:
        sys.exit(f"no grid_<speaker>_<sentence> clips in {media_dir}")
    for label in ("command", "colour"):
        write(os.path.join(out_dir, f"grid_{label}.tsv"), items, label, file_folds(items, label),
              f"{FOLDS} folds by file, balanced by speaker and {label}")
        by_speaker = {name: SPEAKER_FOLDS.get(speaker, 3) for name, speaker, _ in items}
        write(os.path.join(out_dir, f"grid_{label}_by_speaker.tsv"), items, label, by_speaker,
              "fold 1: speaker s1, 2: s4, 3: the others")


if __name__ == "__main__":
    main()
