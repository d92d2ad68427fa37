#!/usr/bin/env python3
"""Writes an avts training manifest for a corpus laid out as Kinetics and AudioSet are
distributed: ROOT/<split folder>/[<class>/]<clip>.<ext>. A top folder whose name contains
"train" gives training files (Kinetics' train/, AudioSet's balanced_train_segments/ and
unbalanced_train_segments/), one named val, valid, validation or eval* gives validation files
(the split tag `val`); other folders (test/) are left out. Paths that a manifest cannot hold as
they are (whitespace, as in Kinetics' class names, or a leading '#') are written as file://
URIs. Lines are sorted, so the same corpus gives the same manifest.

Usage: train/kinetics/manifest.py ROOT [--ext mp4,webm,mkv] > corpus.txt
"""
import argparse
import pathlib
import sys

VALIDATION = {"val", "valid", "validation"}


def split_of(folder):
    name = folder.lower()
    if "train" in name:
        return "train"
    if name in VALIDATION or name.startswith("eval"):
        return "val"
    return None


def manifest_line(path, split):
    text = str(path)
    if any(c.isspace() for c in text) or path.name.startswith("#"):
        text = path.as_uri()  # percent-encodes what a manifest would split or read as a comment
    return f"{text} {split}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=pathlib.Path)
    parser.add_argument("--ext", default="mp4,webm,mkv,avi,mov,mpg",
                        help="file name endings of the media (default %(default)s)")
    args = parser.parse_args()
    root = args.root.resolve()
    if not root.is_dir():
        sys.exit(f"manifest.py: {args.root} is not a folder")
    endings = tuple("." + e.strip().lower() for e in args.ext.split(",") if e.strip())
    counts = {}
    lines = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        split = split_of(folder.name)
        if split is None:
            print(f"manifest.py: leaving out {folder} (neither a training nor a validation folder)", file=sys.stderr)
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name.lower().endswith(endings):
                lines.append(manifest_line(path, split))
                counts[split] = counts.get(split, 0) + 1
    if not lines:
        sys.exit(f"manifest.py: no media files under a train or val folder of {root}")
    print(f"# avts training manifest of {root}: {counts.get('train', 0)} training and "
          f"{counts.get('val', 0)} validation files")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
