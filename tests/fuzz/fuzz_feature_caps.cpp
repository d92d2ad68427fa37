// libFuzzer target: gst_avts_feature_format_from_caps, which avtssync runs on the caps its
// peers send. Input: a caps string (GStreamer's serialisation, so fields of every type can
// appear). Whatever the caps hold, the parser must answer without crashing, and what it
// accepts must survive the round trip through gst_avts_feature_format_to_caps.
#include <gst/gst.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "featurecaps.h"

namespace {

bool same(const GstAvtsFeatureFormat& a, const GstAvtsFeatureFormat& b) {
  return a.modality == b.modality && a.dim == b.dim && a.layer == b.layer && a.model_id == b.model_id &&
         a.hop_ns == b.hop_ns && a.window_ns == b.window_ns;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gst_init(nullptr, nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Feature caps never nest; deeply nested lists and ranges only exercise GStreamer's own
  // parser (whose leaks on bad nesting are not ours, tests/sanitizers/lsan.supp).
  if (std::count_if(text.begin(), text.end(), [](char c) { return c == '{' || c == '<' || c == '['; }) > 8) return 0;
  GstCaps* caps = gst_caps_from_string(text.c_str());
  if (!caps) return 0;
  GstAvtsFeatureFormat format;
  if (gst_avts_feature_format_from_caps(caps, &format)) {
    if (format.dim < 1) std::abort();  // the parser promises a usable width
    GstCaps* written = gst_avts_feature_format_to_caps(format);
    GstAvtsFeatureFormat again;
    if (!gst_avts_feature_format_from_caps(written, &again) || !same(format, again)) std::abort();
    // What was accepted is what was sent: the input has every field written, unchanged.
    if (!gst_structure_is_subset(gst_caps_get_structure(caps, 0), gst_caps_get_structure(written, 0))) std::abort();
    gst_caps_unref(written);
  }
  gst_caps_unref(caps);
  return 0;
}
