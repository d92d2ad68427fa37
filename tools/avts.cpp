// avts: the command-line front end. Every media-handling subcommand builds a GStreamer
// pipeline from the project's own elements.
#include <gst/gst.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "avts/error.h"
#include "avts/model.h"
#include "commands.h"

namespace {

struct Subcommand {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Subcommand kSubcommands[] = {
    {"eval", avts::cmd_eval, "measure a model: sync accuracy and offset accuracy on clips recorded in sync"},
    {"features", avts::cmd_features, "extract audio or video features from a media file into .npy"},
    {"info", avts::cmd_info, "describe a model file"},
    {"init", avts::cmd_init, "write a freshly initialised (untrained) model file"},
#if AVTS_HAVE_PROBE
    {"probe", avts::cmd_probe, "linear-probe evaluation of frozen features on labelled clips (SVM, k-fold)"},
#endif
    {"sync", avts::cmd_sync, "measure the audio/video offset of a file or stream against a tolerance"},
    {"train", avts::cmd_train, "train a model, self-supervised, on the media files of a manifest"},
};

void usage(FILE* out) {
  std::fprintf(out, "Usage: avts COMMAND [OPTIONS]\n\nCommands:\n");
  for (const auto& s : kSubcommands) std::fprintf(out, "  %-10s %s\n", s.name, s.summary);
  std::fprintf(out, "\nRun 'avts COMMAND --help' for a command's options.\n");
}

// LibTorch takes every batch's tensors (megabytes) from malloc and frees them after. glibc's
// defaults give that memory back to the kernel (trimming the heaps) and fault it in again,
// zeroed, for the next batch: a fifth of avts sync's CPU time was the kernel's. So the heaps
// keep what they free, up to 1 GiB, and blocks up to 32 MiB come from them (fixing the trim
// threshold alone would leave every block over 128 KiB to mmap: worse). A few MB more resident;
// avts sync on 325 s of video 8 % faster. Left alone when the user tunes malloc.
void keep_freed_memory() {
  if (g_getenv("GLIBC_TUNABLES") || g_getenv("MALLOC_TRIM_THRESHOLD_") || g_getenv("MALLOC_MMAP_THRESHOLD_")) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace

std::string avts::default_model_path() {
  if (const char* env = g_getenv("AVTS_MODEL")) return env;
  // Installed, else the one in the source tree this command was built from.
  if (g_file_test(AVTS_INSTALLED_MODEL, G_FILE_TEST_EXISTS)) return AVTS_INSTALLED_MODEL;
  return AVTS_SOURCE_MODEL;
}

int main(int argc, char** argv) {
  keep_freed_memory();
  gst_init(nullptr, nullptr);
  // Run from the build tree, the command loads the plugin built beside it, in this process:
  // scanning the folder would start gst-plugin-scanner, which loads LibTorch a second time
  // (half a second of CPU on every run).
  if (GstPlugin* plugin = gst_registry_find_plugin(gst_registry_get(), "avts"))
    gst_object_unref(plugin);
  else if (GstPlugin* built = gst_plugin_load_file(AVTS_BUILD_PLUGIN_DIR "/libgstavts.so", nullptr))
    gst_object_unref(built);
  // LibTorch's intra-op threads: $AVTS_THREADS, else one per core.
  const char* threads = g_getenv("AVTS_THREADS");
  avts::Model::set_threads(threads ? std::atoi(threads) : 0);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? avts::kExitError : avts::kExitOk;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("avts %s\n", AVTS_VERSION);
    return avts::kExitOk;
  }
  for (const auto& s : kSubcommands) {
    if (std::strcmp(argv[1], s.name) != 0) continue;
    try {
      return s.run(argc - 1, argv + 1);
    } catch (const avts::Error& e) {
      std::fprintf(stderr, "avts %s: error: %s\n", s.name, e.what());
      return avts::kExitError;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "avts %s: internal error: %s\n", s.name, e.what());
      return avts::kExitError;
    }
  }
  std::fprintf(stderr, "avts: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return avts::kExitError;
}
