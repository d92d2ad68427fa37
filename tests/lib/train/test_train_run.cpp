// Training runs on synthetic media that a tiny model learns in seconds: the loss falls and
// validation beats chance; pairs are 1:1; the curriculum shows; the bank stays bounded; the
// trained model carries its threshold and provenance.
#include <gtest/gtest.h>

#include <cmath>

#include "avts/error.h"
#include "temp_dir.h"
#include "train_fixtures.h"

using namespace avts;
using avts::test::blink_corpus;
using avts::test::run_epoch;
using avts::test::TempDir;
using avts::test::tiny_train_config;

namespace {

TrainOptions quick_options() {
  TrainOptions o;
  o.seed = 3;
  o.batch_size = 16;
  o.optimizer = OptimizerKind::AdamW;
  o.lr = 1e-3;
  o.schedule = ScheduleKind::Constant;
  o.validation_clips_per_file = 8;
  return o;
}

}  // namespace

TEST(TrainRun, LossFallsAndValidationBeatsChance) {
  Model::set_threads(1);
  const TempDir dir("avts-train-run-learn-");
  TrainOptions o = quick_options();
  o.epochs = 8;
  o.curriculum = Curriculum::EasyOnly;
  o.output = dir / "model.avts";
  o.command = "test_train_run";
  ModelConfig untrained = tiny_train_config();
  untrained.provenance["trained"] = "no";  // as avts init writes it
  Trainer trainer(Model::create(untrained, 1), o);
  // Validation periods lie between the training ones: files the model never saw.
  const auto train = blink_corpus("train-", 16, 6.0), validation = blink_corpus("val-", 6, 6.0, 0.5 * 5.0 / 15.0);

  std::vector<TrainProgress> epochs;
  const ValidationReport before = [&] {
    for (size_t i = 0; i < validation.size(); ++i)
      trainer.add_file(validation[i].make(trainer.model()->config(), Split::Validation, 7 + i));
    return trainer.validate();
  }();
  while (!trainer.finished()) {
    epochs.push_back(run_epoch(trainer, train, validation));
    const TrainProgress& p = epochs.back();
    std::printf("epoch %d: loss %.4f, %.0f pairs/s, validation easy %.3f (AUC %.3f), hard %.3f, threshold %.3f\n",
                p.epoch + 1, p.epoch_loss, p.pairs_per_second, p.validation.accuracy_easy, p.validation.auc_easy,
                p.validation.accuracy_hard, p.validation.threshold);
  }
  const TrainProgress& last = epochs.back();
  EXPECT_LT(last.epoch_loss, 0.6 * epochs.front().epoch_loss);
  EXPECT_GT(last.validation.accuracy_easy, 0.7) << "untrained: " << before.accuracy_easy;
  EXPECT_GT(last.validation.auc_easy, 0.7) << "untrained: " << before.auc_easy;
  EXPECT_LT(last.validation.mean_distance_positive, last.validation.mean_distance_easy);
  EXPECT_EQ(last.validation.clips, 6 * 5);  // 6 s files: 5 clip slots each

  // The model file: weights, the fitted threshold, how it was made.
  const auto saved = Model::load(o.output);
  EXPECT_EQ(saved->id(), trainer.model()->id());
  EXPECT_DOUBLE_EQ(saved->config().threshold, last.validation.threshold);
  const auto& prov = saved->config().provenance;
  EXPECT_EQ(prov.at("trained"), "yes");
  EXPECT_EQ(prov.at("epochs"), "8");
  EXPECT_EQ(prov.at("seed"), "3");
  EXPECT_EQ(prov.at("loss"), "contrastive");
  EXPECT_EQ(prov.at("curriculum"), "easy-only");
  EXPECT_EQ(prov.at("command"), "test_train_run");
  EXPECT_EQ(prov.at("validation_files"), "6");
  EXPECT_EQ(prov.at("train_pairs"), std::to_string(8 * 16 * 5 * 2));
  EXPECT_NE(prov.at("train_options").find("\"optimizer\":\"adamw\""), std::string::npos);
}

