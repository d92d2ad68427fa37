"""End-to-end: the shipped model (models/avts-compact.avts) still reads the clips it was trained on.

The bundled GRID clips of speakers s1 and s4 are among the model's training clips (models/README.md).
On them the shipped model finds every applied shift to within one video frame; a broken front end
(the region, the resize, the log-mel), a damaged model file or a pipeline that misaligns audio and
video would not. This is a fit check, not a quality figure: the model card's `avts eval` on unseen
speakers is that. Run by meson with AVTS_TOOL, AVTS_TEST_MEDIA and GST_PLUGIN_PATH set.
"""
import json
import os
import subprocess
import unittest

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "avts-compact.avts")


class ShippedModel(unittest.TestCase):
    def test_finds_the_shifts_of_its_training_clips(self):
        p = subprocess.run([AVTS, "eval", os.path.join(MEDIA, "train.txt"), "--model", MODEL, "--min-confidence", "0",
                            "--json"], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["clips"]["evaluated"], 3)
        offset, sync = report["offset"], report["sync-classification"]
        # 11 shifts x 3 clips; at the time of writing all 33 within 40 ms, mean error 10 ms.
        self.assertEqual(offset["trials"], 33)
        self.assertGreaterEqual(offset["accuracy"], 0.9, offset)
        self.assertLess(offset["mean-abs-error-ms"], 40.0, offset)
        # In-sync pairs closer than pairs shifted by 0.5-2 s (AUC 0.91 at the time of writing).
        self.assertGreater(sync["auc-hard"], 0.75, sync)
        self.assertLess(sync["mean-distance-positive"], sync["mean-distance-hard"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
