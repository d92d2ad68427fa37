// Data-parallel training with c10d over Gloo on loopback: two processes with different
// initial weights and different amounts of data end every epoch with the same weights and
// the same model config; only rank 0 writes files. The same over NCCL where a machine has two
// GPUs; on one GPU, NCCL's collectives and a one-rank NCCL run. And the launch environment
// (torchrun, Slurm) is read as those launchers set it, the backend chosen as asked.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/Context.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "avts/error.h"
#include "free_port.h"
#include "temp_dir.h"
#include "train_fixtures.h"

extern char** environ;

using namespace avts;
using avts::test::blink_corpus;
using avts::test::free_port;
using avts::test::path_exists;
using avts::test::run_epoch;
using avts::test::TempDir;
using avts::test::tiny_train_config;

namespace {

// Sets environment variables for the life of a test.
struct ScopedEnv {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& name, const char* value) {
    const char* old = std::getenv(name.c_str());
    saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value)
      setenv(name.c_str(), value, 1);
    else
      unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
      it->second ? setenv(it->first.c_str(), it->second->c_str(), 1) : unsetenv(it->first.c_str());
  }
};

// One rank of TrainDistributed.Worker; `device` and `backend` as the worker reads them
// (device "cuda": each rank on the GPU of its LOCAL_RANK).
pid_t spawn_worker(int rank, int port, const std::string& dir, const std::string& device = "cpu",
                   const std::string& backend = "auto") {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const std::string& v :
       {"RANK=" + std::to_string(rank), std::string("WORLD_SIZE=2"),
        "LOCAL_RANK=" + std::to_string(device == "cpu" ? 0 : rank), std::string("MASTER_ADDR=127.0.0.1"),
        "MASTER_PORT=" + std::to_string(port), std::string("GLOO_SOCKET_IFNAME=lo"), "AVTS_TEST_WORKER_DIR=" + dir,
        "AVTS_TEST_WORKER_DEVICE=" + device, "AVTS_TEST_WORKER_BACKEND=" + backend})
    env.push_back(v);
  std::vector<char*> envp;
  for (auto& v : env) envp.push_back(v.data());
  envp.push_back(nullptr);
  char exe[4096];
  const ssize_t exe_length = readlink("/proc/self/exe", exe, sizeof exe);
  if (exe_length <= 0 || exe_length == static_cast<ssize_t>(sizeof exe)) return -1;  // none, or cut short
  std::string self(exe, exe_length), filter = "--gtest_filter=TrainDistributed.Worker";
  char* argv[] = {self.data(), filter.data(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()) != 0) return -1;
  return pid;
}

// Exit status of `pid`, or -1 after `seconds` (the process is then killed).
int wait_for(pid_t pid, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

}  // namespace

