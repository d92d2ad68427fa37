"""End-to-end: `avts train` on the real test clips, with bad manifest lines skipped and counted.

Run by meson with AVTS_TOOL (the avts binary), AVTS_TEST_MEDIA and GST_PLUGIN_PATH set.
"""
import json
import os
import re
import subprocess
import tempfile
import unittest

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
ENV = dict(os.environ, AVTS_THREADS="2")


def avts(*args, check=True, cwd=None):
    p = subprocess.run([AVTS, *args], capture_output=True, text=True, timeout=300, env=ENV, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"avts {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


class AvtsTrain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.wav = os.path.join(d, "tone.wav")  # audio only: no video track
        subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", "num-buffers=100", "!", "wavenc", "!",
                        "filesink", f"location={cls.wav}"], check=True, timeout=60)
        cls.manifest = os.path.join(d, "manifest.txt")
        with open(cls.manifest, "w") as f:
            f.write("# two training files, one validation file, and three that cannot be used\n\n")
            f.write(f"{MEDIA}/grid_s1_bbal8p.mpg train\n")
            f.write(f"{MEDIA}/grid_s1_lgas2n.mpg   train  # trailing comment\n")
            f.write(f"{MEDIA}/grid_s4_bgbu1p.webm val\n")
            f.write(f"{d}/missing.mp4\n")
            f.write("tone.wav\n")  # relative to the manifest's folder
            f.write(f"{MEDIA}/grid_s1_bbal8p.mpg sideways\n")  # unknown split tag
        cls.model = os.path.join(d, "trained.avts")
        cls.result = avts("train", cls.manifest, "-o", cls.model, "--epochs", "2", "--batch-size", "4",
                       "--seed", "5", "--preset", "avts-compact")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_trains_and_writes_a_loadable_model(self):
        info = json.loads(avts("info", "--json", self.model).stdout)
        self.assertEqual(info["preset"], "avts-compact")
        prov = info["provenance"]
        self.assertEqual(prov["trained"], "yes")
        self.assertEqual(prov["epochs"], "2")
        self.assertEqual(prov["batch_size"], "4")
        self.assertEqual(prov["seed"], "5")
        self.assertEqual(prov["train_files_last_epoch"], "2")
        self.assertEqual(prov["validation_files"], "1")
        self.assertIn("avts train", prov["command"])
        self.assertGreater(int(prov["steps"]), 0)
        # The threshold was fitted on the validation file and saved in the model.
        fitted = float(re.search(r"threshold ([0-9.]+)", self.result.stdout).group(1))
        self.assertAlmostEqual(info["threshold"], fitted, places=3)
        self.assertNotEqual(info["threshold"], 0.5)  # the untrained preset's
        self.assertTrue(os.path.exists(self.model + ".ckpt"))

    def test_summary_and_progress(self):
        out, err = self.result.stdout, self.result.stderr
        self.assertIn("trained 2 epochs", out)
        self.assertRegex(out, r"validation: \d+ clips, accuracy easy \S+, hard [0-9.]+")
        self.assertRegex(err, r"epoch 2/2 done \(stage 1\) step \d+ loss [0-9.]+ .* pairs/s  ETA")

    def test_bad_inputs_are_skipped_and_counted(self):
        out, err = self.result.stdout, self.result.stderr
        self.assertIn("files: 6 inputs, 3 skipped", out)
        self.assertRegex(err, r"skipping \S+manifest.txt line 8: unknown split 'sideways'")
        self.assertRegex(err, r"skipping \S+missing.mp4: .*no such file")
        self.assertRegex(err, r"skipping \S+tone.wav: .*has no video track")
        # Each bad input is reported once, not once per epoch.
        self.assertEqual(err.count("missing.mp4: "), 1)

    def test_resume_continues_the_run(self):
        model = os.path.join(self.tmp.name, "resumed.avts")
        p = avts("train", self.manifest, "-o", model, "--epochs", "3", "--batch-size", "4", "--seed", "5",
                 "--resume", self.model + ".ckpt", "--checkpoint", os.path.join(self.tmp.name, "r.ckpt"))
        self.assertIn("trained 3 epochs (1 in this run)", p.stdout)
        self.assertEqual(json.loads(avts("info", "--json", model).stdout)["provenance"]["epochs"], "3")

    def test_missing_manifest_is_an_error(self):
        p = avts("train", os.path.join(self.tmp.name, "nope.txt"), "-o", self.model + ".x", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read manifest", p.stderr)
        self.assertIn("nope.txt", p.stderr)
        self.assertFalse(os.path.exists(self.model + ".x"))

    def test_manifest_without_usable_files_is_an_error(self):
        bad = os.path.join(self.tmp.name, "only_bad.txt")
        with open(bad, "w") as f:
            f.write(f"{self.wav}\n{self.tmp.name}/missing.mp4 train\n")
        p = avts("train", bad, "-o", os.path.join(self.tmp.name, "none.avts"), "--epochs", "1", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no training files", p.stderr)


if __name__ == "__main__":
    unittest.main()
