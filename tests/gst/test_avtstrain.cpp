// avtstrain on the bundled clips with the tiny test model: fed by avtsdatasrc it trains the
// epochs the marks give, posts step and epoch progress (and PROGRESS messages), writes the
// model file before EOS reaches the bus; fed a plain file it cuts it into chunks and trains
// one epoch at EOS; a trainer done before the stream stops upstream; media without audio
// is an error; a missing output is refused.
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "avts/model.h"
#include "avts/train.h"
#include "element_test.h"
#include "../lib/free_port.h"

using namespace avts_test;

namespace {

// The bundled clips (meson sets AVTS_TEST_MEDIA).
std::string media_dir() {
  const char* dir = g_getenv("AVTS_TEST_MEDIA");
  return dir ? dir : "tests/media";
}
std::string media(const char* name) { return media_dir() + "/" + name; }

class Scratch {
 public:
  Scratch() {
    gchar* dir = g_dir_make_tmp("avts-train-test-XXXXXX", nullptr);
    dir_ = dir;
    g_free(dir);
  }
  ~Scratch() {
    if (GDir* d = g_dir_open(dir_.c_str(), 0, nullptr)) {
      while (const gchar* name = g_dir_read_name(d)) g_remove((dir_ + "/" + name).c_str());
      g_dir_close(d);
    }
    g_rmdir(dir_.c_str());
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  }

 private:
  std::string dir_;
};

// A pipeline ending in avtstrain (named "t"), run to EOS or error, with its messages.
class TrainRun {
 public:
  explicit TrainRun(const std::string& description, std::string output) : output_(std::move(output)) {
    GError* error = nullptr;
    pipeline = gst_parse_launch(description.c_str(), &error);
    EXPECT_EQ(error, nullptr) << (error ? error->message : "");
    if (error) g_error_free(error);
    // Synchronously, as each message is posted: was the model file there when EOS came?
    GstBus* bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, on_message, this, nullptr);
    gst_object_unref(bus);
  }
  ~TrainRun() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    for (GstStructure* s : messages) gst_structure_free(s);
    gst_object_unref(pipeline);
  }

  bool run() {
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 240 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    const bool eos = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
    if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gst_message_parse_error(m, &err, nullptr);
      error = err->message;
      g_error_free(err);
    }
    if (m) gst_message_unref(m);
    return eos;
  }

  std::vector<const GstStructure*> named(const char* name) {
    std::lock_guard<std::mutex> guard(lock_);
    std::vector<const GstStructure*> out;
    for (const GstStructure* s : messages)
      if (gst_structure_has_name(s, name)) out.push_back(s);
    return out;
  }

  GstElement* pipeline = nullptr;
  std::vector<GstStructure*> messages;  // element, progress and warning details, in order
  std::vector<std::string> order;       // names of what was posted: "eos", "avts-train-done", ...
  bool output_at_eos = false;
  std::string id_at_eos;  // of the model file on disk then
  std::string error;

 private:
  static GstBusSyncReply on_message(GstBus*, GstMessage* m, gpointer data) {
    auto* self = static_cast<TrainRun*>(data);
    std::lock_guard<std::mutex> guard(self->lock_);
    const GstStructure* s = gst_message_get_structure(m);
    switch (GST_MESSAGE_TYPE(m)) {
      case GST_MESSAGE_EOS:
        self->output_at_eos = g_file_test(self->output_.c_str(), G_FILE_TEST_EXISTS);
        if (self->output_at_eos) self->id_at_eos = avts::Model::load(self->output_)->id();
        self->order.push_back("eos");
        break;
      case GST_MESSAGE_ELEMENT:
      case GST_MESSAGE_PROGRESS:
        self->messages.push_back(gst_structure_copy(s));
        self->order.push_back(gst_structure_get_name(s));
        break;
      case GST_MESSAGE_WARNING: {
        const GstStructure* details = nullptr;
        gst_message_parse_warning_details(m, &details);
        if (details) self->messages.push_back(gst_structure_copy(details));
        break;
      }
      default:
        break;
    }
    return GST_BUS_PASS;
  }
  std::string output_;
  std::mutex lock_;
};

std::string field(const GstStructure* s, const char* name) {
  const gchar* v = gst_structure_get_string(s, name);
  return v ? v : "";
}