// One rank of the two-process run below (skipped unless started by it).
TEST(TrainDistributed, Worker) {
  const char* dir_env = std::getenv("AVTS_TEST_WORKER_DIR");
  if (!dir_env) GTEST_SKIP() << "started by TwoRanksKeepTheSameWeights";
  const std::string dir = dir_env;
  Model::set_threads(1);
  TrainOptions o;
  o.seed = 4;
  o.epochs = 2;
  o.batch_size = 4;
  o.lr = 0.02;
  o.curriculum = Curriculum::None;  // hard negatives too
  o.grad_clip_norm = 5.0;
  // A step as soon as a batch is queued: the ranks step while their files come in, rank 1
  // (three files) once more than rank 0 (two), which must join that step from end_epoch.
  o.queue_batches = 1;
  o.distributed = DistributedOptions::from_environment();
  const char* backend = std::getenv("AVTS_TEST_WORKER_BACKEND");
  const char* device = std::getenv("AVTS_TEST_WORKER_DEVICE");
  o.distributed.backend = parse_dist_backend(backend ? backend : "auto");
  const int rank = o.distributed.rank;
  o.output = dir + "/output-" + std::to_string(rank) + ".avts";
  o.checkpoint = dir + "/checkpoint-" + std::to_string(rank);
  // Different initial weights: rank 0's are broadcast. Different data: rank 1 has an extra
  // file, so it takes a step while rank 0 joins with nothing to add.
  Trainer trainer(Model::create(tiny_train_config(), 100 + rank, o.distributed.rank_device(device ? device : "cpu")),
                  o);
  const auto all = blink_corpus("t", 5, 3.0);
  std::vector<avts::test::BlinkMedia> mine;
  for (size_t i : rank == 0 ? std::vector<size_t>{0, 2} : std::vector<size_t>{1, 3, 4}) mine.push_back(all[i]);
  const auto validation = blink_corpus(rank == 0 ? "va" : "vb", 2, 3.0, 0.5);
  std::ofstream log(dir + "/rank-" + std::to_string(rank) + ".txt");
  while (!trainer.finished()) {
    const TrainProgress p = run_epoch(trainer, mine, validation);
    log << "epoch " << p.epoch << " step " << p.step << " pairs " << p.epoch_pairs << " clips " << p.validation.clips
        << " threshold " << p.validation.threshold << " id " << trainer.model()->id() << "\n";
  }
  trainer.model()->save(dir + "/final-" + std::to_string(rank) + ".avts");
}

// Two ranks of Worker on loopback: the same weights on both (every rank applies the same
// summed gradients), the same steps, pooled validation, files written by rank 0 alone.
static void check_two_ranks(const std::string& device, const std::string& backend,
                            const std::string& expected_backend) {
  const TempDir dir("avts-train-dist-");
  const int port = free_port();
  const pid_t r0 = spawn_worker(0, port, dir.path(), device, backend),
              r1 = spawn_worker(1, port, dir.path(), device, backend);
  ASSERT_GT(r0, 0);
  ASSERT_GT(r1, 0);
  const int status0 = wait_for(r0, 240), status1 = wait_for(r1, 240);
  ASSERT_EQ(status0, 0);
  ASSERT_EQ(status1, 0);

  const auto a = Model::load(dir / "final-0.avts"), b = Model::load(dir / "final-1.avts");
  const auto sa = nets::state_dict(*a->impl().net), sb = nets::state_dict(*b->impl().net);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  EXPECT_EQ(a->config().to_json(), b->config().to_json());
  EXPECT_EQ(a->config().provenance.at("world_size"), "2");
  EXPECT_EQ(a->config().provenance.at("distributed_backend"), expected_backend);
  EXPECT_EQ(a->config().provenance.at("train_files_last_epoch"), "5");
  EXPECT_EQ(a->config().provenance.at("validation_files"), "4");
  // The same steps, epoch by epoch, and validation pooled over both ranks' files (4 x 2 clips).
  std::ifstream log0(dir / "rank-0.txt"), log1(dir / "rank-1.txt");
  const std::string text0{std::istreambuf_iterator<char>(log0), {}}, text1{std::istreambuf_iterator<char>(log1), {}};
  EXPECT_EQ(text0, text1);
  EXPECT_NE(text0.find("clips 8 "), std::string::npos) << text0;
  // Pairs of both ranks: (2 + 3 files) x 2 clips x 2 pairs per epoch, in 3 steps of 2 clips
  // a rank (rank 0 has none for the third, which rank 1 takes as its third file comes in).
  EXPECT_NE(text0.find("epoch 0 step 3 pairs 20 "), std::string::npos) << text0;
  EXPECT_NE(text0.find("epoch 1 step 6 pairs 20 "), std::string::npos) << text0;
  // Only rank 0 writes the output and the checkpoint; the output is the final model.
  EXPECT_TRUE(path_exists(dir / "output-0.avts"));
  EXPECT_TRUE(path_exists(dir / "checkpoint-0"));
  EXPECT_FALSE(path_exists(dir / "output-1.avts"));
  EXPECT_FALSE(path_exists(dir / "checkpoint-1"));
  EXPECT_EQ(Model::load(dir / "output-0.avts")->id(), a->id());
}

