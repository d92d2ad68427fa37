// One GstStructure of scalar fields as one JSON object, so that a report can go out as a
// bus message and as a JSON line with the very same fields.
#pragma once

#include <gst/gst.h>

#include <string>

// Fields in order: strings (escaped), booleans, integers, doubles (C locale, 10 significant
// digits), GstClockTime / guint64 (GST_CLOCK_TIME_NONE as null). Non-finite doubles and
// other types become null. The structure's name is not written.
std::string gst_avts_structure_to_json(const GstStructure* structure);