// avtsdatasrc -> avtstrain with the tiny model.
std::string datasrc_pipeline(const std::string& manifest, const std::string& src_props, const std::string& output,
                             const std::string& train_props) {
  return "avtsdatasrc name=d manifest=\"" + manifest + "\" short-side=32 " + src_props +
         " d.audio_src ! t.audio_sink d.video_src ! t.video_sink avtstrain name=t model-file=\"" +
         TinyModel::get().path() + "\" output=\"" + output + "\" batch-size=4 progress-interval=0 " + train_props;
}

// Two training files, tagged: untagged, the trainer's hash of each path would decide its split,
// and in some checkout folders one of the two lands in validation.
std::string two_training_files() {
  return media("grid_s1_bbal8p.mpg") + " train\n" + media("grid_s1_lgas2n.mpg") + " train\n";
}

class Train : public ElementTest {};

}  // namespace

TEST_F(Train, PadsPropertiesAndDocs) {
  GstElement* t = gst_element_factory_make("avtstrain", nullptr);
  ASSERT_NE(t, nullptr) << "avtstrain not found: is GST_PLUGIN_PATH set to the build's gst/?";
  for (const char* pad : {"audio_sink", "video_sink"}) {
    GstPad* p = gst_element_get_static_pad(t, pad);
    EXPECT_NE(p, nullptr) << pad;
    if (p) gst_object_unref(p);
  }
  EXPECT_TRUE(GST_OBJECT_FLAG_IS_SET(t, GST_ELEMENT_FLAG_SINK));
  expect_documented(t);
  gst_util_set_object_arg(G_OBJECT(t), "curriculum", "easy-only");
  gst_util_set_object_arg(G_OBJECT(t), "loss", "cross-entropy");
  gint curriculum = -1, loss = -1;
  guint epochs = 99, batch = 0;
  gchar* preset = nullptr;
  g_object_get(t, "curriculum", &curriculum, "loss", &loss, "epochs", &epochs, "batch-size", &batch, "preset", &preset,
               nullptr);
  EXPECT_EQ(curriculum, 3);  // avts::Curriculum::EasyOnly
  EXPECT_EQ(loss, 1);        // avts::LossKind::CrossEntropy
  EXPECT_EQ(epochs, 0u);     // from the stream
  EXPECT_EQ(batch, 32u);
  EXPECT_STREQ(preset, "avts-compact");
  g_free(preset);
  gst_object_unref(gst_object_ref_sink(t));
}

