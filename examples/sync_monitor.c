/* sync_monitor: lip-sync monitoring (and correction) of a file or stream with avtssyncbin.
 *
 *   sync_monitor [--model MODEL] [--correct] [--shift-audio MS] FILE|URI
 *
 * Runs  uridecodebin -> avtssyncbin -> fakesinks  as fast as the analysis goes and prints
 * every avts-sync report, every avts-sync-correction and the avts-sync-summary from the bus.
 * Positive offsets = audio early. Exit code: 0 when the summary status is ok or warn, 1 when
 * fail or inconclusive, 2 on an error. The model: --model, else $MODEL, else $AVTS_MODEL,
 * else models/avts-compact.avts. GStreamer finds the avts plugin through GST_PLUGIN_PATH.
 */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  GMainLoop* loop;
  int exit_code;
} Monitor;

static double field_double(const GstStructure* s, const char* name) {
  double v = 0;
  gst_structure_get_double(s, name, &v);
  return v;
}

static double field_seconds(const GstStructure* s, const char* name) {
  GstClockTime t = 0;
  return gst_structure_get_clock_time(s, name, &t) && GST_CLOCK_TIME_IS_VALID(t) ? (double)t / GST_SECOND : 0.0;
}

static void on_element_message(Monitor* monitor, const GstStructure* s) {
  gboolean out_of_range = FALSE, settled = FALSE;
  gst_structure_get_boolean(s, "out-of-range", &out_of_range);
  if (gst_structure_has_name(s, "avts-sync")) {
    printf("%8.2f s  offset %+7.1f ms%s  confidence %.3f  probability %.2f  %s\n", field_seconds(s, "timestamp"),
           field_double(s, "offset-ms"), out_of_range ? " (out of range)" : "", field_double(s, "confidence"),
           field_double(s, "probability"), gst_structure_get_string(s, "status"));
  } else if (gst_structure_has_name(s, "avts-sync-correction")) {
    gst_structure_get_boolean(s, "settled", &settled);
    printf("%8.2f s  correction %+7.1f ms (target %+.1f ms%s)\n", field_seconds(s, "running-time"),
           field_double(s, "applied-ms"), field_double(s, "target-ms"), settled ? ", settled" : "");
  } else if (gst_structure_has_name(s, "avts-sync-summary")) {
    const char* status = gst_structure_get_string(s, "status");
    printf("summary: offset %+.1f ms%s, confidence %.3f, drift %+.1f ms/min, status %s (%s)\n",
           field_double(s, "offset-ms"), out_of_range ? " (out of range)" : "", field_double(s, "confidence"),
           field_double(s, "drift-ms-per-min"), status, gst_structure_get_string(s, "standard"));
    monitor->exit_code = status && (!strcmp(status, "ok") || !strcmp(status, "warn")) ? 0 : 1;
  }
}

static gboolean on_message(GstBus* bus, GstMessage* message, gpointer data) {
  Monitor* monitor = data;
  (void)bus;
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_get_structure(message)) on_element_message(monitor, gst_message_get_structure(message));
      break;
    case GST_MESSAGE_ERROR: {
      GError* error = NULL;
      gchar* debug = NULL;
      gst_message_parse_error(message, &error, &debug);
      fprintf(stderr, "error: %s\n%s\n", error->message, debug ? debug : "");
      g_error_free(error);
      g_free(debug);
      monitor->exit_code = 2;
      g_main_loop_quit(monitor->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit(monitor->loop);
      break;
    default:
      break;
  }
  return TRUE;
}

static const char* default_model(void) {
  if (g_getenv("MODEL")) return g_getenv("MODEL");
  if (g_getenv("AVTS_MODEL")) return g_getenv("AVTS_MODEL");
  return "models/avts-compact.avts";
}