TEST(TrainRun, PairsAreOneToOneAndProgressIsReported) {
  Model::set_threads(1);
  TrainOptions o = quick_options();
  o.batch_size = 4;
  o.epochs = 1;
  o.queue_batches = 2;
  Trainer trainer(Model::create(tiny_train_config(), 1), o);
  std::vector<TrainProgress> steps;
  TrainProgress epoch_report;
  trainer.set_progress([&](const TrainProgress& p) {
    (p.kind == TrainProgress::Kind::Step ? steps.emplace_back(p) : epoch_report) = p;
  });
  int clips = 0;
  for (const auto& f : blink_corpus("t", 3, 3.3)) clips += trainer.add_file(f.make(tiny_train_config(), Split::Train));
  EXPECT_EQ(clips, 3 * 2);      // 3.3 s: starts 0..57, two slots
  EXPECT_EQ(steps.size(), 2u);  // a step whenever two batches are queued: at the second and third file
  const TrainProgress p = trainer.end_epoch();
  ASSERT_EQ(steps.size(), 3u);          // 6 clips, 2 per step
  EXPECT_EQ(p.epoch_pairs, 2 * clips);  // a positive and a negative per clip
  EXPECT_EQ(p.step, 3);
  EXPECT_EQ(p.train_files, 3);
  EXPECT_FALSE(p.validated);
  EXPECT_EQ(epoch_report.kind, TrainProgress::Kind::Epoch);
  EXPECT_EQ(epoch_report.epoch_pairs, p.epoch_pairs);
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].step, static_cast<int64_t>(i + 1));
    EXPECT_EQ(steps[i].epoch_pairs, static_cast<int64_t>(4 * (i + 1)));
    EXPECT_TRUE(std::isfinite(steps[i].loss));
    EXPECT_GT(steps[i].pairs_per_second, 0);
    EXPECT_DOUBLE_EQ(steps[i].lr, 1e-3);
  }
  EXPECT_TRUE(trainer.finished());
}

TEST(TrainRun, CurriculumStagesAndHardNegatives) {
  Model::set_threads(1);
  TrainOptions o = quick_options();
  o.batch_size = 8;
  o.epochs = 2;
  o.curriculum = Curriculum::Paper;
  o.easy_epochs = 1;
  Trainer trainer(Model::create(tiny_train_config(), 1), o);
  EXPECT_EQ(trainer.stage(), 1);
  const auto train = blink_corpus("t", 3, 4.0);
  const auto validation = blink_corpus("v", 2, 4.0, 0.5);
  const TrainProgress first = run_epoch(trainer, train, validation);
  EXPECT_EQ(first.stage, 1);
  EXPECT_EQ(first.hard_fallbacks, 0);
  EXPECT_EQ(trainer.stage(), 2);
  const TrainProgress second = run_epoch(trainer, train, validation);
  EXPECT_EQ(second.stage, 2);
  // Validation always has both kinds: 4 s files give 3 clips with room for a hard shift.
  EXPECT_EQ(second.validation.easy_pairs, 6);
  EXPECT_EQ(second.validation.hard_pairs, 6);
  EXPECT_TRUE(std::isfinite(second.validation.accuracy_hard));
  EXPECT_TRUE(std::isfinite(second.validation.auc_hard));
}

TEST(TrainRun, HardFallbacksAreCounted) {
  Model::set_threads(1);
  TrainOptions o = quick_options();
  o.batch_size = 8;
  o.epochs = 1;
  o.curriculum = Curriculum::None;
  o.hard_fraction = 1.0;  // every negative asks for a hard one
  Trainer trainer(Model::create(tiny_train_config(), 1), o);
  auto train = blink_corpus("t", 2, 4.0);
  for (auto& f : blink_corpus("short", 3, 1.4)) train.push_back(f);
  const TrainProgress p = run_epoch(trainer, train, {});
  EXPECT_EQ(p.hard_fallbacks, 3);  // the short files' clips; the 4 s files have room
  EXPECT_EQ(p.epoch_pairs, 2 * (2 * 3 + 3));
}

TEST(TrainRun, BankStaysBounded) {
  Model::set_threads(1);
  TrainOptions o = quick_options();
  o.batch_size = 4;
  o.max_train_files = 3;
  Trainer trainer(Model::create(tiny_train_config(), 1), o);
  for (const auto& f : blink_corpus("t", 6, 1.2)) {
    trainer.add_file(f.make(tiny_train_config(), Split::Train));
    EXPECT_LE(trainer.bank_files(), 3);
  }
  EXPECT_EQ(trainer.bank_files(), 3);
  const TrainProgress p = trainer.end_epoch();
  EXPECT_EQ(p.epoch_pairs, 2 * 6);     // every file's clip was trained, evicted or not
  EXPECT_EQ(trainer.bank_files(), 0);  // each epoch feeds its files again
}

