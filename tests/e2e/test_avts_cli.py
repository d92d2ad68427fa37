"""End-to-end: the avts command on real clips (decode with GStreamer, features, .npy).

Run by meson with AVTS_TOOL (the avts binary), AVTS_TEST_MEDIA and GST_PLUGIN_PATH set.
"""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

AVTS = os.environ["AVTS_TOOL"]
MEDIA = os.environ["AVTS_TEST_MEDIA"]
MPG = os.path.join(MEDIA, "grid_s1_bbal8p.mpg")   # MPEG-PS, MPEG-1 video + MP2, 3 s
WEBM = os.path.join(MEDIA, "grid_s4_bgbu1p.webm")  # VP9 + Opus 48 kHz, 3 s


def avts(*args, check=True):
    p = subprocess.run([AVTS, *args], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"avts {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


class AvtsCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "compact.avts")
        avts("init", "--preset", "avts-compact", "--clip-seconds", "1", "--seed", "1", "-o", cls.model)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def out(self, name):
        return os.path.join(self.tmp.name, name)

    def test_info_describes_the_model(self):
        text = avts("info", self.model).stdout
        self.assertIn("avts-compact", text)
        self.assertIn("40 mel bands", text)
        info = json.loads(avts("info", "--json", self.model).stdout)
        self.assertEqual(info["preset"], "avts-compact")
        self.assertEqual(len(info["model_id"]), 16)
        self.assertEqual(info["dims"]["audio"]["embedding"], 128)

    def test_init_overrides_the_front_end(self):
        model = self.out("zoomed.avts")
        avts("init", "--resize", "96", "--crop", "48", "--seed", "1", "-o", model)
        info = json.loads(avts("info", "--json", model).stdout)
        video = info["video"]
        self.assertEqual((video["resize"], video["crop"]), (96, 48))
        p = avts("init", "--resize", "40", "--crop", "64", "-o", self.out("bad.avts"), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("video.resize must be >= video.crop", p.stderr)
        self.assertFalse(os.path.exists(self.out("bad.avts")))

    def test_face_framing(self):
        # A model that looks at the mouth of a face: info says so, and avts sync / eval
        # insert the face tracker for it (or for any model with --face-track).
        face = self.out("face.avts")
        avts("init", "--preset", "avts-compact", "--framing", "face", "--seed", "1", "-o", face)
        self.assertIn("framing      the mouth of the face", avts("info", face).stdout)
        report = json.loads(avts("sync", "--json", "-q", "-m", face, MPG, check=False).stdout)
        self.assertEqual(report["video-region"], "face-track")
        report = json.loads(avts("sync", "--json", "-q", "-m", face, "--no-face-track", MPG, check=False).stdout)
        self.assertEqual(report["video-region"], "model")
        report = json.loads(avts("sync", "--json", "-q", "-m", self.model, "--face-track", MPG, check=False).stdout)
        self.assertEqual(report["video-region"], "face-track")
        # A picture without a face: the face model judges nothing, so the verdict is inconclusive.
        no_face = self.out("no-face.mkv")
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=75", "pattern=ball", "!",
                        "video/x-raw,width=320,height=240,framerate=25/1", "!", "videoconvert", "!", "vp8enc", "!",
                        "matroskamux", "name=m", "!", "filesink", f"location={no_face}", "audiotestsrc",
                        "num-buffers=130", "!", "audioconvert", "!", "vorbisenc", "!", "m."], check=True, timeout=120)
        p = avts("sync", "--json", "-q", "-m", face, no_face, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(json.loads(p.stdout)["summary"]["status"], "inconclusive")
        p = avts("sync", "-m", face, "--face-track", "--no-face-track", MPG, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("exclude each other", p.stderr)
        p = avts("init", "--framing", "body", "-o", self.out("bad-framing.avts"), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("video.framing must be region or face", p.stderr)

    def test_init_region(self):
        model = self.out("region.avts")
        avts("init", "--region", "0.2,0.45,0.6,0.5", "-o", model)
        info = json.loads(avts("info", "--json", model).stdout)
        self.assertEqual(info["video"]["region"], [0.2, 0.45, 0.6, 0.5])
        self.assertIn("region x 0.2 y 0.45 w 0.6 h 0.5", avts("info", model).stdout)
        for region, says in (("0.5,0.5", "expected four fractions"), ("0.5,0,0.6,1", "inside the frame"),
                             ("a,b,c,d", "expected four fractions")):
            p = avts("init", "--region", region, "-o", self.out("bad.avts"), check=False)
            self.assertEqual(p.returncode, 2, region)
            self.assertIn(says, p.stderr)
            self.assertFalse(os.path.exists(self.out("bad.avts")))

    def test_audio_features_of_a_real_clip(self):
        out, times = self.out("a.npy"), self.out("a_t.npy")
        avts("features", MPG, "-m", self.model, "--modality", "audio", "-o", out, "--times", times)
        x, t = np.load(out), np.load(times)
        # 2.98 s of MPEG audio, 1 s windows every 40 ms: starts 0.00 .. 1.96 s -> 50 windows.
        # (With the SCR's ~0.24 s jump that GStreamer's MPEG-PS demuxer reads into this file by
        # default, the featurizer filled 5 windows more.)
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(x.shape, (50, 128))
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(np.diff(t), 0.04, atol=1e-9)
        self.assertEqual(t[0], 0.0)

    def test_mpeg_program_stream_timeline_is_continuous(self):
        # The video of the same file: 75 frames, 3.0 s; 1 s windows every 200 ms start at
        # 0.0 .. 2.0 s, evenly spaced (the demuxer's jump would add a window and break the grid's
        # alignment with the audio's).
        out, times = self.out("mv.npy"), self.out("mv_t.npy")
        avts("features", MPG, "-m", self.model, "--modality", "video", "--hop", "200", "-o", out, "--times", times)
        t = np.load(times)
        self.assertEqual(len(t), 11)
        np.testing.assert_allclose(t, np.arange(11) * 0.2, atol=1e-9)

    def test_video_features_of_a_real_clip(self):
        out = self.out("v.npy")
        avts("features", WEBM, "-m", self.model, "--modality", "video", "--hop", "200", "-o", out)
        x = np.load(out)
        # 3 s of video, 1 s windows every 200 ms: starts 0.0 .. 2.0 s -> 11 windows
        self.assertEqual(x.shape, (11, 128))
        self.assertTrue(np.all(np.isfinite(x)))

    def test_features_are_deterministic(self):
        a, b = self.out("d1.npy"), self.out("d2.npy")
        for path in (a, b):
            avts("features", MPG, "-m", self.model, "--modality", "video", "-o", path)
        np.testing.assert_array_equal(np.load(a), np.load(b))

    def test_pooled_layer(self):
        out = self.out("l3.npy")
        avts("features", MPG, "-m", self.model, "--layer", "layer3", "-o", out)
        info = json.loads(avts("info", "--json", self.model).stdout)
        self.assertEqual(np.load(out).shape[1], info["dims"]["audio"]["layer3"])

    def test_clear_errors(self):
        cases = [
            (["features", self.out("missing.mpg"), "-m", self.model, "-o", self.out("x.npy")], "no such file"),
            (["features", MPG, "-m", self.out("missing.avts"), "-o", self.out("x.npy")], "missing.avts"),
            (["features", MPG, "-m", self.model, "--layer", "layer9", "-o", self.out("x.npy")], "layer9"),
            (["info", self.out("missing.avts")], "missing.avts"),
            (["frobnicate"], "unknown command"),
        ]
        for args, expected in cases:
            p = avts(*args, check=False)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(expected, p.stderr, args)

    def test_precision(self):
        # float32 is the default: asking for it changes nothing.
        a, b = self.out("p32.npy"), self.out("pdefault.npy")
        avts("features", MPG, "-m", self.model, "--precision", "float32", "-o", a)
        avts("features", MPG, "-m", self.model, "-o", b)
        np.testing.assert_array_equal(np.load(a), np.load(b))
        # bfloat16 autocast runs on the CPU too: close to float32, not the same arithmetic.
        lower = self.out("pbf16.npy")
        avts("features", MPG, "-m", self.model, "--precision", "bfloat16", "-o", lower)
        full, low = np.load(a), np.load(lower)
        self.assertEqual(full.shape, low.shape)
        self.assertFalse(np.array_equal(full, low))
        cosine = (full * low).sum(1) / (np.linalg.norm(full, axis=1) * np.linalg.norm(low, axis=1))
        self.assertGreater(cosine.min(), 0.98)
        # float16 is CUDA autocast only, and training in bfloat16 too: on the CPU each command says so.
        manifest = self.out("precision.txt")
        with open(manifest, "w") as f:
            f.write(f"{MPG}\n{WEBM}\n")
        cases = [
            (["features", MPG, "-m", self.model, "--precision", "float16", "-o", self.out("x.npy")],
             "precision float16 needs a CUDA device"),
            (["sync", MPG, "-m", self.model, "--precision", "float16", "-q"], "precision float16 needs a CUDA device"),
            (["eval", manifest, "--model", self.model, "--precision", "fp16"], "precision float16 needs a CUDA device"),
            (["features", MPG, "-m", self.model, "--precision", "half", "-o", self.out("x.npy")],
             "unknown precision 'half' (use float32, bfloat16 or float16)"),
            (["train", manifest, "-o", self.out("t.avts"), "--precision", "bfloat16"],
             "precision bfloat16 needs a CUDA device to train"),
            (["train", manifest, "-o", self.out("t.avts"), "--precision", "float16", "--device", "cuda"],
             "precision float16 cannot train"),
        ]
        for args, expected in cases:
            p = avts(*args, check=False)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(expected, p.stderr, args)
        self.assertFalse(os.path.exists(self.out("t.avts")))

    def test_garbage_input_is_an_error_not_a_crash(self):
        junk = self.out("junk.mp4")
        with open(junk, "wb") as f:
            f.write(np.random.default_rng(0).bytes(50000))
        p = avts("features", junk, "-m", self.model, "-o", self.out("x.npy"), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("error", p.stderr)

    def test_audio_only_file_has_no_video_track(self):
        wav = self.out("tone.wav")
        subprocess.run(["gst-launch-1.0", "-q", "audiotestsrc", "num-buffers=50", "!", "wavenc", "!",
                        "filesink", f"location={wav}"], check=True, timeout=60)
        p = avts("features", wav, "-m", self.model, "--modality", "video", "-o", self.out("x.npy"),
                 check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no video track", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