TEST_F(Train, TrainsTheEpochsOfTheDataSourceAndWritesTheModelBeforeEos) {
  Scratch scratch;
  const std::string manifest =
      scratch.write("m.txt", media("grid_s1_bbal8p.mpg") + " train\n" + media("grid_s1_lgas2n.mpg") + " train\n" +
                                 media("grid_s4_bgbu1p.webm") + " val\n");
  const std::string output = scratch.path("trained.avts");
  // The shipped recipe's kind of settings (train/shipped/recipe.sh), each reaching the trainer.
  TrainRun r(datasrc_pipeline(manifest, "epochs=2 seed=3", output,
                              "seed=3 negatives=2 loss=multi-way temperature=0.2 curriculum=paper-fine easy-epochs=0 "
                              "mixed-epochs=1 hard-fraction=1.0 schedule=constant weight-decay=0.001 warmup-steps=3 "
                              "checkpoint=\"" +
                                  scratch.path("trained.ckpt") + "\""),
             output);
  ASSERT_TRUE(r.run()) << r.error;

  // The model was on disk when EOS was posted, last, after the summary.
  EXPECT_TRUE(r.output_at_eos);
  ASSERT_FALSE(r.order.empty());
  EXPECT_EQ(r.order.back(), "eos");
  EXPECT_EQ(std::count(r.order.begin(), r.order.end(), "eos"), 1);
  EXPECT_NE(std::find(r.order.begin(), r.order.end(), "avts-train-done"), r.order.end());
  EXPECT_TRUE(g_file_test(scratch.path("trained.ckpt").c_str(), G_FILE_TEST_EXISTS));

  // Progress: steps, and one message per epoch with the validation (the val file).
  const auto progress = r.named("avts-train-progress");
  std::vector<const GstStructure*> steps, epochs;
  for (const GstStructure* s : progress) (field(s, "kind") == "epoch" ? epochs : steps).push_back(s);
  ASSERT_EQ(epochs.size(), 2u);
  ASSERT_GE(steps.size(), 2u);
  gint64 last_step = 0;
  for (const GstStructure* s : steps) {
    gint64 step = 0;
    gdouble loss = -1;
    EXPECT_TRUE(gst_structure_get_int64(s, "step", &step));
    EXPECT_TRUE(gst_structure_get_double(s, "loss", &loss));
    EXPECT_GT(step, last_step);
    EXPECT_TRUE(std::isfinite(loss) && loss >= 0);
    last_step = step;
  }
  for (int e = 0; e < 2; ++e) {
    const GstStructure* s = epochs[e];
    gint epoch = -1, count = -1, clips = 0;
    gboolean validated = FALSE;
    gdouble accuracy = -1, easy = -1, pairs_per_second = 0;
    gst_structure_get_int(s, "epoch", &epoch);
    gst_structure_get_int(s, "epochs", &count);
    gst_structure_get_boolean(s, "validated", &validated);
    gst_structure_get_int(s, "validation-clips", &clips);
    // One validation file: hard negatives (same file, shifted) only; easy ones need two.
    gst_structure_get_double(s, "accuracy-hard", &accuracy);
    EXPECT_TRUE(gst_structure_get_double(s, "accuracy-easy", &easy));
    gst_structure_get_double(s, "pairs-per-second", &pairs_per_second);
    gdouble progress = -1;
    EXPECT_TRUE(gst_structure_get_double(s, "progress", &progress));
    EXPECT_DOUBLE_EQ(progress, (e + 1) / 2.0);
    EXPECT_EQ(epoch, e);
    EXPECT_EQ(count, 2);  // from the data source's marks
    EXPECT_TRUE(validated);
    EXPECT_GT(clips, 0);
    EXPECT_TRUE(accuracy >= 0 && accuracy <= 1) << accuracy;
    EXPECT_GT(pairs_per_second, 0);
    EXPECT_EQ(field(s, "output"), output);
  }
  // GStreamer's own progress messages: start, continue, complete at 100 %.
  const auto gst_progress = r.named("GstMessageProgress");
  ASSERT_GE(gst_progress.size(), 3u);
  gint percent = -1;
  gst_structure_get_int(gst_progress.back(), "percent", &percent);
  EXPECT_EQ(percent, 100);
  EXPECT_EQ(field(gst_progress.front(), "code"), "training");

  // The summary and the file agree: two epochs, the fitted threshold, a new id.
  const auto done = r.named("avts-train-done");
  ASSERT_EQ(done.size(), 1u);
  gint trained_epochs = 0;
  gst_structure_get_int(done[0], "epochs", &trained_epochs);
  EXPECT_EQ(trained_epochs, 2);
  const auto model = avts::Model::load(output);
  EXPECT_EQ(field(done[0], "model-id"), model->id());
  EXPECT_EQ(r.id_at_eos, model->id());  // the final model, not an earlier epoch's
  EXPECT_NE(model->id(), TinyModel::get().id());
  EXPECT_EQ(model->config().provenance.at("epochs"), "2");
  EXPECT_EQ(model->config().provenance.at("validation_files"), "1");
  const std::string options = model->config().provenance.at("train_options");
  for (const char* set :
       {"\"negatives_per_anchor\":2", "\"loss\":\"multi-way\"", "\"temperature\":0.2", "\"curriculum\":\"paper-fine\"",
        "\"easy_epochs\":0", "\"mixed_epochs\":1", "\"hard_fraction\":1.0", "\"schedule\":\"constant\"",
        "\"weight_decay\":0.001", "\"warmup_steps\":3"})
    EXPECT_NE(options.find(set), std::string::npos) << set << " not in " << options;
  GstElement* t = gst_bin_get_by_name(GST_BIN(r.pipeline), "t");
  guint epoch = 0;
  guint64 step = 0;
  g_object_get(t, "epoch", &epoch, "step", &step, nullptr);
  EXPECT_EQ(epoch, 2u);
  EXPECT_EQ(step, static_cast<guint64>(last_step));
  gst_object_unref(t);
}

