// state_cycles [--cycles N] [--warmup W] [--seconds S] [--timeout T] [--max-growth-kb K] [--plant F]:
// takes one pipeline around avtssyncbin (test sources of S seconds, a tiny model) from NULL
// to PLAYING and back N times after W warm-up cycles: every other cycle runs to EOS, the
// others are stopped as soon as media flows. The heap in use (glibc mallinfo2) is taken after
// every cycle; the growth per cycle is the slope of a least-squares line through it (the
// smaller of the slopes over each half of the run), which must stay below --max-growth-kb
// (default 2 KiB: glibc's heap drifts by up to ~1 KiB per cycle on a loaded machine, a leaked
// feature buffer per window adds 4; exit 1 otherwise). Defaults: 200 warm-up cycles (caches fill over the
// first hundred or so: about 8 KiB per cycle at first, then nothing) and 200 measured;
// AVTS_CYCLES_TRACE=1 prints the heap after every cycle.
// --plant leak|invalid-read|both adds a fault of the test's own making to every cycle (a
// 64 KiB block never freed, a read one byte past a block): the memory checks must catch it,
// and tests/sanitizers/run.sh --valgrind checks that they do.
// Under ASan or valgrind the heap figures are those of glibc's unused allocator and mean
// nothing: tests/sanitizers/run.sh relies on their own leak reports instead.
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "avts/model.h"
#include "tiny_config.h"

namespace {

// Least-squares slope of `y` against its index.
double slope_of(const std::vector<double>& y) {
  const double n = static_cast<double>(y.size());
  double mean_x = (n - 1) / 2, mean_y = 0, sxy = 0, sxx = 0;
  for (double v : y) mean_y += v / n;
  for (size_t i = 0; i < y.size(); ++i) {
    sxy += (i - mean_x) * (y[i] - mean_y);
    sxx += (i - mean_x) * (i - mean_x);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

std::string tiny_model(const std::string& dir) {
  const std::string path = dir + "/tiny.avts";
  avts::Model::create(tiny_model_config(), 1)->save(path);
  return path;
}

// One cycle: PLAYING until EOS (to_eos), else only until the pipeline has prerolled (media
// is flowing), then NULL. False on an error or a hang.
bool cycle(GstElement* pipeline, bool to_eos, GstClockTime timeout) {
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) return false;
  GstBus* bus = gst_element_get_bus(pipeline);
  const auto until =
      static_cast<GstMessageType>(GST_MESSAGE_ERROR | (to_eos ? GST_MESSAGE_EOS : GST_MESSAGE_ASYNC_DONE));
  GstMessage* m = gst_bus_timed_pop_filtered(bus, timeout, until);
  const bool ok = m && GST_MESSAGE_TYPE(m) != GST_MESSAGE_ERROR;
  if (m && !ok) {
    GError* err = nullptr;
    gst_message_parse_error(m, &err, nullptr);
    std::fprintf(stderr, "state_cycles: %s\n", err->message);
    g_error_free(err);
  } else if (!m) {
    std::fprintf(stderr, "state_cycles: no %s within the timeout\n", to_eos ? "EOS" : "preroll");
  }
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  return gst_element_set_state(pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE && ok;
}

// A fault of the test's own making, so that the memory checks can be shown to catch one.
// Volatile, so that the compiler neither drops the reads nor sees them past the block.
enum Plant { kNone = 0, kLeak = 1, kInvalidRead = 2 };
volatile char planted_read;
volatile size_t planted_size = 16;

// Not inlined: the leaked pointer lives only in this function's frame, never in a slot of
// main's, where valgrind would still find it at exit and call the block reachable.
__attribute__((noinline)) void plant(int p) {
  if (p & kLeak) {
    char* block = static_cast<char*>(std::malloc(64 * 1024));
    std::memset(block, 1, 64 * 1024);
    planted_read = block[4096];  // used, then lost: the pointer goes out of scope
  }
  if (p & kInvalidRead) {
    const size_t size = planted_size;
    char* block = static_cast<char*>(std::malloc(size));
    std::memset(block, 1, size);
    planted_read = block[size];  // one byte past the block
    std::free(block);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int cycles = 200, warmup = 200;
  double max_growth_kb = 2, seconds = 2, timeout_s = 60;
  int planted = kNone;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--cycles")) cycles = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--warmup")) warmup = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-growth-kb")) max_growth_kb = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--timeout")) timeout_s = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--plant")) {
      const std::string what = argv[i + 1];
      planted = what == "leak"           ? kLeak
                : what == "invalid-read" ? kInvalidRead
                : what == "both"         ? kLeak | kInvalidRead
                                         : -1;
      if (planted < 0) {
        std::fprintf(stderr, "state_cycles: --plant takes leak, invalid-read or both\n");
        return 2;
      }
    }
  }
  gst_init(&argc, &argv);
  avts::Model::set_threads(1);
  gchar* dir = g_dir_make_tmp("avts-cycles-XXXXXX", nullptr);
  const std::string model = tiny_model(dir);

  // `seconds` of media per cycle (20 ms audio buffers); reports every 500 ms.
  const int frames = static_cast<int>(seconds * 25), audio_buffers = static_cast<int>(seconds * 50);
  const std::string launch = "videotestsrc num-buffers=" + std::to_string(frames) +
                             " ! video/x-raw,width=96,height=72,framerate=25/1 ! "
                             "b.video_sink audiotestsrc num-buffers=" +
                             std::to_string(audio_buffers) +
                             " samplesperbuffer=960 ! audio/x-raw,rate=48000 ! b.audio_sink "
                             "avtssyncbin name=b interval=500 context=1000 correct=true model-file=" +
                             model + " b.video_src ! fakesink sync=false b.audio_src ! fakesink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!pipeline) {
    std::fprintf(stderr, "state_cycles: %s\n", err ? err->message : "cannot build the pipeline");
    return 2;
  }

  // The heap after every measured cycle; its least-squares slope is the growth per cycle.
  int status = 0;
  std::vector<double> heap_kib;
  for (int i = 0; i < warmup + cycles && status == 0; ++i) {
    if (!cycle(pipeline, i % 2 == 0, static_cast<GstClockTime>(timeout_s * GST_SECOND))) status = 2;
    plant(planted);
    if (i >= warmup) heap_kib.push_back(heap_in_use() / 1024.0);
    if (g_getenv("AVTS_CYCLES_TRACE")) std::fprintf(stderr, "cycle %d: heap %.1f KiB\n", i, heap_in_use() / 1024.0);
  }
  gst_object_unref(pipeline);
  g_remove(model.c_str());
  g_rmdir(dir);
  g_free(dir);
  if (status) {
    std::fprintf(stderr, "state_cycles: a cycle failed\n");
    return status;
  }
  // A leak grows the heap in both halves of the run; a one-off allocation (a thread pool that
  // grows under load, say) in one of them only.
  const size_t half = heap_kib.size() / 2;
  const double slope = std::min(slope_of({heap_kib.begin(), heap_kib.begin() + half}),
                                slope_of({heap_kib.begin() + half, heap_kib.end()}));
  std::printf(
      "state_cycles: %d cycles after %d warm-up: heap %.1f KiB after the first, %.1f KiB after the last; "
      "growth %+.2f KiB per cycle (the smaller of the two halves)\n",
      cycles, warmup, heap_kib.front(), heap_kib.back(), slope);
  if (slope > max_growth_kb) {
    std::fprintf(stderr, "state_cycles: FAILED: the heap grows by %.2f KiB per cycle (limit %.2f KiB)\n", slope,
                 max_growth_kb);
    return 1;
  }
  return 0;
}
