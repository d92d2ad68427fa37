#!/usr/bin/python3
"""Lip-sync monitoring (and correction) of a file or stream with avtssyncbin, in Python.

    sync_monitor.py [--model MODEL] [--correct] [--shift-audio MS] FILE|URI

Runs  uridecodebin -> avtssyncbin -> fakesinks  as fast as the analysis goes and prints every
avts-sync report, every avts-sync-correction and the avts-sync-summary from the bus.
Positive offsets = audio early. Exit code: 0 when the summary status is ok or warn, 1 when
fail or inconclusive, 2 on an error. The model: --model, else $MODEL, else $AVTS_MODEL, else
models/avts-compact.avts. GStreamer finds the avts plugin through GST_PLUGIN_PATH.
"""
import argparse
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def seconds(s, field):
    ok, t = s.get_uint64(field)
    return t / Gst.SECOND if ok and t != Gst.CLOCK_TIME_NONE else 0.0


def value(s, field, default=0.0):
    return s.get_value(field) if s.has_field(field) else default


class Monitor:
    def __init__(self, loop):
        self.loop = loop
        self.exit_code = 1

    def on_message(self, bus, message):
        t = message.type
        if t == Gst.MessageType.ELEMENT and message.get_structure():
            self.on_element(message.get_structure())
        elif t == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            print(f"error: {error.message}\n{debug or ''}", file=sys.stderr)
            self.exit_code = 2
            self.loop.quit()
        elif t == Gst.MessageType.EOS:
            self.loop.quit()
        return True

    def on_element(self, s):
        edge = " (out of range)" if value(s, "out-of-range", False) else ""
        if s.has_name("avts-sync"):
            print(f"{seconds(s, 'timestamp'):8.2f} s  offset {value(s, 'offset-ms'):+7.1f} ms{edge}  "
                  f"confidence {value(s, 'confidence'):.3f}  probability {value(s, 'probability'):.2f}  "
                  f"{value(s, 'status', '?')}")
        elif s.has_name("avts-sync-correction"):
            settled = ", settled" if value(s, "settled", False) else ""
            print(f"{seconds(s, 'running-time'):8.2f} s  correction {value(s, 'applied-ms'):+7.1f} ms "
                  f"(target {value(s, 'target-ms'):+.1f} ms{settled})")
        elif s.has_name("avts-sync-summary"):
            status = value(s, "status", "inconclusive")
            print(f"summary: offset {value(s, 'offset-ms'):+.1f} ms{edge}, confidence "
                  f"{value(s, 'confidence'):.3f}, drift {value(s, 'drift-ms-per-min'):+.1f} ms/min, "
                  f"status {status} ({value(s, 'standard', '?')})")
            self.exit_code = 0 if status in ("ok", "warn") else 1


def main():
    parser = argparse.ArgumentParser(description="Lip-sync monitor (avtssyncbin)")
    parser.add_argument("input", metavar="FILE|URI")
    parser.add_argument("-m", "--model",
                        default=os.environ.get("MODEL", os.environ.get("AVTS_MODEL", "models/avts-compact.avts")))
    parser.add_argument("-c", "--correct", action="store_true", help="correct the offset (correct=true)")
    parser.add_argument("--shift-audio", type=int, default=0, metavar="MS",
                        help="move the audio MS earlier before the bin (negative: later), to see the monitor react")
    args = parser.parse_args()

    Gst.init(None)
    uri = args.input if Gst.uri_is_valid(args.input) else Gst.filename_to_uri(args.input)
    try:
        pipeline = Gst.parse_launch(
            "uridecodebin name=decode  avtssyncbin name=sync "
            "decode. ! queue ! audioconvert ! sync.audio_sink  decode. ! queue ! videoconvert ! sync.video_sink "
            "sync.audio_src ! fakesink sync=false  sync.video_src ! fakesink sync=false")
    except GLib.Error as e:
        print(f"cannot build the pipeline: {e.message} (is GST_PLUGIN_PATH set to the avts plugin?)", file=sys.stderr)
        return 2
    decode = pipeline.get_by_name("decode")
    decode.set_property("uri", uri)
    # MPEG-PS files (.mpg, .vob): time packets by their PTS, not by an SCR that may jump
    # (README, "MPEG-PS files"). The demuxer is added in the NULL state, where this may be set.
    decode.connect("deep-element-added", lambda bin, sub, element: element.get_factory() and
                   element.get_factory().get_name() == "mpegpsdemux" and element.set_property("ignore-scr", True))
    sync = pipeline.get_by_name("sync")
    sync.set_property("model-file", args.model)
    sync.set_property("correct", args.correct)
    if args.shift_audio:
        # Earlier audio: a smaller running time on everything after the bin's audio input.
        sync.get_static_pad("audio_sink").set_offset(-args.shift_audio * Gst.MSECOND)

    loop = GLib.MainLoop()
    monitor = Monitor(loop)
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", monitor.on_message)
    print(f"{uri} (positive offset = audio early)")
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        # The reason (a missing model file, ...) is an error message on the bus.
        message = bus.pop_filtered(Gst.MessageType.ERROR)
        if message:
            monitor.on_message(bus, message)
        monitor.exit_code = 2
    else:
        loop.run()
    bus.remove_signal_watch()
    pipeline.set_state(Gst.State.NULL)
    return monitor.exit_code


if __name__ == "__main__":
    sys.exit(main())
