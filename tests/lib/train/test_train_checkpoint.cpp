// Checkpoints: a run interrupted after an epoch and resumed ends with the same weights, bit
// for bit, as the run that was not interrupted; the file is written atomically, read by
// Python, and a checkpoint of another run or a broken file is refused with a clear error.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>

#include "avts/error.h"
#include "temp_dir.h"
#include "train_fixtures.h"

using namespace avts;
using avts::test::blink_corpus;
using avts::test::file_names;
using avts::test::run_epoch;
using avts::test::TempDir;
using avts::test::tiny_train_config;

namespace {

TempDir temp_dir(const std::string& name) { return TempDir("avts-train-ckpt-" + name + "-"); }

TrainOptions small_run(OptimizerKind optimizer, Curriculum curriculum) {
  TrainOptions o;
  o.seed = 11;
  o.epochs = 3;
  o.batch_size = 4;
  o.optimizer = optimizer;
  o.lr = optimizer == OptimizerKind::Sgd ? 0.02 : 1e-3;
  o.curriculum = curriculum;
  o.easy_epochs = 1;  // stage 2 (hard negatives) in the resumed epochs
  o.warmup_steps = 5;
  o.grad_clip_norm = 5.0;
  return o;
}

struct Corpus {
  std::vector<avts::test::BlinkMedia> train = blink_corpus("t", 4, 3.0);
  std::vector<avts::test::BlinkMedia> validation = blink_corpus("v", 2, 3.0, 0.5);
};

void expect_same_model(const Model& a, const Model& b) {
  const auto sa = nets::state_dict(*a.impl().net), sb = nets::state_dict(*b.impl().net);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    ASSERT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
  EXPECT_EQ(a.config().to_json(), b.config().to_json());
  EXPECT_EQ(a.id(), b.id());
}

std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

TEST(TrainCheckpoint, ResumeGivesTheSameModelAsAnUninterruptedRun) {
  Model::set_threads(1);
  const Corpus corpus;
  for (const auto& [optimizer, curriculum] :
       {std::pair{OptimizerKind::Sgd, Curriculum::Paper}, std::pair{OptimizerKind::AdamW, Curriculum::PaperFine}}) {
    SCOPED_TRACE(optimizer_name(optimizer));
    const TempDir dir = temp_dir("resume");
    const TrainOptions o = small_run(optimizer, curriculum);

    Trainer whole(Model::create(tiny_train_config(), 5), o);
    while (!whole.finished()) run_epoch(whole, corpus.train, corpus.validation);

    TrainOptions first_part = o;
    first_part.checkpoint = dir / "run.ckpt";
    {
      Trainer interrupted(Model::create(tiny_train_config(), 5), first_part);
      for (int e = 0; e < 2; ++e) run_epoch(interrupted, corpus.train, corpus.validation);
    }
    const auto resumed = Trainer::resume(first_part.checkpoint, o);
    EXPECT_EQ(resumed->epoch(), 2);
    EXPECT_EQ(resumed->stage(), 2);
    while (!resumed->finished()) run_epoch(*resumed, corpus.train, corpus.validation);
    EXPECT_EQ(resumed->step(), whole.step());
    expect_same_model(*whole.model(), *resumed->model());
  }
}

TEST(TrainCheckpoint, ResumeAfterEveryEpochStaysOnTheSameRun) {
  // Changing the epoch count extends a run; resuming twice is as good as once.
  Model::set_threads(1);
  const Corpus corpus;
  const TempDir dir = temp_dir("extend");
  TrainOptions o = small_run(OptimizerKind::Sgd, Curriculum::Paper);
  o.schedule = ScheduleKind::Constant;  // so that a longer run has the same early epochs
  o.epochs = 1;
  o.checkpoint = dir / "run.ckpt";
  {
    Trainer t(Model::create(tiny_train_config(), 5), o);
    run_epoch(t, corpus.train, corpus.validation);
  }
  for (int epochs : {2, 3}) {
    o.epochs = epochs;
    const auto t = Trainer::resume(o.checkpoint, o);
    EXPECT_EQ(t->epoch(), epochs - 1);
    run_epoch(*t, corpus.train, corpus.validation);
  }
  TrainOptions whole_options = o;
  whole_options.checkpoint.clear();
  Trainer whole(Model::create(tiny_train_config(), 5), whole_options);
  while (!whole.finished()) run_epoch(whole, corpus.train, corpus.validation);
  const auto final_state = Trainer::resume(o.checkpoint, o);
  expect_same_model(*whole.model(), *final_state->model());
}

TEST(TrainCheckpoint, ResumeRefusesAnotherRun) {
  Model::set_threads(1);
  const Corpus corpus;
  const TempDir dir = temp_dir("other");
  TrainOptions o = small_run(OptimizerKind::Sgd, Curriculum::Paper);
  o.epochs = 1;
  o.checkpoint = dir / "run.ckpt";
  Trainer t(Model::create(tiny_train_config(), 5), o);
  run_epoch(t, corpus.train, corpus.validation);

  TrainOptions other = o;
  other.loss = LossKind::CrossEntropy;
  try {
    Trainer::resume(o.checkpoint, other);
    FAIL() << "a checkpoint of another run must be refused";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("different run"), std::string::npos) << m;
    EXPECT_NE(m.find("loss"), std::string::npos) << m;
  }
  other = o;
  other.seed = 12;
  EXPECT_THROW(Trainer::resume(o.checkpoint, other), Error);
  // The augmentations define the run too (and are left out of it at their defaults, so that
  // checkpoints from before they existed resume).
  const std::vector<std::function<void(TrainOptions&)>> other_augmentations = {
      [](TrainOptions& t) { t.zoom = 1.5; }, [](TrainOptions& t) { t.drift = 2; }, [](TrainOptions& t) { t.blur = 1; },
      [](TrainOptions& t) { t.noise_snr_db = 0; }};
  for (size_t i = 0; i < other_augmentations.size(); ++i) {
    other = o;
    other_augmentations[i](other);
    EXPECT_THROW(Trainer::resume(o.checkpoint, other), Error) << "augmentation " << i;
  }
  // Paths, the command and the epoch count may change.
  other = o;
  other.epochs = 5;
  other.command = "avts train --resume";
  other.output = dir / "model.avts";
  EXPECT_EQ(Trainer::resume(o.checkpoint, other)->epoch(), 1);
}

