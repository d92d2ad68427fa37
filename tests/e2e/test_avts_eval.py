"""End-to-end: `avts eval` on the test clips with an untrained model.

An untrained model's numbers mean nothing about quality; this checks the command: the report's
structure, counts and ranges, reproducibility, skipped inputs, errors, and that its offset
machinery is `avts sync --shift-audio`'s: the same estimate for the same shift, and an estimate
that follows a shift of +X ms by +X ms (positive = audio early).
"""
import json
import os
import subprocess
import tempfile
import unittest

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIPS = [os.path.join(MEDIA, n) for n in ("grid_s1_bbal8p.mpg", "grid_s1_lgas2n.mpg", "grid_s4_bgbu1p.webm")]
SHIFTS = [-400, -200, -120, -80, -40, 0, 40, 80, 120, 200, 400]
STATUSES = {"ok", "warn", "fail", "inconclusive"}


def avts(*args):
    return subprocess.run([AVTS, *args], capture_output=True, text=True, timeout=600)


def fractions(obj):
    """Every accuracy, AUC and share in a report section (None = no pairs of that kind)."""
    prefixes = ("accuracy", "auc", "conclusive-accuracy", "inconclusive-share")
    return {k: v for k, v in obj.items() if k.startswith(prefixes)}


class AvtsEval(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "m.avts")
        p = avts("init", "--seed", "3", "-o", cls.model)
        assert p.returncode == 0, p.stderr
        cls.missing = os.path.join(cls.tmp.name, "gone.mpg")
        cls.manifest = cls.write("manifest.txt", "# the test clips, and two inputs that cannot be used\n"
                                 + "\n".join(CLIPS) + f"\n{cls.missing}\n{CLIPS[0]} train extra-column\n")
        cls.run1 = avts("eval", cls.manifest, "-m", cls.model, "--json")
        cls.run2 = avts("eval", cls.manifest, "-m", cls.model, "--json")
        assert cls.run1.returncode == 0, cls.run1.stderr
        cls.report = json.loads(cls.run1.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def write(cls, name, text):
        path = os.path.join(cls.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def trial(self, clip, shift):
        [t] = [t for t in self.report["trials"] if t["input"] == clip and t["shift-ms"] == shift]
        return t

    def test_structure_and_counts(self):
        r = self.report
        self.assertEqual(r["sign"], "positive = audio early")
        self.assertEqual(r["seed"], 1)
        self.assertEqual(r["split"], "all")
        self.assertEqual(r["clips"]["evaluated"], 3)
        self.assertEqual(r["clips"]["skipped"], 2)  # the missing file and the bad line
        self.assertEqual(r["clips"]["listed"], 5)
        reasons = " ".join(s["reason"] for s in r["clips"]["skipped-inputs"])
        self.assertIn("no such file", reasons)
        self.assertIn("columns", reasons)
        self.assertIn("skipping", self.run1.stderr)

        c = r["sync-classification"]
        self.assertEqual(c["clips"], 3)
        self.assertEqual(c["positives"], 12)  # 4 windows per 3 s clip
        self.assertEqual(c["easy-pairs"], 12)
        self.assertEqual(c["hard-pairs"], 12)
        self.assertGreater(c["threshold"], 0)

        o = r["offset"]
        self.assertEqual(o["shifts-ms"], SHIFTS)
        self.assertEqual(o["tolerance-ms"], 40)  # one frame at the model's 25 fps
        self.assertEqual(o["trials"], 33)
        self.assertEqual([p["shift-ms"] for p in o["per-shift"]], SHIFTS)
        for p in o["per-shift"]:
            self.assertEqual(p["trials"], 3)
            self.assertLessEqual(p["correct"] + p["inconclusive"], p["trials"])
        self.assertEqual(sum(p["correct"] for p in o["per-shift"]), o["correct"])
        self.assertEqual(sum(p["inconclusive"] for p in o["per-shift"]), o["inconclusive"])
        self.assertEqual(len(r["trials"]), 33)
        for t in r["trials"]:
            self.assertEqual(t["truth-ms"], t["shift-ms"])  # clips recorded in sync: truth = +shift
            self.assertIn(t["status"], STATUSES)
            self.assertLessEqual(abs(t["offset-ms"]), o["max-offset-ms"])
            self.assertEqual(t["correct"], t["status"] != "inconclusive" and not t["out-of-range"]
                             and abs(t["offset-ms"] - t["truth-ms"]) <= 40)
            if t["windows"]:  # the curve behind the estimate: its minimum is the offset
                curve, minima = t["curve"], t["window-minima"]
                self.assertEqual(len(curve), len(minima))
                self.assertEqual(sum(minima), t["windows"])
                k = curve.index(min(curve))
                self.assertLessEqual(abs(t["curve-first-offset-ms"] - k * t["curve-hop-ms"] - t["offset-ms"]),
                                     t["curve-hop-ms"])

    def test_numbers_in_range(self):
        c, o = self.report["sync-classification"], self.report["offset"]
        # Always numbers: there are pairs of both kinds and trials.
        for v in (c["accuracy-easy"], c["auc-easy"], c["accuracy-hard"], c["auc-hard"], o["accuracy"],
                  o["inconclusive-share"]):
            self.assertIsInstance(v, (int, float))
        # Every accuracy, AUC and share in [0, 1]; None only where no trial was conclusive.
        for section in [c, o] + o["per-shift"]:
            for k, v in fractions(section).items():
                if v is None:
                    self.assertEqual(k, "conclusive-accuracy")
                    self.assertEqual(section["inconclusive"], section["trials"])
                else:
                    self.assertTrue(0 <= v <= 1, (k, v))
        for k in ("mean-distance-positive", "mean-distance-easy", "mean-distance-hard"):
            self.assertGreater(c[k], 0)
        # The untrained model is not confident: its estimates are inconclusive, and said so.
        self.assertEqual(o["inconclusive-share"], o["inconclusive"] / o["trials"])
        self.assertGreater(o["inconclusive-share"], 0.5)

    def test_answers_follow_the_trials(self):
        o, trials = self.report["offset"], self.report["trials"]

        def right(t):
            return t["windows"] > 0 and not t["out-of-range"] and abs(t["offset-ms"] - t["truth-ms"]) <= 40

        def answered(t, c):
            return t["windows"] > 0 and t["confidence"] >= c

        self.assertAlmostEqual(o["forced-accuracy"], sum(map(right, trials)) / len(trials))
        a = o["answers"]
        self.assertEqual(a["min-confidence"], o["min-confidence"])
        self.assertEqual(a["answered"], sum(answered(t, a["min-confidence"]) for t in trials))
        self.assertEqual(a["right"], sum(answered(t, a["min-confidence"]) and right(t) for t in trials))
        self.assertAlmostEqual(a["coverage"], a["answered"] / len(trials))
        # The calibrated threshold: answers right at least 95 % of the time, or none found.
        cal = o["calibrated"]
        self.assertEqual(cal["target-precision"], 0.95)
        if "min-confidence" in cal:
            self.assertGreaterEqual(cal["precision"], 0.95)
            self.assertGreaterEqual(cal["answered"], 10)
            self.assertEqual(cal["right"], sum(answered(t, cal["min-confidence"]) and right(t) for t in trials))

    def test_save_calibrated_carries_the_min_confidence_into_sync(self):
        # The untrained model: no threshold makes its answers right, so nothing is written.
        out = os.path.join(self.tmp.name, "calibrated.avts")
        p = avts("eval", self.manifest, "-m", self.model, "--save-calibrated", out)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("not written", p.stderr)
        self.assertFalse(os.path.exists(out))
        # The shipped model reads the bundled clips right: the copy carries the calibrated value,
        # and avtssync takes it from the features' caps (eval reports the value it ran with).
        shipped = os.path.join(ROOT, "models", "avts-compact.avts")
        manifest = self.write("fit.txt", "\n".join(CLIPS) + "\n")
        p = avts("eval", manifest, "-m", shipped, "--json", "--save-calibrated", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        calibrated = json.loads(p.stdout)["offset"]["calibrated"]
        info = json.loads(avts("info", "--json", out).stdout)
        self.assertAlmostEqual(info["min_confidence"], calibrated["min-confidence"])
        self.assertIn("min-confidence-calibrated-on", info["provenance"])
        again = json.loads(avts("eval", manifest, "-m", out, "--json", "--shifts", "0").stdout)
        self.assertAlmostEqual(again["offset"]["min-confidence"], calibrated["min-confidence"], places=6)

    def test_reproducible(self):
        self.assertEqual(self.run1.returncode, 0)
        self.assertEqual(self.run1.stdout, self.run2.stdout)
        other = avts("eval", self.manifest, "-m", self.model, "--json", "--seed", "2", "--shifts", "0")
        self.assertEqual(other.returncode, 0, other.stderr)
        self.assertNotEqual(json.loads(other.stdout)["sync-classification"], self.report["sync-classification"])

    def test_same_estimate_as_avts_sync_shift_audio(self):
        clip = CLIPS[1]
        for shift in (-120, 200):
            p = avts("sync", clip, "-m", self.model, "--json", "--shift-audio", str(shift))
            self.assertIn(p.returncode, (0, 1), p.stderr)
            summary = json.loads(p.stdout)["summary"]
            t = self.trial(clip, shift)
            self.assertAlmostEqual(t["offset-ms"], summary["offset-ms"], places=6)
            self.assertAlmostEqual(t["confidence"], summary["confidence"], places=9)
            self.assertEqual(t["out-of-range"], summary["out-of-range"])
            self.assertEqual(t["windows"], summary["windows"])

    def test_video_hop_as_avts_sync(self):
        # A longer video hop (half the video network's work) measured the way avts sync runs it.
        self.assertEqual(self.report["offset"]["video-hop-ms"], 200)  # the compact preset's clip length
        clip = CLIPS[1]
        manifest = self.write("hop.txt", f"{clip}\n")
        p = avts("eval", manifest, "-m", self.model, "--json", "--video-hop", "400", "--shifts", "200")
        self.assertEqual(p.returncode, 0, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["offset"]["video-hop-ms"], 400)
        [t] = report["trials"]
        s = avts("sync", clip, "-m", self.model, "--json", "--shift-audio", "200", "--video-hop", "400")
        self.assertIn(s.returncode, (0, 1), s.stderr)
        summary = json.loads(s.stdout)["summary"]
        self.assertAlmostEqual(t["offset-ms"], summary["offset-ms"], places=6)
        self.assertEqual(t["windows"], summary["windows"])
        self.assertLess(t["windows"], self.trial(clip, 200)["windows"])  # fewer video windows

    def test_face_track_as_avts_sync(self):
        # --face-track measures the mouth of the tracked face, the way avts sync --face-track does.
        self.assertEqual(self.report["video-region"], "model")
        clip = CLIPS[0]
        manifest = self.write("face.txt", f"{clip}\n")
        p = avts("eval", manifest, "-m", self.model, "--json", "--face-track", "--shifts", "200")
        self.assertEqual(p.returncode, 0, p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report["video-region"], "face-track")
        [t] = report["trials"]
        s = avts("sync", clip, "-m", self.model, "--json", "--shift-audio", "200", "--face-track")
        self.assertIn(s.returncode, (0, 1), s.stderr)
        synced = json.loads(s.stdout)
        self.assertEqual(synced["video-region"], "face-track")
        self.assertAlmostEqual(t["offset-ms"], synced["summary"]["offset-ms"], places=6)

    def test_estimate_follows_the_shift(self):
        # An untrained model still has a distance curve shaped by the audio: moving the audio
        # by d moves its minimum by d. Between neighbouring shifts whose estimates are both in
        # range, the estimate must move by +d (positive = audio early), not -d and not 0.
        along, against = 0, 0
        for clip in CLIPS:
            for a, b in zip(SHIFTS, SHIFTS[1:]):
                ta, tb = self.trial(clip, a), self.trial(clip, b)
                if ta["out-of-range"] or tb["out-of-range"]:
                    continue
                moved = tb["offset-ms"] - ta["offset-ms"]
                along += abs(moved - (b - a)) < 1
                against += abs(moved + (b - a)) < 1
        self.assertGreaterEqual(along, 3)
        self.assertGreater(along, against)

    def test_split_and_table(self):
        manifest = self.write("split.txt", f"{CLIPS[0]} train\n{CLIPS[1]} val\n{CLIPS[2]} train\n")
        p = avts("eval", manifest, "-m", self.model, "--split", "validation", "--shifts", "0,40")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertIn("1 clips evaluated, 0 skipped (split validation)", lines[0])
        for label in ("accuracy", "mean absolute error", "inconclusive"):
            self.assertEqual(sum(1 for l in lines if l.strip().startswith(label + " ")), 1, (label, p.stdout))
        self.assertTrue(any("positives vs easy negatives" in l for l in lines))
        self.assertTrue(any("positives vs hard negatives" in l for l in lines))
        self.assertTrue(any(l.split()[:2] == ["+40", "1"] for l in lines), p.stdout)  # per-shift row
        self.assertIn("positive offset = audio early", p.stdout)

    def test_errors_exit_2(self):
        empty = self.write("empty.txt", "# nothing\n")
        tagged = self.write("tagged.txt", f"{CLIPS[0]} train\n")
        unusable = self.write("unusable.txt", f"{self.missing}\n")
        bogus_model = self.write("bogus.avts", "not a model")
        cases = [
            (["eval", os.path.join(self.tmp.name, "none.txt"), "-m", self.model], "none.txt"),
            (["eval", empty, "-m", self.model], "lists no media files"),
            (["eval", tagged, "-m", self.model, "--split", "validation"], "validation split"),
            (["eval", unusable, "-m", self.model], "could be evaluated"),
            (["eval", self.manifest, "-m", bogus_model], "bogus.avts"),
            (["eval", self.manifest, "-m", os.path.join(self.tmp.name, "none.avts")], "none.avts"),
            (["eval", self.manifest, "-m", self.model, "--split", "nonsense"], "nonsense"),
            (["eval", self.manifest, "-m", self.model, "--shifts", "10,x"], "'x'"),
        ]
        for args, text in cases:
            p = avts(*args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn(text, p.stderr, args)


if __name__ == "__main__":
    unittest.main()
