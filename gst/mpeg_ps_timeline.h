// Continuous timelines for MPEG program streams (.mpg, .vob, .mpeg), whatever decodes them.
//
// GStreamer's mpegpsdemux times packets by the stream's SCR (system clock reference). Files
// whose SCR disagrees with their PTS get a timeline that jumps: every GRID corpus .mpg jumps
// forward by 150-240 ms at about 1.8 s in the audio and 1.9 s in the video, so for a tenth of
// a second the two streams are misaligned by the jump, and a 3.0 s clip lasts 3.2 s. With the
// demuxer's `ignore-scr` the packets are timed by their PTS alone, as FFmpeg does.
//
// avts ignores the SCR for every MPEG-PS file, not only for files whose SCR is seen to be
// wrong: lip sync is defined by the PTS (when each frame and sample is presented), the SCR is
// the delivery clock of a decoder's input buffer, which analysing a file does not need, and
// with a sound SCR both give the same timeline. Decoding paths of the project call this on
// their uridecodebin / decodebin; an application does the same, or names the demuxer itself
// (`filesrc ! mpegpsdemux ignore-scr=true`); see the README, "MPEG-PS files".
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

// Makes every mpegpsdemux that `bin` (a uridecodebin, decodebin or pipeline) creates, at any
// depth, ignore the SCR.
void avts_ignore_mpeg_ps_scr(GstElement* bin);

G_END_DECLS
