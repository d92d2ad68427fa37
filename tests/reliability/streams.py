"""Pipelines fed through appsrc with exactly the timestamps and caps a test wants, run to
EOS or error with a deadline (a hang fails the test), collecting what came out.
"""
import threading

import gi
import numpy as np

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)
SECOND = Gst.SECOND


def audio_caps(rate=16000, channels=1, fmt="S16LE"):
    # Beyond stereo GStreamer wants the channel positions: the usual ones up to 7.1, else none.
    mask = f",channel-mask=(bitmask){(1 << channels) - 1 if channels <= 8 else 0:#x}" if channels > 2 else ""
    return f"audio/x-raw,format={fmt},layout=interleaved,rate={rate},channels={channels}{mask}"


def video_caps(width=64, height=48, fps="25/1"):
    return f"video/x-raw,format=RGB,width={width},height={height},framerate={fps}"


def run_of(start, end, step):
    """(pts, duration) every `step` seconds from start to end."""
    return [(t, step) for t in np.arange(start, end - 1e-9, step)]


def payload(caps, pts, duration):
    """Bytes of one buffer of `caps`: a tone for audio, a moving bar for video."""
    s = Gst.Caps.from_string(caps).get_structure(0)
    pts = pts or 0.0  # a buffer without timestamp: any content will do
    if s.get_name() == "audio/x-raw":
        rate, channels = s.get_int("rate")[1], s.get_int("channels")[1]
        n = int(round(duration * rate))
        t = pts + np.arange(n) / rate
        tone = np.sin(2 * np.pi * 440 * t)
        samples = (tone * 8000).astype(np.int16) if s.get_string("format") == "S16LE" else tone.astype(np.float32)
        return np.repeat(samples[:, None], channels, axis=1).tobytes()
    width, height = s.get_int("width")[1], s.get_int("height")[1]
    stride = (width * 3 + 3) // 4 * 4  # GStreamer's RGB rows start on 4-byte boundaries
    image = np.zeros((height, stride), np.uint8)
    image[:, (int(pts * 25 * 3) % width) * 3:][:, :3] = 255
    return image.tobytes()


class Result:
    def __init__(self):
        self.errors, self.warnings, self.messages = [], [], []
        self.buffers = {}  # appsink name -> [(pts, duration, discont, bytes)]
        self.eos = False
        self.hang = False

    def reports(self, name="avts-sync"):
        return [m for m in self.messages if m.get_name() == name]


def run(launch, feeds, timeout=30):
    """Runs `launch`. `feeds` maps appsrc names to lists of segments (caps, [(pts, duration)]
    or [(pts, duration, flags)]), pushed in order from one thread per appsrc, then EOS. Every
    appsink's buffers are collected. Returns a Result."""
    pipeline = Gst.parse_launch(launch)
    result = Result()
    lock = threading.Lock()

    def on_sample(sink):
        sample = sink.emit("pull-sample")
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        data = bytes(info.data) if ok else b""
        if ok:
            buf.unmap(info)
        with lock:
            result.buffers.setdefault(sink.get_name(), []).append(
                (buf.pts, buf.duration, bool(buf.get_flags() & Gst.BufferFlags.DISCONT), data))
        return Gst.FlowReturn.OK

    it = pipeline.iterate_sinks()
    while True:
        ok, sink = it.next()
        if ok != Gst.IteratorResult.OK:
            break
        if sink.get_factory().get_name() == "appsink":
            sink.set_property("emit-signals", True)
            sink.set_property("sync", False)
            sink.connect("new-sample", on_sample)

    def feed(src, segments):
        for caps, items in segments:
            src.set_property("caps", Gst.Caps.from_string(caps))
            for item in items:
                pts, duration = item[0], item[1]
                buf = Gst.Buffer.new_wrapped(payload(caps, pts, duration))
                if pts is not None:
                    buf.pts = int(round(pts * SECOND))
                buf.duration = int(round(duration * SECOND))
                if len(item) > 2:
                    buf.set_flags(item[2])
                if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                    return  # the pipeline stopped (an error, reported on the bus)
        src.emit("end-of-stream")

    threads = []
    for name, segments in feeds.items():
        src = pipeline.get_by_name(name)
        src.set_property("format", Gst.Format.TIME)
        threads.append(threading.Thread(target=feed, args=(src, segments), daemon=True))
    pipeline.set_state(Gst.State.PLAYING)
    for t in threads:
        t.start()
    bus = pipeline.get_bus()
    wanted = Gst.MessageType.EOS | Gst.MessageType.ERROR | Gst.MessageType.WARNING | Gst.MessageType.ELEMENT
    while True:
        msg = bus.timed_pop_filtered(timeout * SECOND, wanted)
        if msg is None:
            result.hang = True
            break
        if msg.type == Gst.MessageType.EOS:
            result.eos = True
            break
        if msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            result.errors.append((msg.src.get_name(), err.message, debug or ""))
            break
        if msg.type == Gst.MessageType.WARNING:
            err, debug = msg.parse_warning()
            result.warnings.append((msg.src.get_name(), err.message, debug or ""))
        elif msg.type == Gst.MessageType.ELEMENT:
            result.messages.append(msg.get_structure().copy())
    pipeline.set_state(Gst.State.NULL)
    for t in threads:
        t.join(timeout=10)
    return result


def feature_rows(buffers, dim):
    """(pts of each row in seconds, discont of each row) from feature buffers."""
    times, disconts = [], []
    for pts, duration, discont, data in buffers:
        n = len(data) // (4 * dim)
        hop = duration / n if n else 0
        for i in range(n):
            times.append((pts + i * hop) / SECOND)
            disconts.append(discont and i == 0)
    return np.array(times), np.array(disconts)
