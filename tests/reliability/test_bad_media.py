"""Reliability: media files that are broken, odd or extreme, through `avts features` and
`avts sync` (uridecodebin, the feature elements, avtssync).

Each case states what must happen: a clear error naming the problem and exit code 2, or the
documented result. Never a crash (exit code < 0 or > 2), a hang (timeout) or an abort.
Files are made on the fly (tests/reliability/media.py); the model is an untrained
`avts init` one: these tests are about robustness, not accuracy.
"""
import json
import os
import tempfile
import unittest

import numpy as np

import media
from media import avts, window_starts


class BadMedia(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.model = os.path.join(d, "m.avts")
        assert avts("init", "--seed", "2", "--clip-seconds", "1", "-o", cls.model).returncode == 0
        cls.av = media.webm(os.path.join(d, "av.webm"), 3.0)
        cls.video_only = media.webm(os.path.join(d, "video_only.webm"), 2.0, audio=False)
        cls.audio_only = media.wav(os.path.join(d, "audio_only.wav"), 2.0)
        cls.clip = media.clip_seconds(cls.model)  # the window length
        cls.short = media.webm(os.path.join(d, "short.webm"), cls.clip / 2)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def features(self, media_file, modality, *extra):
        out = self.path(f"{os.path.basename(media_file)}.{modality}.npy")
        times = out + ".t.npy"
        p = avts("features", media_file, "-m", self.model, "--modality", modality, "-o", out, "--times", times,
                 *extra)
        return p, out, times

    def expect_error(self, p, text):
        self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
        self.assertIn(text, p.stderr)
        self.assertNotIn("internal error", p.stderr)

    def test_no_audio_track(self):
        p, _, _ = self.features(self.video_only, "audio")
        self.expect_error(p, "has no audio track")
        self.expect_error(avts("sync", self.video_only, "-m", self.model), "has no audio track")
        # The video of the same file is fine.
        p, out, _ = self.features(self.video_only, "video")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(np.load(out).shape, (len(window_starts(0, 2.0, self.clip, 0.2)), 128))  # 2 s, every 200 ms

    def test_no_video_track(self):
        p, _, _ = self.features(self.audio_only, "video")
        self.expect_error(p, "has no video track")
        self.expect_error(avts("sync", self.audio_only, "-m", self.model), "has no video track")

    def test_zero_byte_file(self):
        empty = self.path("empty.webm")
        open(empty, "wb").close()
        self.expect_error(self.features(empty, "audio")[0], "contains no data")
        self.expect_error(avts("sync", empty, "-m", self.model), "contains no data")

    def test_random_bytes(self):
        junk = self.path("junk.mp4")
        with open(junk, "wb") as f:
            f.write(np.random.default_rng(6).bytes(200_000))
        self.expect_error(self.features(junk, "video")[0], "Could not determine type of stream")
        self.expect_error(avts("sync", junk, "-m", self.model), "Could not determine type of stream")

    def test_truncated_file_gives_what_it_holds(self):
        whole = open(self.av, "rb").read()
        cut = self.path("cut.webm")
        with open(cut, "wb") as f:
            f.write(whole[: len(whole) // 2])
        p, out, times = self.features(cut, "audio")
        self.assertEqual(p.returncode, 0, p.stderr)
        full, _, _ = self.features(self.av, "audio")
        rows, all_rows = np.load(out).shape[0], np.load(self.path("av.webm.audio.npy")).shape[0]
        self.assertGreater(rows, 0)
        self.assertLess(rows, all_rows)  # less than the whole file: what the first half holds
        np.testing.assert_allclose(np.diff(np.load(times)), 0.04, atol=1e-9)
        sync = avts("sync", cut, "-m", self.model, "--json")
        self.assertIn(sync.returncode, (0, 1), sync.stderr)  # a verdict, not an error
        json.loads(sync.stdout)

    def test_cut_inside_the_header(self):
        header_only = self.path("header.webm")
        with open(header_only, "wb") as f:
            f.write(open(self.av, "rb").read()[:300])
        p = avts("sync", header_only, "-m", self.model)
        self.assertIn(p.returncode, (1, 2), (p.stdout, p.stderr))  # an error or an inconclusive verdict
        self.assertNotIn("internal error", p.stderr)

    def test_shorter_than_one_window(self):
        p, _, _ = self.features(self.short, "audio")
        self.expect_error(p, "too short for one feature window")
        p = avts("sync", self.short, "-m", self.model, "--json")
        self.assertEqual(p.returncode, 1, p.stderr)  # no verdict possible: inconclusive, exit 1
        summary = json.loads(p.stdout)["summary"]
        self.assertEqual(summary["status"], "inconclusive")
        self.assertEqual(summary["windows"], 0)

    def test_4k_video(self):
        # Three MJPEG frames of 3840x2160 at 2 fps (1.5 s) with audio under them.
        big = media.make(self.path("4k.mkv"),
                         "videotestsrc", "num-buffers=3", "!", "video/x-raw,width=3840,height=2160,framerate=2/1",
                         "!", "jpegenc", "!", "queue", "!", "mux.",
                         *media.audio_src(1.5), "!", "audioconvert", "!", "opusenc", "!", "queue", "!", "mux.",
                         "matroskamux", "name=mux")
        p, out, times = self.features(big, "video")
        self.assertEqual(p.returncode, 0, p.stderr)
        np.testing.assert_allclose(np.load(times), window_starts(0, 1.5, self.clip, 0.2))  # those within 1.5 s
        self.assertTrue(np.all(np.isfinite(np.load(out))))
        sync = avts("sync", big, "-m", self.model, "--json")
        self.assertIn(sync.returncode, (0, 1), sync.stderr)

    def test_8_channels_at_96_khz(self):
        multi = media.wav(self.path("8ch.wav"), 3.0, rate=96000, channels=8)
        p, out, times = self.features(multi, "audio")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(np.load(out).shape, (len(window_starts(0, 3.0, self.clip, 0.04)), 128))  # 3 s, every 40 ms
        np.testing.assert_allclose(np.diff(np.load(times)), 0.04, atol=1e-9)

    def test_variable_frame_rate(self):
        # Frame spacing drawn from 10 to 100 ms over 3 s: windows stay on the 200 ms grid.
        rng = np.random.default_rng(3)
        frames, t, i = [], 0.0, 0
        while t < 3.0:
            step = float(rng.uniform(0.01, 0.1))
            frames.append((t, step, media.moving_frame(i)))
            t, i = t + step, i + 1
        vfr = media.write_frames(self.path("vfr.mkv"), frames, audio_seconds=3.0)
        p, out, times = self.features(vfr, "video")
        self.assertEqual(p.returncode, 0, p.stderr)
        t = np.load(times)
        self.assertEqual(t[0], 0.0)
        np.testing.assert_allclose(np.diff(t), 0.2, atol=1e-9)
        # All the windows within 3 s, but maybe the last (the last frame may end early).
        self.assertGreaterEqual(len(t), len(window_starts(0, 3.0, self.clip, 0.2)) - 1)
        sync = avts("sync", vfr, "-m", self.model, "--json")
        self.assertIn(sync.returncode, (0, 1), sync.stderr)
        self.assertGreater(len(json.loads(sync.stdout)["reports"]), 0)

    def test_timestamps_with_a_gap(self):
        # 1.5 s of frames, nothing for 2 s, 1.5 s more: the windows restart after the gap.
        frames = [(i * 0.04, 0.04, media.moving_frame(i)) for i in range(38)]
        frames += [(3.5 + i * 0.04, 0.04, media.moving_frame(i)) for i in range(38)]
        gap = media.write_frames(self.path("gap.mkv"), frames)
        p, out, times = self.features(gap, "video")
        self.assertEqual(p.returncode, 0, p.stderr)
        t = np.load(times)
        before, after = t[t < 2.0], t[t >= 2.0]
        np.testing.assert_allclose(before, window_starts(0, 1.52, self.clip, 0.2))
        # A new grid: its first point after the frames resume at 3.5 s is 3.6.
        np.testing.assert_allclose(after, window_starts(3.6, 3.5 + 1.52, self.clip, 0.2))


if __name__ == "__main__":
    unittest.main(verbosity=2)
