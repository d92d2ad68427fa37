#!/bin/sh
# File QC: measure the lip sync (A/V offset) of a file and judge it against a broadcast
# tolerance. Positive offsets = audio early. Settings: see examples/env.sh (MODEL, CLIP, OUT).
#   MODEL=model.avts CLIP=program.mxf examples/file_qc.sh
set -eu
. "$(dirname "$0")/env.sh"

# 1. The verdict for a QC script: `avts sync` exits 0 within the tolerance, 1 outside it
#    (or when the measurement is inconclusive), 2 on an error. --json for every report.
if "$AVTS" sync "$CLIP" --model "$MODEL" --standard ebu-r37 --quiet --json > "$OUT/qc.json"; then
  echo "PASS $CLIP"
else
  status=$?
  [ "$status" -eq 1 ] || exit "$status"
  echo "FAIL $CLIP (see $OUT/qc.json)"
fi

# 2. The same measurement as a pipeline: avtssync writes one JSON object per report (one per
#    second) and the whole-file summary ("summary": true) as lines of text.
gst-launch-1.0 -q uridecodebin uri="file://$CLIP" name=d \
  d. ! queue ! audioconvert ! avtsaudiofeat model-file="$MODEL" ! queue ! sync.audio_sink \
  d. ! queue ! videoconvert ! video/x-raw,format=RGB ! avtsvideofeat model-file="$MODEL" ! queue ! sync.video_sink \
  avtssync name=sync standard=ebu-r37 ! filesink location="$OUT/sync.jsonl"
echo "reports: $OUT/sync.jsonl"

# 3. avtssyncbin in a decoding pipeline: its reports are bus messages (-m prints them); the
#    audio and video come out unchanged, here into fakesinks (use your encoder/muxer instead).
gst-launch-1.0 -m uridecodebin uri="file://$CLIP" name=d \
  avtssyncbin name=s model-file="$MODEL" standard=itu-bt1359 \
  d. ! queue ! audioconvert ! s.audio_sink \
  d. ! queue ! videoconvert ! s.video_sink \
  s.audio_src ! fakesink s.video_src ! fakesink
