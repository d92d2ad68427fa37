"""Small media files and model files made on the fly for the reliability tests.

Media come from GStreamer's test sources through Debian's encoders (gst-plugins-good/bad/
ugly/libav), or from numpy frames through appsrc when the timestamps themselves are the
point. Everything is tiny, so that each file takes well under a second to make.
"""
import os
import subprocess

import numpy as np

AVTS = os.environ["AVTS_TOOL"]
ENV = dict(os.environ, AVTS_THREADS="2")


def avts(*args, timeout=120):
    """Runs the avts command; returns the CompletedProcess (check it yourself)."""
    return subprocess.run([AVTS, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV)


def clip_seconds(model):
    """The clip (window) length of a model file, from `avts info --json`."""
    import json
    p = avts("info", "--json", model)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["clip_seconds"]


def window_starts(first, media_end, clip, hop):
    """Starts of the windows, every `hop` from `first`, that end within the media."""
    return np.arange(first, media_end - clip + 1e-9, hop)


def gst_launch(*pipeline, timeout=60):
    """Runs gst-launch-1.0 (quiet) on the pipeline words; returns the CompletedProcess."""
    return subprocess.run(["gst-launch-1.0", "-q", *pipeline], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def make(path, *pipeline):
    """Writes `path` with a gst-launch pipeline that ends in 'filesink location=path'."""
    p = gst_launch(*pipeline, "!", "filesink", f"location={path}")
    assert p.returncode == 0 and os.path.getsize(path) > 0, (pipeline, p.stdout, p.stderr)
    return path


def video_src(seconds, width=160, height=120, fps=25):
    frames = int(round(seconds * fps))
    return ["videotestsrc", f"num-buffers={frames}", "pattern=ball", "!",
            f"video/x-raw,width={width},height={height},framerate={fps}/1"]


def audio_src(seconds, rate=48000, channels=1):
    per_buffer = rate // 50  # 20 ms buffers
    return ["audiotestsrc", f"num-buffers={int(round(seconds * 50))}", f"samplesperbuffer={per_buffer}", "wave=ticks",
            "!", f"audio/x-raw,rate={rate},channels={channels}"]


def webm(path, seconds, video=True, audio=True, **video_args):
    """VP8 + Opus in WebM, either track optional."""
    words = []
    if video:
        words += video_src(seconds, **video_args) + ["!", "vp8enc", "deadline=1", "!", "queue", "!", "mux."]
    if audio:
        words += audio_src(seconds) + ["!", "audioconvert", "!", "opusenc", "!", "queue", "!", "mux."]
    return make(path, *words, "webmmux", "name=mux")


def wav(path, seconds, rate=48000, channels=1):
    return make(path, *audio_src(seconds, rate, channels), "!", "wavenc")


def write_frames(path, frames, audio_seconds=None):
    """Matroska (MJPEG) from (pts_seconds, duration_seconds, HxWx3 uint8) frames through appsrc,
    so the file keeps exactly these timestamps; with a tone of `audio_seconds` if given."""
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    h, w = frames[0][2].shape[:2]
    launch = (f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={w},height={h},framerate=0/1 "
              f"! videoconvert ! jpegenc ! queue ! matroskamux name=mux ! filesink location={path}")
    if audio_seconds:
        launch += (f" audiotestsrc num-buffers={int(audio_seconds * 50)} samplesperbuffer=960 ! "
                   "audio/x-raw,rate=48000 ! audioconvert ! opusenc ! queue ! mux.")
    pipeline = Gst.parse_launch(launch)
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)
    for pts, duration, image in frames:
        buf = Gst.Buffer.new_wrapped(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
        buf.pts, buf.duration = int(pts * Gst.SECOND), int(duration * Gst.SECOND)
        assert src.emit("push-buffer", buf) == Gst.FlowReturn.OK
    src.emit("end-of-stream")
    msg = pipeline.get_bus().timed_pop_filtered(30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    assert msg is not None and msg.type == Gst.MessageType.EOS, msg and msg.parse_error()
    return path


def moving_frame(i, width=96, height=72):
    """A frame with a bar that moves with i, so that frames differ."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, (i * 3) % width, :] = 255
    image[..., 1] = (i * 7) % 256
    return image
