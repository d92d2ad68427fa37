"""End-to-end: the training recipes still run, in shortened forms.

The shipped model's recipe (train/shipped/recipe.sh):
The recipe splits GRID clips by speaker (manifest.sh) and calls `avts train` with the shipped
settings; here it runs on the bundled clips for one epoch with a small batch, and the model it
writes must carry the recipe's settings in its provenance. The corpus-scale recipe
(train/kinetics/recipe.sh): its manifest of a Kinetics-style folder tree, and one short epoch of
the paper's model launched by torchrun on two processes. Run by meson with AVTS_TOOL,
AVTS_TEST_MEDIA and GST_PLUGIN_PATH set.
"""
import json
import os
import socket
import subprocess
import tempfile
import unittest

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model_info(path):
    """`avts info --json` of a model file."""
    return json.loads(subprocess.run([AVTS, "info", "--json", path], capture_output=True, text=True,
                                     check=True).stdout)


class ShippedRecipe(unittest.TestCase):
    def test_manifest_splits_by_speaker(self):
        out = subprocess.run([os.path.join(ROOT, "train/shipped/manifest.sh"), MEDIA], capture_output=True,
                             text=True, check=True).stdout
        lines = [line.split() for line in out.splitlines() if line and not line.startswith("#")]
        tags = {os.path.basename(path): tag for path, tag in lines}
        self.assertEqual(tags["grid_s1_bbal8p.mpg"], "train")
        self.assertEqual(tags["grid_s4_bgbu1p.webm"], "train")
        self.assertEqual(tags["grid_s2_bbil4a.webm"], "val")  # speaker s2 is held out

    def test_shortened_recipe_trains_a_model(self):
        with tempfile.TemporaryDirectory() as d:
            model = os.path.join(d, "recipe.avts")
            env = dict(os.environ, AVTS=AVTS, AVTS_THREADS="2")
            p = subprocess.run([os.path.join(ROOT, "train/shipped/recipe.sh"), MEDIA, model,
                                "--epochs", "1", "--batch-size", "4", "--negatives", "2"],
                               capture_output=True, text=True, env=env, timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            info = model_info(model)
            self.assertEqual(info["preset"], "avts-compact")
            self.assertEqual(info["video"]["region"], [0.2, 0.45, 0.6, 0.5])  # the lower middle
            prov = info["provenance"]
            self.assertEqual(prov["epochs"], "1")
            self.assertEqual(prov["seed"], "1")
            self.assertEqual(prov["curriculum"], "paper-fine")
            self.assertEqual(prov["validation_files"], "1")
            self.assertIn("--negatives 2", prov["command"])
            self.assertIn("--loss multi-way", prov["command"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CorpusRecipe(unittest.TestCase):
    """train/kinetics: a corpus laid out as Kinetics is (class folders with spaces in their names)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = os.path.join(cls.tmp.name, "corpus")
        layout = {"train/talking heads/a.mpg": "grid_s1_bbal8p.mpg", "train/talking heads/b.mpg": "grid_s1_lgas2n.mpg",
                  "train/news/c.webm": "grid_s2_bbil4a.webm", "train/news/d.webm": "grid_s4_bgbu1p.webm",
                  "val/news/e.webm": "grid_s4_bgbu1p.webm", "test/news/f.webm": "grid_s2_bbil4a.webm"}
        for path, clip in layout.items():
            os.makedirs(os.path.dirname(os.path.join(cls.root, path)), exist_ok=True)
            os.symlink(os.path.join(MEDIA, clip), os.path.join(cls.root, path))
        with open(os.path.join(cls.root, "train", "news", "notes.txt"), "w") as f:
            f.write("not media\n")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_manifest_of_a_kinetics_layout(self):
        p = subprocess.run([os.path.join(ROOT, "train/kinetics/manifest.py"), self.root], capture_output=True,
                           text=True, check=True)
        lines = [line.split() for line in p.stdout.splitlines() if line and not line.startswith("#")]
        self.assertEqual([tag for _, tag in lines], ["train"] * 4 + ["val"])
        where = {os.path.basename(path): path for path, _ in lines}
        self.assertEqual(where["c.webm"], os.path.join(self.root, "train/news/c.webm"))
        self.assertEqual(where["a.mpg"], "file://" + self.root + "/train/talking%20heads/a.mpg")  # a URI: a space
        self.assertNotIn("f.webm", where)  # test/ is neither training nor validation
        self.assertIn("leaving out", p.stderr)
        self.assertIn("4 training and 1 validation files", p.stdout)

    def test_manifest_of_an_empty_folder_is_an_error(self):
        p = subprocess.run([os.path.join(ROOT, "train/kinetics/manifest.py"), os.path.join(self.root, "test")],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no media files", p.stderr)

    def test_shortened_recipe_trains_on_two_processes(self):
        out = os.path.join(self.tmp.name, "run", "model.avts")
        env = dict(os.environ, AVTS=AVTS, AVTS_THREADS="1", NPROC="2", DEVICE="cpu", MASTER_PORT=str(free_port()))
        p = subprocess.run([os.path.join(ROOT, "train/kinetics/recipe.sh"), self.root, out,
                            "--epochs", "1", "--batch-size", "2", "--easy-epochs", "1", "--warmup-steps", "0"],
                           capture_output=True, text=True, env=env, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("files: 3 inputs in the shard of rank 0 of 2", p.stdout)  # rank 0's summary
        info = model_info(out)
        self.assertEqual(info["preset"], "avts-mc3-18")  # the paper's model
        prov = info["provenance"]
        self.assertEqual(prov["world_size"], "2")
        self.assertEqual(prov["train_files_last_epoch"], "4")
        self.assertEqual(prov["validation_files"], "1")
        self.assertEqual(prov["curriculum"], "paper")
        self.assertIn("--loss contrastive", prov["command"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
