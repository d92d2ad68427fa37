#include "options.h"

#include "avts/error.h"

namespace avts {

void parse_options(int& argc, char**& argv, const char* positional, const char* summary, const GOptionEntry* entries) {
  GOptionContext* ctx = g_option_context_new(positional);
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, nullptr);
  g_option_context_set_help_enabled(ctx, TRUE);
  GError* err = nullptr;
  const gboolean ok = g_option_context_parse(ctx, &argc, &argv, &err);
  g_option_context_free(ctx);
  if (!ok) {
    std::string msg = err->message;
    g_clear_error(&err);
    throw Error(msg + " (see --help)");
  }
}

std::string take_string(gchar*& s) {
  std::string out = s ? s : "";
  g_free(s);
  s = nullptr;
  return out;
}

}  // namespace avts