TEST_F(Train, PlainFileIsCutIntoChunksAndTrainedOneEpochAtEos) {
  Scratch scratch;
  const std::string output = scratch.path("plain.avts");
  gchar* uri = gst_filename_to_uri(media("grid_s1_bbal8p.mpg").c_str(), nullptr);
  const std::string description =
      std::string("uridecodebin uri=") + uri +
      " name=d d. ! queue ! audioconvert ! audioresample ! t.audio_sink "
      "d. ! queue ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=40,height=32 ! t.video_sink "
      "avtstrain name=t chunk=1.5 batch-size=4 progress-interval=0 model-file=\"" +
      TinyModel::get().path() + "\" output=\"" + output + "\"";
  g_free(uri);
  TrainRun r(description, output);
  ASSERT_TRUE(r.run()) << r.error;
  EXPECT_TRUE(r.output_at_eos);  // (its only epoch ends at EOS: nothing was written before)
  std::vector<const GstStructure*> epochs;
  for (const GstStructure* s : r.named("avts-train-progress"))
    if (field(s, "kind") == "epoch") epochs.push_back(s);
  ASSERT_EQ(epochs.size(), 1u);
  gint count = 0, files = 0;
  gst_structure_get_int(epochs[0], "epochs", &count);
  gst_structure_get_int(epochs[0], "train-files", &files);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(files, 2);  // 3 s in 1.5 s chunks
  EXPECT_EQ(avts::Model::load(output)->config().provenance.at("epochs"), "1");
}

TEST_F(Train, TrainerDoneBeforeTheStreamStopsUpstream) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", two_training_files());
  const std::string output = scratch.path("one.avts");
  TrainRun r(datasrc_pipeline(manifest, "epochs=50", output, "epochs=1"), output);
  ASSERT_TRUE(r.run()) << r.error;
  EXPECT_TRUE(r.output_at_eos);
  const auto done = r.named("avts-train-done");
  ASSERT_EQ(done.size(), 1u);
  gint epochs = 0;
  gst_structure_get_int(done[0], "epochs", &epochs);
  EXPECT_EQ(epochs, 1);
  // The source stopped early: far fewer than 50 epochs were sent.
  GstElement* d = gst_bin_get_by_name(GST_BIN(r.pipeline), "d");
  guint hits = 0;
  g_object_get(d, "cache-hits", &hits, nullptr);
  EXPECT_LT(hits, 20u);
  gst_object_unref(d);
}

