"""Reliability: streams that misbehave, fed through appsrc into the project's elements.

Timestamps that jump back or leave gaps, buffers without timestamps, caps that change
mid-stream, extreme formats, and feature streams that do not belong together. Each case
states what must happen: a GST_ELEMENT_ERROR naming the problem, or the documented
behaviour; never a crash, a hang (a deadline fails the test) or an abort.
"""
import os
import tempfile
import unittest

import numpy as np

from media import avts, clip_seconds, window_starts
from streams import Gst, audio_caps, feature_rows, run, run_of, video_caps

DIM = 128
HOP_A, HOP_V = 0.04, 0.2


def audio_features(model, segments, hop_ms=40):
    return run(f"appsrc name=a ! avtsaudiofeat model-file={model} hop={hop_ms} ! appsink name=out", {"a": segments})


def video_features(model, segments):
    return run(f"appsrc name=v ! videoconvert ! video/x-raw,format=RGB ! avtsvideofeat model-file={model} "
               "! appsink name=out", {"v": segments})


def monitor(model, audio_segments, video_segments):
    """avtssyncbin between appsrcs and appsinks: what passes through and the reports."""
    return run(f"appsrc name=a ! audioconvert ! audio/x-raw,format=S16LE ! b.audio_sink "
               f"appsrc name=v ! b.video_sink avtssyncbin name=b model-file={model} interval=500 context=2000 "
               "b.audio_src ! appsink name=audio_out b.video_src ! appsink name=video_out",
               {"a": audio_segments, "v": video_segments})


