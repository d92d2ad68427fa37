"""Reliability: faults during `avts train`, and the resumed run after each.

- SIGINT / SIGTERM: the trainer state is saved to the checkpoint, the command says so and
  exits with 128 + the signal; the model file stays the last finished epoch's; --resume
  continues to the end.
- Killed while writing (SIGXFSZ from a file-size limit kills the process inside write(),
  as a kill -9 at that moment would), and kill -9 at four moments of a run: the files under
  their names are always whole; --resume continues.
- Disk full while saving (a small tmpfs; and EFBIG from a file-size limit): exit code 2 with
  the system's reason, the previous files byte for byte, no temporary file left behind.
- --resume from files that are not checkpoints: exit code 2 naming the file and the problem.

Training starts from a tiny model (--init) on three small clips made here, so that an epoch
takes seconds. Every run but the first resumes from one shared first epoch.

Usage: test_train_faults.py TINY_MODEL
"""
import glob
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import torch

import media
from media import AVTS, ENV, avts

TINY = sys.argv.pop(1)
OPTIONS = ["--batch-size", "4", "--seed", "3", "--easy-epochs", "1"]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_state(checkpoint):
    """The trainer state file, as Python reads it (the documented way)."""
    state = torch.load(checkpoint, weights_only=True)
    assert state["format"] == "avts-trainer-state", state["format"]
    return json.loads(state["trainer"]), state


