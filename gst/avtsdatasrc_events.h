// The in-band protocol between avtsdatasrc and its consumers (avtstrain): custom
// serialized downstream events that mark where each media file starts and where each
// epoch ends. Both src pads of avtsdatasrc carry the same marks with the same sequence
// numbers, so a consumer lines the audio and the video up mark by mark.
//
// On each pad, for every file of an epoch:
//   avts-file-start   sequence (guint64, one counter for all marks), id (string: the path
//                     or URI as the manifest gives it, resolved), uri (string), split
//                     ("auto" | "train" | "validation"), epoch (int, 0-based), epochs (int),
//                     index (int: the file's place in this epoch), files (int: files this
//                     epoch plans to send; unusable ones are left out, so fewer may come)
//   CAPS              when they change (video sizes differ between files)
//   SEGMENT           times restart at 0 for each file; the segment's base keeps the
//                     running time growing from file to file
//   buffers           the whole file, the first buffer of each file flagged DISCONT
// after the epoch's files:
//   avts-epoch-end    sequence, epoch, epochs, files (int: files sent this epoch),
//                     skipped (uint: inputs found unusable so far)
// and EOS after the last epoch.
#pragma once

#include <gst/gst.h>

#include <string>

#define GST_AVTS_FILE_START "avts-file-start"
#define GST_AVTS_EPOCH_END "avts-epoch-end"

struct GstAvtsFileStart {
  guint64 sequence = 0;
  std::string id, uri;
  std::string split = "auto";
  gint epoch = 0, epochs = 1, index = 0, files = 0;
};

struct GstAvtsEpochEnd {
  guint64 sequence = 0;
  gint epoch = 0, epochs = 1, files = 0;
  guint skipped = 0;
};

GstEvent* gst_avts_file_start_event_new(const GstAvtsFileStart& mark);
GstEvent* gst_avts_epoch_end_event_new(const GstAvtsEpochEnd& mark);

// FALSE when `event` is not such a mark (or lacks a field).
gboolean gst_avts_file_start_event_parse(GstEvent* event, GstAvtsFileStart* mark);
gboolean gst_avts_epoch_end_event_parse(GstEvent* event, GstAvtsEpochEnd* mark);