TEST(TrainDistributed, TwoRanksKeepTheSameWeights) {
  if (!DistributedOptions::available()) GTEST_SKIP() << "built without Gloo";
  if (std::getenv("AVTS_TEST_WORKER_DIR")) GTEST_SKIP();
  check_two_ranks("cpu", "auto", "gloo");
}

// NCCL needs a GPU per rank: two on one machine (it refuses two ranks on one device).
TEST(TrainDistributed, TwoNcclRanksOnTwoGpusKeepTheSameWeights) {
  if (!DistributedOptions::available(DistBackend::Nccl)) GTEST_SKIP() << "built without NCCL";
  if (std::getenv("AVTS_TEST_WORKER_DIR")) GTEST_SKIP();
  if (torch::cuda::device_count() < 2)
    GTEST_SKIP() << "NCCL with two ranks needs two GPUs; " << static_cast<int>(torch::cuda::device_count()) << " here";
  check_two_ranks("cuda", "auto", "nccl");  // auto: NCCL, the models being on GPUs
}

// Largest difference between two models' weights and buffers, and the parameter it is in.
static std::pair<double, std::string> largest_difference(const Model& a, const Model& b) {
  const auto sa = nets::state_dict(*a.impl().net), sb = nets::state_dict(*b.impl().net);
  std::pair<double, std::string> worst{0.0, ""};
  for (size_t i = 0; i < sa.size() && i < sb.size(); ++i) {
    const double d =
        (sa[i].second.to(torch::kCPU).to(torch::kFloat64) - sb[i].second.to(torch::kCPU).to(torch::kFloat64))
            .abs()
            .max()
            .item<double>();
    if (d > worst.first) worst = {d, sa[i].first};
  }
  return worst;
}

// The tiny model after two epochs of the same files, trained by one process on its own and by
// a group of one rank over `backend`: the group averages the same gradients over one rank.
// On the GPU cuDNN is asked for deterministic algorithms, and a second lone run measures
// what remains of the GPU's own variation.
TEST(TrainDistributed, OneRankGroupTrainsAsOneProcess) {
  if (std::getenv("AVTS_TEST_WORKER_DIR")) GTEST_SKIP();
  std::vector<std::pair<std::string, DistBackend>> runs;
  if (DistributedOptions::available(DistBackend::Gloo)) runs.push_back({"cpu", DistBackend::Gloo});
  if (DistributedOptions::available(DistBackend::Nccl) && torch::cuda::device_count() > 0)
    runs.push_back({"cuda", DistBackend::Nccl});
  if (runs.empty()) GTEST_SKIP() << "built without Gloo or NCCL";
  Model::set_threads(1);
  const auto files = blink_corpus("t", 4, 3.0), validation = blink_corpus("v", 2, 3.0, 0.5);
  for (const auto& [device, backend] : runs) {
    if (device != "cpu") {
      at::globalContext().setDeterministicCuDNN(true);
      at::globalContext().setBenchmarkCuDNN(false);
      at::globalContext().setAllowTF32CuDNN(false);
      at::globalContext().setAllowTF32CuBLAS(false);
    }
    std::vector<double> losses;
    auto train = [&, device = device, backend = backend](bool group) {
      TrainOptions o;
      o.seed = 4;
      o.epochs = 2;
      o.batch_size = 4;
      o.lr = 0.02;
      o.curriculum = Curriculum::None;
      if (group) {
        o.distributed.backend = backend;
        o.distributed.master_port = free_port();
      }
      Trainer trainer(Model::create(tiny_train_config(), 100, device), o);
      losses.clear();
      trainer.set_progress([&](const TrainProgress& p) {
        if (p.kind == TrainProgress::Kind::Step) losses.push_back(p.loss);
      });
      while (!trainer.finished()) run_epoch(trainer, files, validation);
      return trainer.model();
    };
    const auto alone = train(false);
    const std::vector<double> alone_losses = losses;
    const auto grouped = train(true);
    const std::vector<double> grouped_losses = losses;
    EXPECT_EQ(grouped->config().provenance.at("distributed_backend"), dist_backend_name(backend));
    EXPECT_EQ(alone->config().provenance.count("distributed_backend"), 0u);
    EXPECT_EQ(grouped->config().provenance.at("world_size"), "1");
    ASSERT_EQ(alone_losses.size(), grouped_losses.size());
    std::string trace;
    for (size_t i = 0; i < alone_losses.size(); ++i)
      trace += " " + std::to_string(alone_losses[i]) + "/" + std::to_string(grouped_losses[i]);
    // The first step: the same weights and batch.
    EXPECT_NEAR(grouped_losses.at(0), alone_losses.at(0), 1e-5) << device << " step losses alone/grouped:" << trace;
    // Gradients times pairs, summed, divided by pairs: a rounding apart.
    const double floor = device == "cpu" ? 0.0 : largest_difference(*alone, *train(false)).first;
    const auto [worst, where] = largest_difference(*alone, *grouped);
    EXPECT_LT(worst, std::max(1e-5, 10 * floor))
        << device << " over " << dist_backend_name(backend) << ": " << where << "; two lone runs differ by " << floor
        << "; step losses alone/grouped:" << trace;
  }
}

