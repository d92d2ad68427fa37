// Data parallelism through PyTorch's c10d: a TCP store for the rendezvous (hosted by rank 0)
// and a Gloo or NCCL process group for the collectives. Each backend is built only where its
// headers are (AVTS_HAVE_GLOO, AVTS_HAVE_NCCL); asking for one this build lacks is a clear
// error.
#include <cstdlib>
#include <functional>
#include <string>

#include "avts/error.h"
#include "train_internal.h"

#if defined(AVTS_HAVE_GLOO) || defined(AVTS_HAVE_NCCL)
#define AVTS_HAVE_C10D
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef AVTS_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef AVTS_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
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

bool DistributedOptions::available(DistBackend backend) {
  bool gloo = false, nccl = false;
#ifdef AVTS_HAVE_GLOO
  gloo = true;
#endif
#ifdef AVTS_HAVE_NCCL
  nccl = true;
#endif
  return backend == DistBackend::Gloo ? gloo : backend == DistBackend::Nccl ? nccl : gloo || nccl;
}

void DistributedOptions::check_backend(const std::string& device) const {
  if (backend != DistBackend::Nccl) return;
  if (!available(DistBackend::Nccl))
    throw Error(
        "distributed backend nccl: this avts was built without NCCL (build it against a CUDA LibTorch "
        "with NCCL, -Dlibtorch), use gloo");
  if (device.rfind("cuda", 0) != 0)
    throw Error("distributed backend nccl needs the model on a GPU (device cuda), not '" + device + "': use gloo");
}

std::string DistributedOptions::rank_device(const std::string& device) const {
  return world_size > 1 && device == "cuda" ? "cuda:" + std::to_string(local_rank) : device;
}

namespace train {

namespace {

// Gloo unless the model is on a GPU and NCCL is there; an explicit choice is checked. Throws
// when the build lacks the backend chosen.
DistBackend choose_backend(const DistributedOptions& d, const torch::Device& model_device) {
  d.check_backend(model_device.is_cuda() ? "cuda" : "cpu");  // NCCL's reasons
  const DistBackend chosen = d.backend != DistBackend::Auto ? d.backend
                             : model_device.is_cuda() && DistributedOptions::available(DistBackend::Nccl)
                                 ? DistBackend::Nccl
                                 : DistBackend::Gloo;
  if (!DistributedOptions::available(chosen))  // only Gloo gets here: NCCL was checked above
    throw Error("distributed training (world size " + std::to_string(d.world_size) +
                ") needs c10d with Gloo, which this avts was built without (install libgloo-dev and rebuild)");
  return chosen;
}

}  // namespace

#ifdef AVTS_HAVE_C10D

namespace {

// PyTorch's errors carry a C++ backtrace: users get the message alone.
std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

// Starts a collective and waits for it. NCCL may fail at the start (its communicator is made
// by the first collective), Gloo while waiting: either way an avts error.
template <class Start>
void run(const char* what, Start start) {
  try {
    start()->wait();
  } catch (const std::exception& e) {
    throw DistributedError(std::string("distributed training: ") + what +
                           " failed (did another rank stop?): " + message_of(e));
  }
}

}  // namespace

// The group's three collectives, whichever backend runs them; each waits for its work.
struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  std::function<void(std::vector<torch::Tensor>&)> allreduce;
  std::function<void(std::vector<torch::Tensor>&, int root)> broadcast;
  std::function<void(std::vector<std::vector<torch::Tensor>>&, std::vector<torch::Tensor>&)> allgather;
  std::function<void()> shutdown;  // a clean end of NCCL's communicators and threads

  template <class Group>
  void bind(const c10::intrusive_ptr<Group>& group) {
    allreduce = [group](std::vector<torch::Tensor>& t) { run("all-reduce", [&] { return group->allreduce(t); }); };
    broadcast = [group](std::vector<torch::Tensor>& t, int root) {
      c10d::BroadcastOptions options;
      options.rootRank = root;
      run("broadcast", [&] { return group->broadcast(t, options); });
    };
    allgather = [group](std::vector<std::vector<torch::Tensor>>& out, std::vector<torch::Tensor>& in) {
      run("all-gather", [&] { return group->allgather(out, in); });
    };
  }