def model_info(model):
    p = avts("info", "--json", model)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def limit_file_size(max_bytes, kill):
    """preexec_fn: files may not grow beyond max_bytes; beyond it the write fails with EFBIG,
    or (kill) the kernel ends the process with SIGXFSZ in the middle of the write."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL if kill else signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def wait_for_handlers(pid, timeout=60):
    """Until the process catches SIGINT and SIGTERM (its stop handlers are installed)."""
    wanted = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/status") as f:
            caught = int(next(line for line in f if line.startswith("SigCgt:")).split()[1], 16)
        if caught & wanted == wanted:
            return
        time.sleep(0.01)
    raise AssertionError("avts train never installed its SIGINT / SIGTERM handlers")


class TrainFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        clips = [media.webm(os.path.join(d, f"clip{i}.webm"), 2.5, width=96, height=72) for i in range(3)]
        cls.manifest = os.path.join(d, "manifest.txt")
        with open(cls.manifest, "w") as f:
            f.write(f"{clips[0]} train\n{clips[1]} train\n{clips[2]} val\n")
        # The shared first epoch.
        cls.epoch_1 = os.path.join(d, "epoch-1.avts")
        p = cls.run_train(cls.epoch_1, 1)
        assert p.returncode == 0, p.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def train_args(cls, model, epochs, resume=None):
        args = [AVTS, "train", cls.manifest, "-o", model, "--epochs", str(epochs), *OPTIONS]
        return args + (["--resume", resume] if resume else ["--init", TINY])

    @classmethod
    def run_train(cls, model, epochs, resume=None, **popen):
        return subprocess.run(cls.train_args(model, epochs, resume), capture_output=True, text=True, timeout=240,
                              env=ENV, **popen)

    def after_first_epoch(self, name):
        """A folder holding m.avts and m.avts.ckpt of the first epoch; their path and bytes."""
        folder = os.path.join(self.tmp.name, name)
        os.makedirs(folder)
        model = os.path.join(folder, "m.avts")
        shutil.copy(self.epoch_1, model)
        shutil.copy(self.epoch_1 + ".ckpt", model + ".ckpt")
        return model, read_bytes(model), read_bytes(model + ".ckpt")

    def expect_resume_finishes(self, model, epochs):
        p = self.run_train(model, epochs, resume=model + ".ckpt")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"trained {epochs} epochs", p.stdout)
        self.assertEqual(model_info(model)["provenance"]["epochs"], str(epochs))
        self.assertEqual(glob.glob(model + ".tmp-*"), [])
        return p

    def test_signals_save_the_trainer_state_and_resume_continues(self):
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            with self.subTest(signal=sig.name):
                model, model_bytes, _ = self.after_first_epoch(sig.name)
                before = read_state(model + ".ckpt")[0]
                proc = subprocess.Popen(self.train_args(model, 3, resume=model + ".ckpt"), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=ENV)
                wait_for_handlers(proc.pid)
                proc.send_signal(sig)  # while the second epoch decodes its first file
                out, err = proc.communicate(timeout=120)
                self.assertEqual(proc.returncode, code, err)
                self.assertRegex(err, rf"stopped by {sig.name} in epoch 2/3 at step \d+; saved the trainer state to "
                                      rf"{model}.ckpt\. Continue with the same command and --resume {model}.ckpt")
                self.assertNotIn("trained", out)

                # The checkpoint holds the trainer's state, as the message says; the model file is
                # still the first epoch's.
                trainer, state = read_state(model + ".ckpt")
                self.assertEqual(trainer["epoch"], 1)
                self.assertIn(f"at step {trainer['step']};", err)
                self.assertGreaterEqual(trainer["step"], before["step"])
                self.assertEqual(set(state["state_dict"]), set(torch.load(model, weights_only=True)["state_dict"]))
                self.assertTrue(all(torch.isfinite(t.float()).all() for t in state["state_dict"].values()))
                self.assertEqual(read_bytes(model), model_bytes)

                p = self.expect_resume_finishes(model, 3)
                self.assertIn("(2 in this run)", p.stdout)
                self.assertGreater(int(model_info(model)["provenance"]["steps"]), trainer["step"])

    def test_killed_while_writing_leaves_the_previous_files_intact(self):
        model, model_bytes, checkpoint_bytes = self.after_first_epoch("killed")
        # The next save is cut off half way through the model file: the kernel kills the process
        # inside write() (SIGXFSZ), before the rename, as a kill -9 at that moment would.
        p = self.run_train(model, 2, resume=model + ".ckpt", preexec_fn=limit_file_size(len(model_bytes) // 2, True))
        self.assertEqual(p.returncode, -signal.SIGXFSZ, p.stderr)
        self.assertEqual(read_bytes(model), model_bytes)
        self.assertEqual(read_bytes(model + ".ckpt"), checkpoint_bytes)
        leftovers = glob.glob(model + ".tmp-*")
        self.assertEqual(len(leftovers), 1)  # the half-written temporary file, under its own name
        self.assertLess(os.path.getsize(leftovers[0]), len(model_bytes))
        os.remove(leftovers[0])
        self.expect_resume_finishes(model, 2)

    def test_kill_9_at_any_moment_leaves_whole_files(self):
        model, _, _ = self.after_first_epoch("kill9")
        kills = 0
        for delay in (0.5, 2.0, 3.5, 5.0):
            proc = subprocess.Popen(self.train_args(model, 30, resume=model + ".ckpt"), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, env=ENV)
            time.sleep(delay)
            if proc.poll() is None:
                proc.kill()
                kills += 1
            proc.wait()
            model_info(model)  # whatever the moment, the files under their names are whole
            read_state(model + ".ckpt")
        self.assertGreater(kills, 0)
        for leftover in glob.glob(model + ".tmp-*"):
            os.remove(leftover)
        self.expect_resume_finishes(model, read_state(model + ".ckpt")[0]["epoch"] + 1)

    def test_file_size_limit_while_saving_is_a_clear_error(self):
        model, model_bytes, checkpoint_bytes = self.after_first_epoch("efbig")
        p = self.run_train(model, 2, resume=model + ".ckpt", preexec_fn=limit_file_size(len(model_bytes) // 2, False))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"avts train: error: Training failed: cannot write model file '{model}': File too large",
                      p.stderr)
        self.assertEqual(read_bytes(model), model_bytes)
        self.assertEqual(read_bytes(model + ".ckpt"), checkpoint_bytes)
        self.assertEqual(glob.glob(model + ".tmp-*"), [])
        self.expect_resume_finishes(model, 2)

    def test_full_disk_while_saving_keeps_the_previous_files(self):
        model, model_bytes, checkpoint_bytes = self.after_first_epoch("full")
        disk = os.path.join(self.tmp.name, "tmpfs")
        os.makedirs(disk)
        # Room for one save (the old and new files side by side until the rename), then filled
        # up but for 16 KiB; in a mount namespace of our own (as root, or as a user where user
        # namespaces are allowed).
        size_kb = (len(model_bytes) + 2 * len(checkpoint_bytes)) // 1024 + 64
        train = " ".join(self.train_args(f"{disk}/m.avts", 2, resume=f"{disk}/m.avts.ckpt"))
        script = f"""
            set -e
            mount -t tmpfs -o size={size_kb}k avts-full {disk}
            cp {model} {model}.ckpt {disk}/
            head -c $(( {size_kb} * 1024 - {len(model_bytes) + len(checkpoint_bytes)} - 16384 )) \\
              /dev/zero > {disk}/filler
            set +e
            {train}
            echo "exit=$?"
            cmp {model} {disk}/m.avts && cmp {model}.ckpt {disk}/m.avts.ckpt && echo intact
            ls -a {disk}
            rm {disk}/filler
            {train} >/dev/null && echo resumed
        """
        unshare = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
        p = subprocess.run([*unshare, "sh", "-c", script], capture_output=True, text=True, timeout=300, env=ENV)
        if "exit=" not in p.stdout:
            self.skipTest(f"no tmpfs could be mounted here ({p.stderr.strip()}); "
                          "test_file_size_limit_while_saving covers the same path with EFBIG")
        self.assertIn("exit=2", p.stdout, p.stderr)
        self.assertIn(f"cannot write model file '{disk}/m.avts': No space left on device", p.stderr)
        self.assertIn("intact", p.stdout)
        self.assertNotIn(".tmp-", p.stdout)  # no temporary file left in the folder listing
        self.assertIn("resumed", p.stdout, p.stderr)

    def test_resume_from_files_that_are_not_checkpoints(self):
        folder = os.path.join(self.tmp.name, "not-checkpoints")
        os.makedirs(folder)
        half = os.path.join(folder, "half.ckpt")
        with open(half, "wb") as f:
            f.write(read_bytes(self.epoch_1 + ".ckpt")[:5000])
        cases = [(TINY, "a model file cannot be resumed from"),
                 (os.path.join(folder, "missing.ckpt"), "does not exist"),
                 (half, "not a readable archive")]
        for checkpoint, text in cases:
            with self.subTest(checkpoint=checkpoint):
                p = self.run_train(os.path.join(folder, "out.avts"), 2, resume=checkpoint)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(checkpoint, p.stderr)
                self.assertIn(text, p.stderr)
                self.assertFalse(os.path.exists(os.path.join(folder, "out.avts")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