TEST(TrainCheckpoint, WritingIsAtomic) {
  Model::set_threads(1);
  const Corpus corpus;
  const TempDir dir = temp_dir("atomic");
  TrainOptions o = small_run(OptimizerKind::AdamW, Curriculum::Paper);
  o.epochs = 2;
  o.checkpoint = dir / "run.ckpt";
  o.output = dir / "model.avts";
  Trainer t(Model::create(tiny_train_config(), 5), o);
  run_epoch(t, corpus.train, corpus.validation);
  const std::string first = read_bytes(o.checkpoint);
  run_epoch(t, corpus.train, corpus.validation);
  // Replaced whole, and nothing else left in the folder (no temporary files).
  EXPECT_NE(read_bytes(o.checkpoint), first);
  EXPECT_EQ(file_names(dir.path()), (std::vector<std::string>{"model.avts", "run.ckpt"}));
  EXPECT_EQ(Trainer::resume(o.checkpoint, o)->epoch(), 2);

  // A folder that does not exist: an error naming the file, an existing checkpoint untouched.
  const std::string before = read_bytes(o.checkpoint);
  try {
    t.save_checkpoint(dir / "missing/run.ckpt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/run.ckpt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_bytes(o.checkpoint), before);
}

TEST(TrainCheckpoint, BrokenFilesAreRefusedClearly) {
  Model::set_threads(1);
  const TempDir dir = temp_dir("broken");
  const Corpus corpus;
  TrainOptions o = small_run(OptimizerKind::Sgd, Curriculum::Paper);
  o.epochs = 1;
  o.checkpoint = dir / "run.ckpt";
  o.output = dir / "model.avts";
  Trainer t(Model::create(tiny_train_config(), 5), o);
  run_epoch(t, corpus.train, corpus.validation);

  const auto refused = [&](const std::string& path, const std::string& says) {
    try {
      Trainer::resume(path, o);
      ADD_FAILURE() << path << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  refused(dir / "nothing.ckpt", "does not exist");
  refused(o.output, "a model file cannot be resumed from");
  const std::string bytes = read_bytes(o.checkpoint);
  std::ofstream(dir / "truncated.ckpt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  refused(dir / "truncated.ckpt", "not a readable archive");
  std::ofstream(dir / "text.ckpt") << "epoch=3\n";
  refused(dir / "text.ckpt", "not a readable archive");
}

TEST(TrainCheckpoint, PythonReadsTheCheckpoint) {
  const char* python = std::getenv("AVTS_PYTHON");
  if (!python) GTEST_SKIP() << "AVTS_PYTHON not set";
  Model::set_threads(1);
  const TempDir dir = temp_dir("python");
  const Corpus corpus;
  TrainOptions o = small_run(OptimizerKind::Sgd, Curriculum::Paper);
  o.epochs = 1;
  o.checkpoint = dir / "run.ckpt";
  Trainer t(Model::create(tiny_train_config(), 5), o);
  run_epoch(t, corpus.train, corpus.validation);
  const std::string script =
      "import json, sys, torch\n"
      "c = torch.load(sys.argv[1], weights_only=True)\n"
      "assert c['format'] == 'avts-trainer-state', c['format']\n"
      "assert json.loads(c['trainer'])['epoch'] == 1\n"
      "assert json.loads(c['config'])['embedding_dim'] == 16\n"
      "assert c['state_dict']['video.proj.weight'].shape == (16, 32)\n"
      "assert any(k.startswith('momentum_buffer/') for k in c['optimiser'])\n";
  std::ofstream(dir / "read.py") << script;
  const std::string command = std::string(python) + " " + (dir / "read.py") + " " + o.checkpoint;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}