  ~Impl() {
    if (!shutdown) return;
    try {
      shutdown();
    } catch (const std::exception&) {
      // The process is leaving the group anyway; the training error, if any, is what counts.
    }
  }
};

ProcessGroup::ProcessGroup(const DistributedOptions& d, const torch::Device& model_device)
    : impl_(std::make_unique<Impl>()), rank_(d.rank), size_(d.world_size) {
  backend_ = choose_backend(d, model_device);
  if (backend_ == DistBackend::Nccl) device_ = model_device;
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
      impl_->store =
          c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(d.restart_count), impl_->store);
    if (backend_ == DistBackend::Gloo) {
#ifdef AVTS_HAVE_GLOO
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      options->devices.push_back(interface && *interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                                         : c10d::ProcessGroupGloo::createDefaultDevice());
      impl_->bind(c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, d.rank, d.world_size, options));
#endif
    } else {
#ifdef AVTS_HAVE_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, d.rank, d.world_size, options);
      impl_->bind(group);
      impl_->shutdown = [group] { group->shutdown(); };
#endif
    }
  } catch (const std::exception& e) {
    throw DistributedError("rank " + std::to_string(d.rank) + " of " + std::to_string(d.world_size) +
                           " could not join the training group at " + where + " (" + dist_backend_name(backend_) +
                           "): " + message_of(e));
  }
}

ProcessGroup::~ProcessGroup() = default;

namespace {

// `t` on the group's device: itself when it is there already, else a copy.
torch::Tensor on(const torch::Tensor& t, const torch::Device& device) {
  return t.device() == device ? t.contiguous() : t.to(device).contiguous();
}

// Writes a collective's result back into `t` when it ran on a copy.
void write_back(torch::Tensor& t, const torch::Tensor& result) {
  if (!result.is_same(t)) t.copy_(result);
}

}  // namespace

void ProcessGroup::all_reduce_sum(torch::Tensor& t) {
  std::vector<torch::Tensor> tensors{on(t, device_)};
  impl_->allreduce(tensors);
  write_back(t, tensors[0]);
}

void ProcessGroup::broadcast(torch::Tensor& t, int root) {
  std::vector<torch::Tensor> tensors{on(t, device_)};
  impl_->broadcast(tensors, root);
  write_back(t, tensors[0]);
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& t) {
  // Lengths first, then every rank's values padded to the longest.
  const auto on_group = [this](torch::ScalarType type) { return torch::TensorOptions().dtype(type).device(device_); };
  std::vector<torch::Tensor> in{torch::full({1}, t.numel(), on_group(torch::kInt64))};
  std::vector<std::vector<torch::Tensor>> lengths(1);
  for (int r = 0; r < size_; ++r) lengths[0].push_back(torch::empty({1}, on_group(torch::kInt64)));
  impl_->allgather(lengths, in);
  std::vector<int64_t> length(size_);
  int64_t longest = 0;
  for (int r = 0; r < size_; ++r) longest = std::max(longest, length[r] = lengths[0][r].item<int64_t>());
  if (longest == 0) return torch::empty({0}, t.options());

  std::vector<torch::Tensor> padded{torch::zeros({longest}, on_group(t.scalar_type()))};
  padded[0].narrow(0, 0, t.numel()).copy_(t.flatten());
  std::vector<std::vector<torch::Tensor>> values(1);
  for (int r = 0; r < size_; ++r) values[0].push_back(torch::empty({longest}, on_group(t.scalar_type())));
  impl_->allgather(values, padded);
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size_; ++r) parts.push_back(values[0][r].narrow(0, 0, length[r]));
  return torch::cat(parts).to(t.device());
}

#else  // no c10d backend in this build

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistributedOptions& d, const torch::Device& model_device)
    : rank_(d.rank), size_(d.world_size) {
  backend_ = choose_backend(d, model_device);  // throws: this build has neither backend
}

ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::all_reduce_sum(torch::Tensor&) {}
void ProcessGroup::broadcast(torch::Tensor&, int) {}
torch::Tensor ProcessGroup::all_gather(const torch::Tensor& t) { return t; }

#endif

}  // namespace train

}  // namespace avts
