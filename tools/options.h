// Command-line options of one subcommand, parsed with GLib's GOptionContext.
#pragma once

#include <glib.h>

#include <string>

namespace avts {

// Parses argv in place, leaving the positional arguments; --help prints and exits.
// Throws avts::Error with a usage hint on a bad option.
void parse_options(int& argc, char**& argv, const char* positional, const char* summary, const GOptionEntry* entries);

// Takes ownership of a g_malloc'd option string; empty when it was not given.
std::string take_string(gchar*& s);

}  // namespace avts