// dist-backend: a backend named explicitly joins its group even alone (one rank over Gloo
// trains as usual, and the provenance says how); NCCL for a model on the CPU is refused.
TEST_F(Train, DistBackendNamesTheGroupsBackend) {
  Scratch scratch;
  gchar* uri = gst_filename_to_uri(media("grid_s1_bbal8p.mpg").c_str(), nullptr);
  const auto description = [&](const std::string& backend, const std::string& output) {
    return std::string("uridecodebin uri=") + uri +
           " name=d d. ! queue ! audioconvert ! audioresample ! t.audio_sink "
           "d. ! queue ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=40,height=32 ! t.video_sink "
           "avtstrain name=t chunk=1.5 batch-size=4 model-file=\"" +
           TinyModel::get().path() + "\" output=\"" + output + "\" dist-backend=" + backend;
  };
  g_setenv("MASTER_PORT", std::to_string(avts::test::free_port()).c_str(), TRUE);
  if (avts::DistributedOptions::available(avts::DistBackend::Gloo)) {
    const std::string output = scratch.path("gloo.avts");
    TrainRun gloo(description("gloo", output), output);
    ASSERT_TRUE(gloo.run()) << gloo.error;
    const auto model = avts::Model::load(output);
    EXPECT_EQ(model->config().provenance.at("distributed_backend"), "gloo");
    EXPECT_EQ(model->config().provenance.at("world_size"), "1");
  }
  const std::string output = scratch.path("nccl.avts");
  TrainRun nccl(description("nccl", output), output);
  EXPECT_FALSE(nccl.run());
  EXPECT_NE(nccl.error.find("distributed backend nccl"), std::string::npos) << nccl.error;
  EXPECT_FALSE(g_file_test(output.c_str(), G_FILE_TEST_EXISTS));
  g_unsetenv("MASTER_PORT");
  g_free(uri);

  GstElement* t = gst_element_factory_make("avtstrain", nullptr);
  gst_util_set_object_arg(G_OBJECT(t), "dist-backend", "nccl");
  gint backend = 0;
  g_object_get(t, "dist-backend", &backend, nullptr);
  EXPECT_EQ(backend, static_cast<gint>(avts::DistBackend::Nccl));
  // Refused when the model is loaded (READY), before any media is decoded.
  g_object_set(t, "output", scratch.path("never.avts").c_str(), "model-file", TinyModel::get().path().c_str(), nullptr);
  ErrorMessage refused;
  EXPECT_EQ(set_state_in_pipeline(t, GST_STATE_READY, &refused), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(refused.text.find("distributed backend nccl"), std::string::npos) << refused.text;
  gst_object_unref(t);
}

TEST_F(Train, MediaWithoutAudioIsAnError) {
  Scratch scratch;
  const std::string output = scratch.path("never.avts");
  // The audio stream ends without data while the video streams.
  TrainRun r(
      "audiotestsrc num-buffers=0 ! audio/x-raw,format=F32LE,channels=1,rate=16000 ! t.audio_sink "
      "videotestsrc num-buffers=100 ! video/x-raw,format=RGB,width=32,height=32,framerate=25/1 ! t.video_sink "
      "avtstrain name=t chunk=1.0 model-file=\"" +
          TinyModel::get().path() + "\" output=\"" + output + "\"",
      output);
  EXPECT_FALSE(r.run());
  EXPECT_NE(r.error.find("no audio"), std::string::npos) << r.error;
  EXPECT_FALSE(g_file_test(output.c_str(), G_FILE_TEST_EXISTS));

  // The video never even begins (an audio-only file through uridecodebin).
  TrainRun silent(
      "audiotestsrc num-buffers=20 ! audio/x-raw,format=F32LE,channels=1,rate=16000 ! t.audio_sink "
      "avtstrain name=t model-file=\"" +
          TinyModel::get().path() + "\" output=\"" + output + "\"",
      output);
  EXPECT_FALSE(silent.run());
  EXPECT_NE(silent.error.find("no video"), std::string::npos) << silent.error;
}

// A model that looks at mouths (framing "face") trains on the faces avtsdatasrc's tracker puts on
// the frames; without faces it has no picture to train on: every frame is left out, as
// avtsvideofeat leaves it out, and the files are skipped for want of video.
TEST_F(Train, AFaceModelTrainsOnTheTrackersFacesOnly) {
  Scratch scratch;
  avts::ModelConfig c = TinyModel::get().model()->config();
  c.video.framing = "face";
  const std::string face_model = scratch.path("face.avts");
  avts::Model::create(c, 5)->save(face_model);
  const std::string manifest = scratch.write("m.txt", two_training_files());
  const auto pipeline = [&](bool face_track, const std::string& output) {
    return "avtsdatasrc name=d short-side=0 epochs=1 face-track=" + std::string(face_track ? "true" : "false") +
           " manifest=\"" + manifest +
           "\" d.audio_src ! t.audio_sink d.video_src ! t.video_sink avtstrain name=t model-file=\"" + face_model +
           "\" output=\"" + output + "\" batch-size=4 progress-interval=0";
  };
  const std::string output = scratch.path("trained.avts");
  TrainRun with_faces(pipeline(true, output), output);
  ASSERT_TRUE(with_faces.run()) << with_faces.error;
  EXPECT_TRUE(with_faces.output_at_eos);
  guint skipped = 1;
  GstElement* t = gst_bin_get_by_name(GST_BIN(with_faces.pipeline), "t");
  g_object_get(t, "skipped", &skipped, nullptr);
  gchar* framing = nullptr;
  g_object_get(t, "framing", &framing, nullptr);
  EXPECT_STREQ(framing, "face");
  g_free(framing);
  gst_object_unref(t);
  EXPECT_EQ(skipped, 0u);

  const std::string never = scratch.path("never.avts");
  TrainRun without_faces(pipeline(false, never), never);
  EXPECT_FALSE(without_faces.run());
  // Which of the two says it first depends on the streams' timing: the video pad ending empty, or
  // the epoch ending with both files skipped.
  const bool no_video = without_faces.error.find("has no video") != std::string::npos;
  const bool no_files = without_faces.error.find("no training files") != std::string::npos;
  EXPECT_TRUE(no_video || no_files) << without_faces.error;
  EXPECT_FALSE(g_file_test(never.c_str(), G_FILE_TEST_EXISTS));
}

TEST_F(Train, MissingOutputOrModelIsRefused) {
  GstElement* t = gst_element_factory_make("avtstrain", nullptr);
  ASSERT_NE(t, nullptr);
  ErrorMessage no_output;
  EXPECT_EQ(set_state_in_pipeline(t, GST_STATE_READY, &no_output), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(no_output.text.find("output"), std::string::npos) << no_output.text;

  g_object_set(t, "output", "/tmp/x.avts", "model-file", "/nonexistent/avts/start.avts", nullptr);
  ErrorMessage no_model;
  EXPECT_EQ(set_state_in_pipeline(t, GST_STATE_READY, &no_model), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(no_model.text.find("/nonexistent/avts/start.avts"), std::string::npos) << no_model.text;

  g_object_set(t, "model-file", nullptr, "preset", "no-such-preset", nullptr);
  ErrorMessage bad_preset;
  EXPECT_EQ(set_state_in_pipeline(t, GST_STATE_READY, &bad_preset), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(bad_preset.text.find("no-such-preset"), std::string::npos) << bad_preset.text;

  // float16 cannot train; bfloat16 needs a CUDA device.
  g_object_set(t, "preset", "avts-compact", nullptr);
  gst_util_set_object_arg(G_OBJECT(t), "precision", "float16");
  ErrorMessage half;
  EXPECT_EQ(set_state_in_pipeline(t, GST_STATE_READY, &half), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(half.text.find("float16 cannot train"), std::string::npos) << half.text;
  gst_util_set_object_arg(G_OBJECT(t), "precision", "bfloat16");
  ErrorMessage bf16;
  EXPECT_EQ(set_state_in_pipeline(t, GST_STATE_READY, &bf16), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(bf16.text.find("precision bfloat16 needs a CUDA device"), std::string::npos) << bf16.text;
  gst_object_unref(t);
}

TEST_F(Train, StopsMidTrainingAndTrainsAgainFromTheStart) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", two_training_files());
  const std::string output = scratch.path("again.avts");
  TrainRun r(datasrc_pipeline(manifest, "epochs=1000", output, ""), output);
  gst_element_set_state(r.pipeline, GST_STATE_PLAYING);
  for (int i = 0; i < 200 && r.named("avts-train-progress").empty(); ++i) g_usleep(50 * 1000);
  ASSERT_FALSE(r.named("avts-train-progress").empty());
  EXPECT_EQ(gst_element_set_state(r.pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);

  // Again, one epoch: a fresh run (epoch and step counted from 0), to EOS with the model.
  GstElement* d = gst_bin_get_by_name(GST_BIN(r.pipeline), "d");
  g_object_set(d, "epochs", 1u, nullptr);
  gst_object_unref(d);
  ASSERT_TRUE(r.run()) << r.error;
  EXPECT_TRUE(r.output_at_eos);
  const auto done = r.named("avts-train-done");
  ASSERT_EQ(done.size(), 1u);
  gint epochs = 0;
  gst_structure_get_int(done[0], "epochs", &epochs);
  EXPECT_EQ(epochs, 1);
}

TEST_F(Train, StoppedRunSavesItsStateAndResumeGoesOn) {
  Scratch scratch;
  const std::string manifest = scratch.write("m.txt", two_training_files());
  const std::string output = scratch.path("stopped.avts"), checkpoint = scratch.path("stopped.ckpt");
  TrainRun first(datasrc_pipeline(manifest, "epochs=1000", output, "checkpoint=\"" + checkpoint + "\""), output);
  gst_element_set_state(first.pipeline, GST_STATE_PLAYING);
  const auto epochs_done = [&first] {
    int n = 0;
    for (const GstStructure* s : first.named("avts-train-progress")) n += field(s, "kind") == "epoch";
    return n;
  };
  for (const gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
       epochs_done() == 0 && g_get_monotonic_time() < deadline;)
    g_usleep(20 * 1000);
  ASSERT_GT(epochs_done(), 0);
  EXPECT_EQ(gst_element_set_state(first.pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);

  // Stopped mid-run: the trainer state went to the checkpoint, and the message says so.
  const auto stopped = first.named("avts-train-stopped");
  ASSERT_EQ(stopped.size(), 1u);
  gint epoch = -1, epochs = 0;
  gint64 step = 0;
  gboolean saved = FALSE;
  gst_structure_get(stopped[0], "epoch", G_TYPE_INT, &epoch, "epochs", G_TYPE_INT, &epochs, "step", G_TYPE_INT64, &step,
                    "saved", G_TYPE_BOOLEAN, &saved, nullptr);
  EXPECT_TRUE(saved);
  EXPECT_GE(epoch, 1);
  EXPECT_EQ(epochs, 1000);
  EXPECT_GT(step, 0);
  EXPECT_EQ(field(stopped[0], "checkpoint"), checkpoint);
  ASSERT_TRUE(g_file_test(checkpoint.c_str(), G_FILE_TEST_EXISTS));

  // Resumed for one more epoch: the checkpoint's epochs count, training goes on to EOS.
  const std::string resumed_output = scratch.path("resumed.avts");
  const std::string more = std::to_string(epoch + 1);
  const auto resumed_pipeline = [&](const std::string& first_epoch) {
    return "avtsdatasrc name=d manifest=\"" + manifest + "\" short-side=32 epochs=" + more +
           " first-epoch=" + first_epoch +
           " d.audio_src ! t.audio_sink d.video_src ! t.video_sink avtstrain name=t batch-size=4 " + "resume=\"" +
           checkpoint + "\" epochs=" + more + " output=\"" + resumed_output + "\"";
  };
  TrainRun resumed(resumed_pipeline(std::to_string(epoch)), resumed_output);
  GstElement* t = gst_bin_get_by_name(GST_BIN(resumed.pipeline), "t");
  ASSERT_EQ(gst_element_set_state(resumed.pipeline, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  guint ready_epoch = 0;
  g_object_get(t, "epoch", &ready_epoch, nullptr);
  EXPECT_EQ(ready_epoch, static_cast<guint>(epoch));  // known before the run, for avtsdatasrc's first-epoch
  gst_object_unref(t);
  ASSERT_TRUE(resumed.run()) << resumed.error;
  const auto done = resumed.named("avts-train-done");
  ASSERT_EQ(done.size(), 1u);
  gint trained = 0;
  gint64 steps = 0;
  gst_structure_get(done[0], "epochs", G_TYPE_INT, &trained, "steps", G_TYPE_INT64, &steps, nullptr);
  EXPECT_EQ(trained, epoch + 1);
  EXPECT_GT(steps, step);  // counted on from the checkpoint
  EXPECT_EQ(avts::Model::load(resumed_output)->config().provenance.at("epochs"), more);

  // The source must go on where the checkpoint stopped; resume needs epochs and no model-file.
  TrainRun from_start(resumed_pipeline("0"), resumed_output);
  EXPECT_FALSE(from_start.run());
  EXPECT_NE(from_start.error.find("set avtsdatasrc's first-epoch=" + std::to_string(epoch)), std::string::npos)
      << from_start.error;
  GstElement* alone = gst_element_factory_make("avtstrain", nullptr);
  g_object_set(alone, "output", resumed_output.c_str(), "resume", checkpoint.c_str(), nullptr);
  ErrorMessage no_epochs;
  EXPECT_EQ(set_state_in_pipeline(alone, GST_STATE_READY, &no_epochs), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(no_epochs.text.find("resume needs epochs"), std::string::npos) << no_epochs.text;
  g_object_set(alone, "epochs", 5u, "model-file", TinyModel::get().path().c_str(), nullptr);
  ErrorMessage both;
  EXPECT_EQ(set_state_in_pipeline(alone, GST_STATE_READY, &both), GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(both.text.find("resume and model-file (--init) exclude each other"), std::string::npos) << both.text;
  gst_object_unref(alone);
}
