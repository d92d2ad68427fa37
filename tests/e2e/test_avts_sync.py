"""End-to-end: `avts sync` on real clips (decode, both feature elements, avtssync, report).

With an untrained model the offsets are not meaningful; this checks the command: the
report's shape and fields, JSON, the plot, exit codes and errors. Accuracy is checked on
synthetic streams (tests/lib/test_sync.cpp) and with the trained model by `avts eval`.
"""
import json
import os
import subprocess
import tempfile
import unittest

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
CLIP = os.path.join(MEDIA, "grid_s1_lgas2n.mpg")
STATUSES = {"ok", "warn", "fail", "inconclusive"}


def avts(*args):
    return subprocess.run([AVTS, *args], capture_output=True, text=True, timeout=300)


class AvtsSync(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "m.avts")
        p = avts("init", "--seed", "3", "-o", cls.model)
        assert p.returncode == 0, p.stderr
        cls.json_run = avts("sync", CLIP, "-m", cls.model, "--json", "--interval", "500", "--context", "2000")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_json_report(self):
        p = self.json_run
        self.assertIn(p.returncode, (0, 1), p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["sign"], "positive = audio early")
        reports, summary = out["reports"], out["summary"]
        self.assertGreaterEqual(len(reports), 4)  # a 3 s clip, a report every 0.5 s
        times = [r["timestamp"] for r in reports]
        self.assertEqual(times, sorted(times))
        for r in reports:
            self.assertIn(r["status"], STATUSES)
            self.assertLessEqual(abs(r["offset-ms"]), 600)
            self.assertGreaterEqual(r["confidence"], 0)
            self.assertTrue(0 <= r["probability"] <= 1)
            self.assertEqual(r["standard"], "ebu-r37")
        self.assertIn(summary["status"], STATUSES)
        # The exit code is the verdict: 0 within tolerance, 1 outside it or inconclusive.
        self.assertEqual(p.returncode, 0 if summary["status"] in ("ok", "warn") else 1)

    def test_table_and_plot(self):
        png = os.path.join(self.tmp.name, "report.png")
        p = avts("sync", CLIP, "-m", self.model, "--standard", "atsc-is191", "--plot", png)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        self.assertIn("positive = audio early", p.stdout)
        self.assertIn("against atsc-is191", p.stdout)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(png), 5000)

    def test_errors_exit_2(self):
        cases = [
            (["sync", CLIP, "-m", self.model, "--standard", "nonsense"], "nonsense"),
            (["sync", os.path.join(self.tmp.name, "none.mp4"), "-m", self.model], "no such file"),
            (["sync", CLIP, "-m", os.path.join(self.tmp.name, "none.avts")], "none.avts"),
            (["sync", CLIP, "-m", self.model, "--batch-size", "0"], "--batch-size must be in [1, 1024]"),
        ]
        for args, text in cases:
            p = avts(*args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn(text, p.stderr)

    def test_audio_only_input_is_an_error(self):
        wav = os.path.join(self.tmp.name, "tone.wav")
        subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", "num-buffers=100", "!", "wavenc", "!",
                        "filesink", f"location={wav}"], check=True, timeout=60)
        p = avts("sync", wav, "-m", self.model)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no video track", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
