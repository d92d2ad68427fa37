"""Reliability: model files that are missing, empty, truncated, corrupt, of another kind, of
a config that does not fit their weights, or hostile.

Each is refused by the avts command (exit code 2, a message naming the file and the problem)
and by an element (a GST_ELEMENT_ERROR at NULL->READY naming the file, the problem in the
debug text); no code from a file runs. `avts features` on a bad model is covered by
tests/e2e/test_avts_cli.py.

Usage: test_bad_models.py TINY_MODEL   (a small model file made by tests/reliability/tiny_model)
"""
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import unittest
import zipfile

import torch

from media import avts

TINY = sys.argv.pop(1)
HERE = os.path.dirname(os.path.abspath(__file__))


class Hostile:
    """Unpickling this runs os.system(command): what a hostile model file would do."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def write_zip(path, records):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in records.items():
            z.writestr(name, data)


def python_resaved(change=None):
    """The tiny model as Python re-saves it (torch.save), after `change` on the loaded dict."""
    ckpt = torch.load(TINY, weights_only=True)
    if change:
        change(ckpt)
    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    return buffer.getvalue()


def huge_tensor_records():
    """The re-saved model with one tensor claiming 2^30 x 1 x 3 x 3 elements over its 36."""
    with zipfile.ZipFile(io.BytesIO(python_resaved())) as z:
        records = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in records if n.endswith("/data.pkl"))
    shape = b"(K\x04K\x01K\x03K\x03t"  # (4, 1, 3, 3) of audio.layer1.0.weight, pickle protocol 2
    assert shape in records[name], "the pickle layout changed: update this test"
    records[name] = records[name].replace(shape, b"(J\x00\x00\x00\x40K\x01K\x03K\x03t", 1)
    return records


def damaged_weight(good):
    """One flipped bit inside a stored weight."""
    weight = torch.load(TINY, weights_only=True)["state_dict"]["video.layer4.1.conv2.0.weight"]
    at = good.find(weight.contiguous().numpy().tobytes()[:64])
    assert at > 0
    damaged = bytearray(good)
    damaged[at + 9] ^= 0x04
    return bytes(damaged)


def flipped(good, at):
    damaged = bytearray(good)
    damaged[at] ^= 0xFF
    return bytes(damaged)


def mixed_config(ckpt):
    """The avts-mc3-18 config over the tiny weights, without a checksum (as re-saved from Python)."""
    config = json.loads(ckpt["config"])
    config.update(preset="avts-mc3-18", video_base_width=64, audio_base_width=64, embedding_dim=128)
    config["video"].update(resize=128, crop=112)
    ckpt["config"] = json.dumps(config)
    del ckpt["sha256"]


class BadModels(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        with open(TINY, "rb") as f:
            good = f.read()
        cls.marker = os.path.join(d, "pwned")
        os.makedirs(os.path.join(d, "folder.avts"))

        def as_trainer_state(ckpt):
            ckpt["format"] = "avts-trainer-state"

        # name -> (bytes or None (made above / left missing), problem the command reports,
        #          problem the element reports if it words it otherwise)
        files = {
            "missing.avts": (None, "does not exist", "no such file"),
            "folder.avts": (None, "is a directory", None),
            "empty.avts": (b"", "is empty (0 bytes)", None),
            "cut10.avts": (good[:10], "not a readable archive", None),
            "cut-half.avts": (good[: len(good) // 2], "not a readable archive", None),
            "cut-last-byte.avts": (good[:-1], "not a readable archive", None),
            "noise.avts": (os.urandom(4096), "not a readable archive", None),
            "zip-header.avts": (flipped(good, 0), "not a readable archive", None),
            "zip-directory.avts": (flipped(good, len(good) - 22), "not a readable archive", None),
            "damaged-weight.avts": (damaged_weight(good), "does not match the checksum", None),
            "trainer-state.avts": (python_resaved(as_trainer_state), "is not an AVTS model file (format tag", None),
            "mixed-config.avts": (python_resaved(mixed_config), "does not match its config (preset 'avts-mc3-18')",
                                  None),
            "hostile-pickle.avts": (None, "unknown type posix.system", None),  # os.system, as Python names it
            "huge-tensor.avts": (None, "a tensor claims more data than its storage holds", None),
            "huge-string.avts": (None, "its pickle has a length that reaches past its end at byte 2", None),
            "stack-underflow.avts": (None, "its pickle takes more from its stack than there is at byte 2", None),
        }
        cls.cases = {}
        for name, (data, problem, element_problem) in files.items():
            path = os.path.join(d, name)
            if data is not None:
                with open(path, "wb") as f:
                    f.write(data)
            cls.cases[name] = (path, problem, element_problem or problem)
        write_zip(cls.cases["hostile-pickle.avts"][0], {
            "archive/data.pkl": pickle.dumps(Hostile(f"touch {cls.marker}"), protocol=2), "archive/version": "3\n"})
        write_zip(cls.cases["huge-tensor.avts"][0], huge_tensor_records())
        # A string that says it is 4 GiB long, in a 12-byte pickle: LibTorch's unpickler would
        # allocate and clear all of it before finding the pickle too short.
        write_zip(cls.cases["huge-string.avts"][0], {
            "archive/data.pkl": b"\x80\x02X\xf0\xff\xff\xffabc.", "archive/version": "3\n"})
        # TUPLE3 on an empty stack: LibTorch's unpickler would pop what is not there.
        write_zip(cls.cases["stack-underflow.avts"][0], {
            "archive/data.pkl": b"\x80\x02\x87\x87\x87.", "archive/version": "3\n"})

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_the_command_refuses_each_naming_file_and_problem(self):
        for name, (path, problem, _) in self.cases.items():
            with self.subTest(name):
                p = avts("info", path)
                self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                self.assertIn(f"model file '{path}'", p.stderr)
                self.assertIn(problem, p.stderr)
                self.assertNotIn("internal error", p.stderr)
        self.assertFalse(os.path.exists(self.marker), "code from a model file ran")

    def test_the_elements_refuse_each_naming_file_and_problem(self):
        # In a child process without torch (see RELIABILITY.md, "Known issues": PyTorch and the
        # avts plugin in one Python process); one pipeline per file, for each feature element.
        cases = {name: path for name, (path, _, _) in self.cases.items()}
        child = subprocess.run([sys.executable, os.path.join(HERE, "element_errors.py"), json.dumps(cases)],
                               capture_output=True, text=True, timeout=240)
        self.assertEqual(child.returncode, 0, child.stderr)
        results = json.loads(child.stdout)
        for name, (path, _, problem) in self.cases.items():
            for element in ("avtsaudiofeat", "avtsvideofeat"):
                with self.subTest(name=name, element=element):
                    r = results[name][element]
                    self.assertFalse(r["hang"])
                    self.assertEqual(r["source"], "f", r)
                    self.assertTrue(r["message"].startswith(f"Could not load model file '{path}'"), r)
                    self.assertIn(problem, r["message"] + r["debug"])
        self.assertFalse(os.path.exists(self.marker), "code from a model file ran")

    def test_lengths_in_the_file_do_not_decide_the_memory_taken(self):
        p = subprocess.run(["/usr/bin/time", "-f", "%M", os.environ["AVTS_TOOL"], "info",
                            self.cases["huge-string.avts"][0]], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        peak_kib = int(p.stderr.strip().splitlines()[-1])
        self.assertLess(peak_kib, 1024 * 1024, "the 4 GiB the file claims were allocated")

    def test_a_model_resaved_from_python_still_loads(self):
        # The documented Python round trip: load, change nothing, save (no checksum needed).
        path = os.path.join(self.tmp.name, "resaved.avts")

        def drop_checksum(ckpt):
            del ckpt["sha256"]
        with open(path, "wb") as f:
            f.write(python_resaved(drop_checksum))
        p = avts("info", "--json", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["preset"], "avts-compact")


if __name__ == "__main__":
    unittest.main(verbosity=2)
