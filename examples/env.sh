# Settings shared by the example scripts (sourced, not run). Each can be set beforehand:
#   MODEL  the AVTS model file (default: $AVTS_MODEL, else models/avts-compact.avts when it
#          exists; make an untrained one with `build/tools/avts init -o model.avts`)
#   CLIP   the media file to analyse (default: the bundled tests/media/grid_s1_bbal8p.mpg)
#   OUT    where reports are written (default: the current folder)
#   AVTS   the avts command (default: build/tools/avts)
# GST_PLUGIN_PATH defaults to build/gst, where the avts plugin is built.
root=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${MODEL:-${AVTS_MODEL:-$root/models/avts-compact.avts}}
CLIP=$(realpath "${CLIP:-$root/tests/media/grid_s1_bbal8p.mpg}")  # absolute: it goes into file:// URIs
OUT=${OUT:-.}
AVTS=${AVTS:-${AVTS_TOOL:-$root/build/tools/avts}}
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$root/build/gst}
if [ ! -f "$MODEL" ]; then
  echo "No model file '$MODEL'. Set MODEL=path/to/model.avts (make one with: $AVTS init -o model.avts)." >&2
  exit 2
fi
