#!/bin/sh
# Live lip-sync monitoring: avtssyncbin between a live source and its sinks; every report is
# an `avts-sync` bus message (-m prints them; an application watches the bus, see
# sync_monitor.c / sync_monitor.py). Settings: see examples/env.sh (MODEL, CLIP).
set -eu
. "$(dirname "$0")/env.sh"

# A camera and a microphone (needs the devices; Ctrl-C stops it):
# gst-launch-1.0 -m avtssyncbin name=s model-file="$MODEL" leaky=true \
#   v4l2src ! videoconvert ! s.video_sink \
#   alsasrc ! audioconvert ! s.audio_sink \
#   s.video_src ! queue ! videoconvert ! autovideosink \
#   s.audio_src ! queue ! audioconvert ! autoaudiosink

# Runnable anywhere: the clip paced in real time (identity sync=true) as a live feed stands
# in for the devices; reports every 500 ms over the last 2 s. leaky=true: if the analysis
# falls behind it drops media instead of holding back the feed.
gst-launch-1.0 -m uridecodebin uri="file://$CLIP" name=d \
  avtssyncbin name=s model-file="$MODEL" leaky=true interval=500 context=2000 \
  d. ! queue ! audioconvert ! identity sync=true ! s.audio_sink \
  d. ! queue ! videoconvert ! identity sync=true ! s.video_sink \
  s.audio_src ! queue ! fakesink sync=true \
  s.video_src ! queue ! fakesink sync=true

# Live test sources (is-live=true), 4 seconds (drop num-buffers to run until Ctrl-C):
gst-launch-1.0 -m avtssyncbin name=s model-file="$MODEL" leaky=true \
  audiotestsrc is-live=true wave=ticks num-buffers=172 ! s.audio_sink \
  videotestsrc is-live=true pattern=ball num-buffers=100 ! video/x-raw,framerate=25/1 ! s.video_sink \
  s.audio_src ! queue ! fakesink sync=true \
  s.video_src ! queue ! fakesink sync=true