TEST(TrainRun, CrossEntropyTrainsTheFusionHead) {
  Model::set_threads(1);
  for (LossKind loss : {LossKind::Contrastive, LossKind::CrossEntropy, LossKind::MultiWay}) {
    EXPECT_EQ(parse_loss(loss_name(loss)), loss);
    TrainOptions o = quick_options();
    o.batch_size = 8;
    o.epochs = 1;
    o.loss = loss;
    auto model = Model::create(tiny_train_config(), 1);
    const torch::Tensor before = model->impl().net->fusion->fc2->weight.clone();
    Trainer trainer(model, o);
    const TrainProgress p = run_epoch(trainer, blink_corpus("t", 3, 3.0), blink_corpus("v", 2, 3.0, 0.5));
    EXPECT_TRUE(std::isfinite(p.epoch_loss));
    EXPECT_TRUE(std::isfinite(p.validation.accuracy_easy));
    EXPECT_TRUE(std::isfinite(p.validation.threshold));
    const bool head_changed = !torch::equal(before, model->impl().net->fusion->fc2->weight);
    EXPECT_EQ(head_changed, loss == LossKind::CrossEntropy) << loss_name(loss);
  }
}

TEST(TrainRun, UnusableInputIsReported) {
  Model::set_threads(1);
  TrainOptions o = quick_options();
  Trainer trainer(Model::create(tiny_train_config(), 1), o);
  // Shorter than a clip: no clips, not used.
  EXPECT_EQ(trainer.add_file(blink_corpus("tiny", 1, 0.6)[0].make(tiny_train_config(), Split::Train)), 0);
  // No video.
  TrainingFile radio(tiny_train_config(), "radio", Split::Train);
  const std::vector<float> audio(16000, 0.1f);
  radio.push_audio(0, audio.data(), audio.size());
  EXPECT_THROW(trainer.add_file(std::move(radio)), Error);
  // One training file: no easy negatives.
  trainer.add_file(blink_corpus("one", 1, 3.0)[0].make(tiny_train_config(), Split::Train));
  try {
    trainer.end_epoch();
    FAIL() << "an epoch with one training file must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least two files"), std::string::npos) << e.what();
  }
  // bfloat16 runs inference on the CPU, but training in it needs a CUDA device.
  auto lower = Model::create(tiny_train_config(), 1);
  lower->set_precision(Precision::BFloat16);
  try {
    Trainer refused(lower, o);
    FAIL() << "bfloat16 training on the CPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bfloat16 needs a CUDA device to train"), std::string::npos) << e.what();
  }
  // Options out of range.
  o.batch_size = 7;
  EXPECT_THROW(Trainer(Model::create(tiny_train_config(), 1), o), Error);
}

// The one precision rule, and where a run starts: a fresh preset model, a model file, a checkpoint.
TEST(TrainRun, StartRunChecksPrecisionAndFindsItsModel) {
  Model::set_threads(1);
  EXPECT_NO_THROW(check_train_precision(Precision::Float32, "cpu"));
  EXPECT_NO_THROW(check_train_precision(Precision::BFloat16, "cuda:1"));
  EXPECT_THROW(check_train_precision(Precision::BFloat16, "cpu"), Error);
  EXPECT_THROW(check_train_precision(Precision::Float16, "cuda"), Error);

  const TempDir dir("avts-train-start-");
  TrainOptions o = quick_options();
  RunStart fresh;
  fresh.preset = "avts-compact";
  fresh.seed = 4;
  fresh.created_by = "test";
  const StartedRun a = start_run(fresh, o);
  ASSERT_TRUE(a.model);
  EXPECT_FALSE(a.resumed);
  EXPECT_EQ(a.first_epoch, 0);
  EXPECT_EQ(a.model->config().preset, "avts-compact");
  EXPECT_EQ(a.model->config().provenance.at("created-by"), "test");

  RunStart from_file;
  from_file.init = dir.path() + "/start.avts";
  EXPECT_THROW(start_run(from_file, o), Error);  // not there yet
  a.model->save(from_file.init);
  EXPECT_EQ(start_run(from_file, o).model->id(), a.model->id());

  RunStart resumed;
  resumed.resume = dir.path() + "/run.ckpt";
  resumed.init = from_file.init;
  try {
    start_run(resumed, o);
    FAIL() << "a checkpoint and a model file were both accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exclude each other"), std::string::npos) << e.what();
  }
  RunStart bf16 = fresh;
  bf16.precision = Precision::BFloat16;
  EXPECT_THROW(start_run(bf16, o), Error);
}

TEST(TrainRun, AutoSplitSendsAShareToValidation) {
  Model::set_threads(1);
  TrainOptions o = quick_options();
  o.validation_fraction = 0.3;
  Trainer trainer(Model::create(tiny_train_config(), 1), o);
  int expected = 0;
  for (const auto& f : blink_corpus("clip-", 20, 1.1)) {
    expected += auto_is_validation(f.id, 0.3);
    trainer.add_file(f.make(tiny_train_config(), Split::Auto));
  }
  EXPECT_EQ(trainer.validation_files(), expected);
  EXPECT_GT(expected, 0);
  EXPECT_LT(expected, 20);
}