/* Every mpegpsdemux the decoder makes ignores the SCR (it is added in the NULL state). */
static void on_element_added(GstBin* bin, GstBin* sub_bin, GstElement* element, gpointer data) {
  GstElementFactory* factory = gst_element_get_factory(element);
  (void)bin, (void)sub_bin, (void)data;
  if (factory && g_str_equal(GST_OBJECT_NAME(factory), "mpegpsdemux")) g_object_set(element, "ignore-scr", TRUE, NULL);
}

int main(int argc, char** argv) {
  gchar* model = NULL;
  gboolean correct = FALSE;
  gint shift_audio_ms = 0;
  GOptionEntry entries[] = {
      {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "AVTS model file", "MODEL"},
      {"correct", 'c', 0, G_OPTION_ARG_NONE, &correct, "Correct the offset (avtssyncbin correct=true)", NULL},
      {"shift-audio", 0, 0, G_OPTION_ARG_INT, &shift_audio_ms,
       "Move the audio MS earlier before the bin (negative: later), to see the monitor react", "MS"},
      {NULL}};
  GOptionContext* context = g_option_context_new("FILE|URI - lip-sync monitor");
  g_option_context_add_main_entries(context, entries, NULL);
  g_option_context_add_group(context, gst_init_get_option_group());
  GError* error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error) || argc != 2) {
    fprintf(stderr, "%s\n", error ? error->message : "expected one FILE or URI (see --help)");
    return 2;
  }
  g_option_context_free(context);

  gchar* uri = gst_uri_is_valid(argv[1]) ? g_strdup(argv[1]) : gst_filename_to_uri(argv[1], &error);
  if (!uri) {
    fprintf(stderr, "%s\n", error->message);
    return 2;
  }
  GstElement* pipeline = gst_parse_launch(
      "uridecodebin name=decode  avtssyncbin name=sync "
      "decode. ! queue ! audioconvert ! sync.audio_sink  decode. ! queue ! videoconvert ! sync.video_sink "
      "sync.audio_src ! fakesink sync=false  sync.video_src ! fakesink sync=false",
      &error);
  if (!pipeline) {
    fprintf(stderr, "cannot build the pipeline: %s (is GST_PLUGIN_PATH set to the avts plugin?)\n", error->message);
    return 2;
  }
  GstElement* decode = gst_bin_get_by_name(GST_BIN(pipeline), "decode");
  GstElement* sync = gst_bin_get_by_name(GST_BIN(pipeline), "sync");
  g_object_set(decode, "uri", uri, NULL);
  /* MPEG-PS files (.mpg, .vob): time packets by their PTS, not by an SCR that may jump
   * (README, "MPEG-PS files"). */
  g_signal_connect(decode, "deep-element-added", G_CALLBACK(on_element_added), NULL);
  g_object_set(sync, "model-file", model ? model : default_model(), "correct", correct, NULL);
  if (shift_audio_ms != 0) {
    /* Earlier audio: a smaller running time on everything after the bin's audio input. */
    GstPad* pad = gst_element_get_static_pad(sync, "audio_sink");
    gst_pad_set_offset(pad, -(gint64)shift_audio_ms * GST_MSECOND);
    gst_object_unref(pad);
  }

  Monitor monitor = {g_main_loop_new(NULL, FALSE), 1};
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_add_watch(bus, on_message, &monitor);
  printf("%s (positive offset = audio early)\n", uri);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* The reason (a missing model file, ...) is an error message on the bus. */
    GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (m) {
      on_message(bus, m, &monitor);
      gst_message_unref(m);
    }
    monitor.exit_code = 2;
  } else {
    g_main_loop_run(monitor.loop);
  }

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_bus_remove_watch(bus);
  gst_object_unref(bus);
  gst_object_unref(decode);
  gst_object_unref(sync);
  gst_object_unref(pipeline);
  g_main_loop_unref(monitor.loop);
  g_free(uri);
  g_free(model);
  gst_deinit(); /* lets GST_TRACERS=leaks check that nothing leaked */
  return monitor.exit_code;
}
