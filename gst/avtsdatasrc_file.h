// One media file decoded whole for avtsdatasrc: mono F32 audio at a chosen rate and RGB
// video, timed from the start of the file. Whole files, so that a file that turns out
// unusable (no audio, no video, a decode error half-way) is skipped before any of it is
// sent, and so that a decoded file can be kept for the next epoch.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

struct GstAvtsDecodedFile {
  GstAvtsDecodedFile() = default;
  GstAvtsDecodedFile(const GstAvtsDecodedFile&) = delete;
  GstAvtsDecodedFile& operator=(const GstAvtsDecodedFile&) = delete;
  ~GstAvtsDecodedFile();

  std::string uri;  // what was decoded
  // In PTS order; PTS is the running time within the file (the file starts near 0).
  std::vector<GstSample*> audio, video;
  GstClockTime duration = 0;  // end of the longer track
  size_t bytes = 0;           // what the buffers hold
};

// Decodes `input` (a path or URI) with uridecodebin into `rate` Hz mono F32LE audio and RGB
// video whose short side is scaled down to `short_side` pixels (0: as decoded), keeping the
// display aspect ratio. With `face_track` the video goes through avtsfacetrack, so that its
// frames carry the faces (region-of-interest metas) as at inference. Throws avts::Error saying
// why the file cannot be used (missing, not decodable, no audio or no video track), or when
// `cancel` becomes true.
std::shared_ptr<const GstAvtsDecodedFile> gst_avts_decode_file(const std::string& input, int rate, int short_side,
                                                               bool face_track, const std::atomic<bool>& cancel);
