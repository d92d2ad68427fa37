// state_cycles [--cycles N] [--warmup W] [--seconds S] [--timeout T] [--max-growth-kb K]:
// takes one pipeline around avtssyncbin (test sources of S seconds, a tiny model) from NULL
// to PLAYING and back N times after W warm-up cycles: every other cycle runs to EOS, the
// others are stopped as soon as media flows. It prints the heap in use (glibc mallinfo2)
// after N/2 and N cycles. The heap must not grow with the cycles: growth beyond --max-growth-kb
// fails (exit 1). Under valgrind the heap figures are those of glibc's unused allocator and
// mean nothing; tests/sanitizers/run.sh compares valgrind's own leak summaries of a run
// with N and one with 2N cycles instead.
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "avts/model.h"

namespace {

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

std::string tiny_model(const std::string& dir) {
  avts::ModelConfig c = avts::ModelConfig::preset_config("avts-compact");
  c.video.resize = c.video.crop = 32;
  c.video_base_width = c.audio_base_width = 4;
  c.embedding_dim = 16;
  const std::string path = dir + "/tiny.avts";
  avts::Model::create(c, 1)->save(path);
  return path;
}

// One cycle: PLAYING until EOS (to_eos), else only until the pipeline has prerolled (media
// is flowing), then NULL. False on an error or a hang.
bool cycle(GstElement* pipeline, bool to_eos, GstClockTime timeout) {
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) return false;
  GstBus* bus = gst_element_get_bus(pipeline);
  const auto until = static_cast<GstMessageType>(GST_MESSAGE_ERROR | (to_eos ? GST_MESSAGE_EOS : GST_MESSAGE_ASYNC_DONE));
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

}  // namespace

int main(int argc, char** argv) {
  int cycles = 20, warmup = 4;
  double max_growth_kb = 512, seconds = 2, timeout_s = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--cycles")) cycles = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--warmup")) warmup = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--max-growth-kb")) max_growth_kb = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--timeout")) timeout_s = std::atof(argv[i + 1]);
  }
  gst_init(&argc, &argv);
  avts::Model::set_threads(1);
  gchar* dir = g_dir_make_tmp("avts-cycles-XXXXXX", nullptr);
  const std::string model = tiny_model(dir);

  // `seconds` of media per cycle (20 ms audio buffers); reports every 500 ms.
  const int frames = static_cast<int>(seconds * 25), audio_buffers = static_cast<int>(seconds * 50);
  const std::string launch =
      "videotestsrc num-buffers=" + std::to_string(frames) + " ! video/x-raw,width=96,height=72,framerate=25/1 ! "
      "b.video_sink audiotestsrc num-buffers=" + std::to_string(audio_buffers) +
      " samplesperbuffer=960 ! audio/x-raw,rate=48000 ! b.audio_sink "
      "avtssyncbin name=b interval=500 context=1000 correct=true model-file=" + model +
      " b.video_src ! fakesink sync=false b.audio_src ! fakesink sync=false";
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!pipeline) {
    std::fprintf(stderr, "state_cycles: %s\n", err ? err->message : "cannot build the pipeline");
    return 2;
  }

  int status = 0;
  size_t heap_half = 0;
  for (int i = 0; i < warmup + cycles && status == 0; ++i) {
    if (!cycle(pipeline, i % 2 == 0, static_cast<GstClockTime>(timeout_s * GST_SECOND))) status = 2;
    if (i + 1 == warmup + cycles / 2) heap_half = heap_in_use();
  }
  const size_t heap_end = heap_in_use();
  gst_object_unref(pipeline);
  g_remove(model.c_str());
  g_rmdir(dir);
  g_free(dir);
  if (status) {
    std::fprintf(stderr, "state_cycles: a cycle failed\n");
    return status;
  }
  const double growth_kb = (static_cast<double>(heap_end) - static_cast<double>(heap_half)) / 1024.0;
  std::printf("state_cycles: %d cycles after %d warm-up: heap %.1f KiB after %d, %.1f KiB after %d: %+.1f KiB\n",
              cycles, warmup, heap_half / 1024.0, cycles / 2, heap_end / 1024.0, cycles, growth_kb);
  if (growth_kb > max_growth_kb) {
    std::fprintf(stderr, "state_cycles: FAILED: the heap grew by %.1f KiB over %d cycles (limit %.0f KiB)\n",
                 growth_kb, cycles - cycles / 2, max_growth_kb);
    return 1;
  }
  return 0;
}