// NCCL's collectives on one GPU, one rank: tensors on the GPU stay there, host tensors are
// copied to the GPU and back, and all-gather keeps lengths (empty too).
TEST(TrainDistributed, NcclCollectivesOnOneGpu) {
  if (!DistributedOptions::available(DistBackend::Nccl)) GTEST_SKIP() << "built without NCCL";
  if (torch::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device: NCCL not checked";
  DistributedOptions d;
  d.master_port = free_port();
  d.timeout_s = 60;
  const torch::Device gpu(torch::kCUDA, 0);
  train::ProcessGroup group(d, gpu);  // Auto: NCCL for a model on a GPU
  EXPECT_EQ(group.backend(), DistBackend::Nccl);
  EXPECT_EQ(group.device(), gpu);

  torch::Tensor on_gpu = torch::arange(5, torch::TensorOptions().dtype(torch::kFloat32).device(gpu));
  group.all_reduce_sum(on_gpu);
  EXPECT_TRUE(on_gpu.is_cuda());
  EXPECT_TRUE(torch::equal(on_gpu.cpu(), torch::arange(5, torch::kFloat32)));
  torch::Tensor on_host = torch::tensor({1.5, -2.0}, torch::kFloat64);
  group.all_reduce_sum(on_host);
  EXPECT_FALSE(on_host.is_cuda());
  EXPECT_TRUE(torch::equal(on_host, torch::tensor({1.5, -2.0}, torch::kFloat64)));
  torch::Tensor counts = torch::tensor({7}, torch::kInt64);
  group.broadcast(counts, 0);
  EXPECT_EQ(counts.item<int64_t>(), 7);
  const torch::Tensor values = torch::tensor({0.25, 0.5, 0.75}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(group.all_gather(values), values));
  EXPECT_EQ(group.all_gather(torch::empty({0}, torch::kFloat64)).numel(), 0);
}

TEST(TrainDistributed, BackendChoice) {
  EXPECT_EQ(parse_dist_backend("nccl"), DistBackend::Nccl);
  EXPECT_EQ(parse_dist_backend("gloo"), DistBackend::Gloo);
  EXPECT_STREQ(dist_backend_name(DistBackend::Auto), "auto");
  EXPECT_THROW(parse_dist_backend("mpi"), Error);

  DistributedOptions d;
  EXPECT_FALSE(d.joins_group());  // one process, no backend named: no group
  EXPECT_EQ(d.rank_device("cuda"), "cuda");
  d.backend = DistBackend::Gloo;
  EXPECT_TRUE(d.joins_group());
  d.backend = DistBackend::Auto;
  d.world_size = 4;
  d.local_rank = 3;
  EXPECT_TRUE(d.joins_group());
  EXPECT_EQ(d.rank_device("cuda"), "cuda:3");  // each rank of a machine on its own GPU
  EXPECT_EQ(d.rank_device("cuda:1"), "cuda:1");
  EXPECT_EQ(d.rank_device("cpu"), "cpu");

  // NCCL refused before any rendezvous: without it in the build, or for a model on the CPU.
  TrainOptions o;
  o.distributed.backend = DistBackend::Nccl;
  o.distributed.master_port = free_port();
  try {
    Trainer trainer(Model::create(tiny_train_config(), 1), o);
    FAIL() << "NCCL accepted for a model on the CPU";
  } catch (const Error& e) {
    const std::string why =
        DistributedOptions::available(DistBackend::Nccl) ? "needs the model on a GPU" : "built without NCCL";
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

TEST(TrainDistributed, LaunchEnvironment) {
  ScopedEnv env;
  for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID",
                        "SLURM_NTASKS", "SLURM_LOCALID", "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT"})
    env.set(v, nullptr);
  DistributedOptions d = DistributedOptions::from_environment();
  EXPECT_EQ(d.world_size, 1);
  EXPECT_EQ(d.rank, 0);
  EXPECT_FALSE(d.agent_store);

  env.set("WORLD_SIZE", "8");
  env.set("RANK", "5");
  env.set("LOCAL_RANK", "1");
  env.set("MASTER_ADDR", "node-0");
  env.set("MASTER_PORT", "29400");
  d = DistributedOptions::from_environment();
  EXPECT_EQ(d.world_size, 8);
  EXPECT_EQ(d.rank, 5);
  EXPECT_EQ(d.local_rank, 1);
  EXPECT_EQ(d.master_addr, "node-0");
  EXPECT_EQ(d.master_port, 29400);
  EXPECT_FALSE(d.agent_store);  // torchrun --standalone: rank 0 hosts the store

  // torchrun's static rendezvous: its agent hosts the store, per launch attempt.
  env.set("TORCHELASTIC_USE_AGENT_STORE", "True");
  env.set("TORCHELASTIC_RESTART_COUNT", "2");
  d = DistributedOptions::from_environment();
  EXPECT_TRUE(d.agent_store);
  EXPECT_EQ(d.restart_count, 2);
  env.set("TORCHELASTIC_USE_AGENT_STORE", "False");
  EXPECT_FALSE(DistributedOptions::from_environment().agent_store);

  env.set("RANK", "8");
  EXPECT_THROW(DistributedOptions::from_environment(), Error);
  env.set("RANK", "two");
  EXPECT_THROW(DistributedOptions::from_environment(), Error);

  // Slurm, when torchrun's variables are absent.
  env.set("WORLD_SIZE", nullptr);
  env.set("RANK", nullptr);
  env.set("LOCAL_RANK", nullptr);
  env.set("SLURM_NTASKS", "4");
  env.set("SLURM_PROCID", "3");
  env.set("SLURM_LOCALID", "1");
  d = DistributedOptions::from_environment();
  EXPECT_EQ(d.world_size, 4);
  EXPECT_EQ(d.rank, 3);
  EXPECT_EQ(d.local_rank, 1);
}

TEST(TrainDistributed, ARankAloneTimesOutWithAClearError) {
  if (!DistributedOptions::available()) GTEST_SKIP() << "built without Gloo";
  TrainOptions o;
  o.distributed.world_size = 2;
  o.distributed.rank = 1;
  o.distributed.master_port = free_port();
  o.distributed.timeout_s = 1;
  try {
    Trainer trainer(Model::create(tiny_train_config(), 1), o);
    FAIL() << "joined a group without its rank 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("could not join the training group at 127.0.0.1:"), std::string::npos)
        << e.what();
  }
}