class BadStreams(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "compact.avts")
        cls.other = os.path.join(cls.tmp.name, "other.avts")
        assert avts("init", "--seed", "1", "--clip-seconds", "1", "-o", cls.model).returncode == 0
        assert avts("init", "--seed", "2", "--clip-seconds", "1", "-o", cls.other).returncode == 0
        cls.clip = clip_seconds(cls.model)  # the window length

    def audio_windows(self, first, end):
        return window_starts(first, end, self.clip, HOP_A)

    def video_windows(self, first, end):
        return window_starts(first, end, self.clip, HOP_V)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def expect_clean_run(self, result):
        self.assertFalse(result.hang, "no EOS nor error before the deadline")
        self.assertEqual(result.errors, [])
        self.assertTrue(result.eos)

    def expect_error(self, result, element_prefix, *texts):
        self.assertFalse(result.hang, "no EOS nor error before the deadline")
        self.assertTrue(result.errors, "an error was expected")
        source, message, debug = result.errors[0]
        self.assertTrue(source.startswith(element_prefix), result.errors)
        for text in texts:
            self.assertIn(text, message + " " + debug)

    def expect_reports_in_order(self, result):
        times = [r.get_value("timestamp") for r in result.reports()]
        self.assertGreater(len(times), 0)
        self.assertEqual(times, sorted(times))
        self.assertEqual(len(result.reports("avts-sync-summary")), 1)

    # ------------------------------------------------------------ timestamps

    def test_audio_jumping_back_more_than_a_second_starts_a_new_grid(self):
        r = audio_features(self.model, [(audio_caps(), run_of(0, 3, 0.1) + run_of(1, 3, 0.1))])
        self.expect_clean_run(r)
        t, discont = feature_rows(r.buffers["out"], DIM)
        # The windows of 0..3 s, then those of 1..3 s again after the restart, DISCONT.
        first, again = self.audio_windows(0, 3), self.audio_windows(1, 3)
        np.testing.assert_allclose(t, np.concatenate([first, again]), atol=1e-6)
        self.assertTrue(discont[len(first)])
        self.assertEqual(discont.sum(), 2)  # the start and the restart

    def test_audio_stepping_back_a_little_drops_the_overlap(self):
        r = audio_features(self.model, [(audio_caps(), run_of(0, 2, 0.1) + run_of(1.7, 3, 0.1))])
        self.expect_clean_run(r)
        t, discont = feature_rows(r.buffers["out"], DIM)
        np.testing.assert_allclose(t, self.audio_windows(0, 3), atol=1e-6)  # one grid, no repeat
        self.assertEqual(discont.sum(), 1)

    def test_audio_gap_fills_below_a_second_restarts_above(self):
        r = audio_features(self.model, [(audio_caps(), run_of(0, 1.5, 0.1) + run_of(2.0, 3.5, 0.1)
                                         + run_of(6.0, 7.5, 0.1))])
        self.expect_clean_run(r)
        t, discont = feature_rows(r.buffers["out"], DIM)
        # 0.5 s gap: filled with silence, the grid goes on to 3.5 s. 2.5 s gap: a new grid.
        np.testing.assert_allclose(t, np.concatenate([self.audio_windows(0, 3.5), self.audio_windows(6, 7.5)]),
                                   atol=1e-6)
        self.assertEqual(discont.sum(), 2)

    def test_audio_buffers_without_timestamps_continue_the_timeline(self):
        items = run_of(0, 1, 0.1) + [(None, 0.1)] * 10 + run_of(2, 3, 0.1)
        r = audio_features(self.model, [(audio_caps(), items)])
        self.expect_clean_run(r)
        t, discont = feature_rows(r.buffers["out"], DIM)
        np.testing.assert_allclose(t, self.audio_windows(0, 3), atol=1e-6)
        self.assertEqual(discont.sum(), 1)

    def test_video_jumping_back_starts_a_new_grid(self):
        r = video_features(self.model, [(video_caps(), run_of(0, 2, 0.04) + run_of(0.5, 2, 0.04))])
        self.expect_clean_run(r)
        t, discont = feature_rows(r.buffers["out"], DIM)
        # The windows of 0..2 s, then a new grid from 0.6 s (the first point after 0.5 s).
        first, again = self.video_windows(0, 2), self.video_windows(0.6, 2)
        np.testing.assert_allclose(t, np.concatenate([first, again]), atol=1e-6)
        self.assertEqual(list(np.nonzero(discont)[0]), [0, len(first)])

    def test_monitor_with_timestamps_jumping_back_and_gaps(self):
        # Both streams: 0..4 s, back to 1 s, on to 5 s, then a 3 s gap, then 8..11 s.
        a = run_of(0, 4, 0.1) + run_of(1, 5, 0.1) + run_of(8, 11, 0.1)
        v = run_of(0, 4, 0.04) + run_of(1, 5, 0.04) + run_of(8, 11, 0.04)
        r = monitor(self.model, [(audio_caps(), a)], [(video_caps(), v)])
        self.expect_clean_run(r)
        self.expect_reports_in_order(r)
        # Media passes through untouched, every buffer; reports resume after the gap.
        self.assertEqual(len(r.buffers["audio_out"]), len(a))
        self.assertEqual(len(r.buffers["video_out"]), len(v))
        self.assertGreaterEqual(max(x.get_value("timestamp") for x in r.reports()), 8 * Gst.SECOND)

    # ------------------------------------------------------------ caps changes

    def test_audio_caps_change_mid_stream_keeps_the_grid(self):
        r = audio_features(self.model, [(audio_caps(44100, 2), run_of(0, 2, 0.1)),
                                        (audio_caps(16000, 1, "F32LE"), run_of(2, 4, 0.1)),
                                        (audio_caps(96000, 6), run_of(4, 6, 0.1))])
        self.expect_clean_run(r)
        t, discont = feature_rows(r.buffers["out"], DIM)
        np.testing.assert_allclose(t, self.audio_windows(0, 6), atol=1e-6)
        self.assertEqual(discont.sum(), 1)

    def test_video_caps_change_mid_stream_keeps_the_grid(self):
        r = video_features(self.model, [(video_caps(160, 120), run_of(0, 2, 0.04)),
                                        (video_caps(64, 48, "30/1"), run_of(2, 4, 1 / 30)),
                                        (video_caps(1, 1, "0/1"), run_of(4, 6, 0.1))])
        self.expect_clean_run(r)
        t, _ = feature_rows(r.buffers["out"], DIM)
        np.testing.assert_allclose(t, self.video_windows(0, 6), atol=1e-6)

    def test_monitor_with_caps_changing_mid_stream(self):
        a = [(audio_caps(48000, 2), run_of(0, 3, 0.1)), (audio_caps(22050, 1), run_of(3, 6, 0.1))]
        v = [(video_caps(128, 96), run_of(0, 3, 0.04)), (video_caps(96, 128, "50/1"), run_of(3, 6, 0.02))]
        r = monitor(self.model, a, v)
        self.expect_clean_run(r)
        self.expect_reports_in_order(r)
        self.assertEqual(len(r.buffers["video_out"]), 75 + 150)

    # ------------------------------------------------------------ extreme formats

    def test_4k_frames(self):
        r = video_features(self.model, [(video_caps(3840, 2160, "2/1"), run_of(0, 1.5, 0.5))])
        self.expect_clean_run(r)
        t, _ = feature_rows(r.buffers["out"], DIM)
        np.testing.assert_allclose(t, self.video_windows(0, 1.5), atol=1e-6)

    def test_8_channels_at_96_khz(self):
        r = audio_features(self.model, [(audio_caps(96000, 8), run_of(0, 2, 0.05))])
        self.expect_clean_run(r)
        t, _ = feature_rows(r.buffers["out"], DIM)
        np.testing.assert_allclose(t, self.audio_windows(0, 2), atol=1e-6)

    def test_audio_beyond_what_the_converter_takes_is_refused_clearly(self):
        # GstAudioConverter crashes on these (63 channels at most; a rate near 2^31 Hz wants
        # terabytes): the element refuses them with an error that says what to do.
        for caps in (audio_caps(16000, 64), audio_caps(2**31 - 1, 1)):
            with self.subTest(caps=caps):
                r = run(f"appsrc name=a ! avtsaudiofeat model-file={self.model} ! fakesink",
                        {"a": [(caps, [(0.0, 0.001)])]})
                self.expect_error(r, "avtsaudiofeat", "at most 63 channels and 768000 Hz", "Mix the channels down")

    # ------------------------------------------------------------ mismatched feature streams

    def sync_of(self, audio_model, video_model, audio_layer="embedding"):
        return run(f"appsrc name=a ! avtsaudiofeat model-file={audio_model} layer={audio_layer} ! s.audio_sink "
                   f"appsrc name=v ! avtsvideofeat model-file={video_model} ! s.video_sink "
                   "avtssync name=s ! fakesink",
                   {"a": [(audio_caps(), run_of(0, 2, 0.1))], "v": [(video_caps(), run_of(0, 2, 0.04))]})

    def test_features_of_two_models_are_refused(self):
        self.expect_error(self.sync_of(self.model, self.other), "s", "come from different models")

    def test_features_of_another_preset_are_refused(self):
        paper = os.path.join(self.tmp.name, "mc3.avts")
        assert avts("init", "--preset", "avts-mc3-18", "-o", paper).returncode == 0
        r = self.sync_of(self.model, paper)
        self.expect_error(r, "s", "come from different models",
                          "Give avtsaudiofeat and avtsvideofeat the same model-file")

    def test_pooled_layer_features_are_refused(self):
        self.expect_error(self.sync_of(self.model, self.model, "layer2"), "s", "needs embedding features", "layer2")

    def test_audio_features_into_the_video_pad_do_not_link(self):
        pipeline = Gst.parse_bin_from_description("avtsaudiofeat name=f ! fakesink", False)
        sync = Gst.ElementFactory.make("avtssync")
        bin_ = Gst.Bin()
        bin_.add(pipeline)
        bin_.add(sync)
        feat = pipeline.get_by_name("f")
        self.assertIsNotNone(feat)
        caps = feat.get_static_pad("src").get_pad_template_caps()
        self.assertFalse(caps.can_intersect(sync.get_static_pad("video_sink").get_pad_template_caps()))
        self.assertTrue(caps.can_intersect(sync.get_static_pad("audio_sink").get_pad_template_caps()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
