#include "structurejson.h"

#include <cmath>

namespace {

void append_string(std::string& out, const char* s) {
  out += '"';
  for (const char* p = s; *p; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          g_snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void append_value(std::string& out, const GValue* value) {
  const GType type = G_VALUE_TYPE(value);
  if (type == G_TYPE_STRING) {
    const gchar* s = g_value_get_string(value);
    if (s)
      append_string(out, s);
    else
      out += "null";
  } else if (type == G_TYPE_BOOLEAN) {
    out += g_value_get_boolean(value) ? "true" : "false";
  } else if (type == G_TYPE_INT) {
    out += std::to_string(g_value_get_int(value));
  } else if (type == G_TYPE_UINT) {
    out += std::to_string(g_value_get_uint(value));
  } else if (type == G_TYPE_INT64) {
    out += std::to_string(g_value_get_int64(value));
  } else if (type == G_TYPE_UINT64) {  // also GST_TYPE_CLOCK_TIME
    const guint64 v = g_value_get_uint64(value);
    out += v == GST_CLOCK_TIME_NONE ? std::string("null") : std::to_string(v);
  } else if (type == G_TYPE_DOUBLE) {
    const double v = g_value_get_double(value);
    if (std::isfinite(v)) {
      char text[G_ASCII_DTOSTR_BUF_SIZE];
      out += g_ascii_formatd(text, sizeof text, "%.10g", v);  // '.' whatever the locale
    } else {
      out += "null";
    }
  } else if (type == GST_TYPE_ARRAY || type == GST_TYPE_LIST) {
    const bool array = type == GST_TYPE_ARRAY;
    const guint n = array ? gst_value_array_get_size(value) : gst_value_list_get_size(value);
    out += '[';
    for (guint i = 0; i < n; ++i) {
      if (i > 0) out += ", ";
      append_value(out, array ? gst_value_array_get_value(value, i) : gst_value_list_get_value(value, i));
    }
    out += ']';
  } else {
    out += "null";
  }
}

}  // namespace

std::string gst_avts_structure_to_json(const GstStructure* structure) {
  std::string out = "{";
  const gint n = gst_structure_n_fields(structure);
  for (gint i = 0; i < n; ++i) {
    const gchar* name = gst_structure_nth_field_name(structure, i);
    if (i > 0) out += ", ";
    append_string(out, name);
    out += ": ";
    append_value(out, gst_structure_get_value(structure, name));
  }
  out += "}";
  return out;
}
