#!/bin/sh
# Live lip-sync correction: avtssyncbin correct=true between decoding and the sinks. Once
# several confident reports agree, it delays the early stream (audio early -> audio later,
# audio late -> video later) by the measured offset, moving at most correction-rate ms per
# second; each change is an `avts-sync-correction` bus message (applied-ms, target-ms).
# Settings: see examples/env.sh (MODEL, CLIP).
set -eu
. "$(dirname "$0")/env.sh"

# To a sound card and a display:
# gst-launch-1.0 -m uridecodebin uri="file://$CLIP" name=d \
#   avtssyncbin name=s model-file="$MODEL" correct=true \
#   d. ! queue ! audioconvert ! s.audio_sink \
#   d. ! queue ! videoconvert ! s.video_sink \
#   s.audio_src ! queue ! audioconvert ! audioresample ! autoaudiosink \
#   s.video_src ! queue ! videoconvert ! autovideosink

# Runnable without a display or a sound card: the same into sinks that keep time.
gst-launch-1.0 -m uridecodebin uri="file://$CLIP" name=d \
  avtssyncbin name=s model-file="$MODEL" correct=true leaky=true \
  d. ! queue ! audioconvert ! s.audio_sink \
  d. ! queue ! videoconvert ! s.video_sink \
  s.audio_src ! queue ! fakesink sync=true \
  s.video_src ! queue ! fakesink sync=true

# To see it act on a known offset, sync_monitor.c / sync_monitor.py --shift-audio MS move the
# audio before the bin (with a trained model the correction then converges to MS).
