"""End-to-end: the shipped model's recipe (train/shipped/recipe.sh) still runs, in a shortened form.

The recipe splits GRID clips by speaker (manifest.sh) and calls `avts train` with the shipped
settings; here it runs on the bundled clips for one epoch with a small batch, and the model it
writes must carry the recipe's settings in its provenance. Run by meson with AVTS_TOOL,
AVTS_TEST_MEDIA and GST_PLUGIN_PATH set.
"""
import json
import os
import subprocess
import tempfile
import unittest

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
            info = json.loads(subprocess.run([AVTS, "info", "--json", model], capture_output=True, text=True,
                                             check=True).stdout)
            self.assertEqual(info["preset"], "avts-compact")
            self.assertEqual(info["video"]["region"], [0.2, 0.45, 0.6, 0.5])  # the lower middle
            prov = info["provenance"]
            self.assertEqual(prov["epochs"], "1")
            self.assertEqual(prov["seed"], "1")
            self.assertEqual(prov["curriculum"], "paper-fine")
            self.assertEqual(prov["validation_files"], "1")
            self.assertIn("--negatives 2", prov["command"])
            self.assertIn("--loss multi-way", prov["command"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
