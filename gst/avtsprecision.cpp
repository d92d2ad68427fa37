#include "avtsprecision.h"

GType gst_avts_precision_get_type(void) {
  static const GEnumValue values[] = {
      {static_cast<gint>(avts::Precision::Float32), "float32", "float32"},
      {static_cast<gint>(avts::Precision::BFloat16), "bfloat16 autocast (CUDA)", "bfloat16"},
      {static_cast<gint>(avts::Precision::Float16), "float16 autocast (CUDA)", "float16"},
      {0, nullptr, nullptr},
  };
  static gsize type = 0;
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstAvtsPrecision", values));
  return type;
}
