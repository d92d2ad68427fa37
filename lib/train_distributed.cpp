// Data parallelism through PyTorch's c10d: a TCP store for the rendezvous (hosted by rank 0)
// and a Gloo process group for the collectives. Built only where the Gloo headers are
// (AVTS_HAVE_GLOO); elsewhere a world larger than one is refused with a clear error.
#include <cstdlib>
#include <string>

#include "avts/error.h"
#include "train_internal.h"

#ifdef AVTS_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace avts {

namespace {

// An integer environment variable, or `fallback` when unset; malformed values are errors.
int env_int(const char* name, int fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < 0 || v > 1'000'000)
    throw Error(std::string("environment variable ") + name + "='" + text + "' is not a non-negative integer");
  return static_cast<int>(v);
}

}  // namespace

DistributedOptions DistributedOptions::from_environment() {
  DistributedOptions d;
  const bool torchrun = std::getenv("WORLD_SIZE") != nullptr;
  d.world_size = torchrun ? env_int("WORLD_SIZE", 1) : env_int("SLURM_NTASKS", 1);
  d.rank = torchrun ? env_int("RANK", 0) : env_int("SLURM_PROCID", 0);
  d.local_rank = torchrun ? env_int("LOCAL_RANK", 0) : env_int("SLURM_LOCALID", 0);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) d.master_addr = addr;
  d.master_port = env_int("MASTER_PORT", d.master_port);
  if (const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE"); agent && std::string(agent) == "True") {
    d.agent_store = true;
    d.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0);
  }
  if (d.world_size < 1) throw Error("WORLD_SIZE must be at least 1");
  if (d.rank >= d.world_size)
    throw Error("rank " + std::to_string(d.rank) + " is not below the world size " + std::to_string(d.world_size));
  if (d.master_port < 1 || d.master_port > 65535) throw Error("MASTER_PORT must be in 1..65535");
  return d;
}

bool DistributedOptions::available() {
#ifdef AVTS_HAVE_GLOO
  return true;
#else
  return false;
#endif
}

namespace train {

#ifdef AVTS_HAVE_GLOO

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const DistributedOptions& d) : impl_(std::make_unique<Impl>()), rank_(d.rank), size_(d.world_size) {
  const std::string where = d.master_addr + ":" + std::to_string(d.master_port);
  try {
    const std::chrono::seconds timeout(d.timeout_s);
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(d.master_port);
    store_options.isServer = d.rank == 0 && !d.agent_store;
    store_options.numWorkers = d.world_size;
    store_options.waitWorkers = !d.agent_store;
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(d.master_addr, store_options);
    if (d.agent_store)
      impl_->store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(d.restart_count),
                                                            impl_->store);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    options->devices.push_back(interface && *interface
                                   ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, d.rank, d.world_size, options);
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(d.rank) + " of " + std::to_string(d.world_size) +
                " could not join the training group at " + where + ": " + e.what());
  }
}

ProcessGroup::~ProcessGroup() = default;

namespace {

void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait();
  } catch (const std::exception& e) {
    throw DistributedError(std::string("distributed training: ") + what + " failed (did another rank stop?): " + e.what());
  }
}

}  // namespace

void ProcessGroup::all_reduce_sum(torch::Tensor& t) {
  std::vector<torch::Tensor> tensors{t};
  wait(impl_->group->allreduce(tensors), "all-reduce");
}

void ProcessGroup::broadcast(torch::Tensor& t, int root) {
  std::vector<torch::Tensor> tensors{t};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  wait(impl_->group->broadcast(tensors, options), "broadcast");
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& t) {
  // Lengths first, then every rank's values padded to the longest.
  torch::Tensor length = torch::tensor({t.numel()}, torch::kInt64);
  std::vector<std::vector<torch::Tensor>> lengths(1);
  for (int r = 0; r < size_; ++r) lengths[0].push_back(torch::empty({1}, torch::kInt64));
  std::vector<torch::Tensor> in{length};
  wait(impl_->group->allgather(lengths, in), "all-gather");
  int64_t longest = 0;
  for (const auto& l : lengths[0]) longest = std::max(longest, l.item<int64_t>());
  if (longest == 0) return torch::empty({0}, t.options());

  std::vector<torch::Tensor> padded{torch::zeros({longest}, t.options())};
  padded[0].narrow(0, 0, t.numel()).copy_(t.flatten());
  std::vector<std::vector<torch::Tensor>> values(1);
  for (int r = 0; r < size_; ++r) values[0].push_back(torch::empty({longest}, t.options()));
  wait(impl_->group->allgather(values, padded), "all-gather");
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size_; ++r) parts.push_back(values[0][r].narrow(0, 0, lengths[0][r].item<int64_t>()));
  return torch::cat(parts);
}

#else  // no Gloo in this build

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistributedOptions& d) : rank_(d.rank), size_(d.world_size) {
  throw Error("distributed training (world size " + std::to_string(d.world_size) +
              ") needs c10d with Gloo, which this avts was built without (install libgloo-dev and rebuild)");
}

ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::all_reduce_sum(torch::Tensor&) {}
void ProcessGroup::broadcast(torch::Tensor&, int) {}
torch::Tensor ProcessGroup::all_gather(const torch::Tensor& t) { return t; }

#endif

}  // namespace train

}  // namespace avts
