#include "edgesim/runtime/pipeline_transport.hpp"

#include "edgesim/runtime/initial_model.hpp"

#include <mpi.h>

#include <cstdio>
#include <stdexcept>

#include "edgesim/common/byte_buffer.hpp"
#include "edgesim/common/rng.hpp"
#include "edgesim/runtime/batch_stream.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/stage_link.hpp"
#include "edgesim/runtime/transport.hpp"

namespace edgesim {
namespace {

// Tags apart from the task transport's and the stage link's.
enum PipelineTag : int { kSetupTag = 31, kCommandTag = 32, kReportTag = 33, kWeightsTag = 34 };
enum class Command : std::int32_t {
  kStop = 0, kIterate = 1, kSendWeights = 2, kApply = 3, kDiscard = 4, kReshare = 5, kBackup = 6, kSnapshot = 7, kInstall = 8
};

void send_bytes(const std::string& bytes, int dest, int tag) {
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD);
}

std::string pack_plan(bool run, const Plan& plan) {
  ByteWriter w;
  w.pod<std::int32_t>(run ? 1 : 0);
  w.pod<std::int32_t>(plan.micro_batch), w.pod<std::int32_t>(plan.micro_batches);
  w.pod<std::uint64_t>(plan.stages.size());
  for (const StagePlan& s : plan.stages) {
    w.pod<std::int32_t>(s.begin), w.pod<std::int32_t>(s.end);
    w.list(s.devices), w.list(s.shares);
  }
  return std::move(w.out);
}

bool unpack_plan(const std::vector<char>& buf, Plan* plan) {
  ByteReader r(buf.data(), buf.size(), "edgesim pipeline plan message");
  if (r.pod<std::int32_t>("the go-ahead") == 0) return false;
  plan->micro_batch = r.pod<std::int32_t>("the micro-batch");
  plan->micro_batches = r.pod<std::int32_t>("the micro-batches");
  const auto n = r.pod<std::uint64_t>("the stage count");
  for (std::uint64_t i = 0; i < n; ++i) {
    StagePlan s;
    s.begin = r.pod<std::int32_t>("a stage begin"), s.end = r.pod<std::int32_t>("a stage end");
    s.devices = r.list<int>("the devices"), s.shares = r.list<int>("the shares");
    plan->stages.push_back(std::move(s));
  }
  return true;
}

std::string pack_reports(const std::vector<ReplicaReport>& reports) {
  ByteWriter w;
  w.pod<std::uint64_t>(reports.size());
  for (const ReplicaReport& r : reports) {
    w.pod<std::int32_t>(r.device), w.pod(r.bytes_sent), w.pod(r.bytes_received), w.pod(r.peak_memory_bytes);
    w.list(r.loss_terms);
  }
  return std::move(w.out);
}

std::vector<ReplicaReport> unpack_reports(const std::vector<char>& buf) {
  ByteReader r(buf.data(), buf.size(), "edgesim pipeline report message");
  std::vector<ReplicaReport> out(r.pod<std::uint64_t>("the report count"));
  for (ReplicaReport& rep : out) {
    rep.device = r.pod<std::int32_t>("the device");
    rep.bytes_sent = r.pod<std::int64_t>("the bytes sent");
    rep.bytes_received = r.pod<std::int64_t>("the bytes received");
    rep.peak_memory_bytes = r.pod<std::int64_t>("the peak memory");
    rep.loss_terms = r.list<double>("the loss terms");
  }
  return out;
}

// Named tensors: the names, then the tensors as one stage message (dtype and shape kept).
std::string pack_named(const std::map<std::string, torch::Tensor>& named) {
  ByteWriter w;
  std::vector<torch::Tensor> tensors;
  w.pod<std::uint64_t>(named.size());
  for (const auto& [name, t] : named) w.str(name), tensors.push_back(t);
  w.str(encode_stage_message({}, tensors));
  return std::move(w.out);
}

std::map<std::string, torch::Tensor> unpack_named(const std::vector<char>& buf) {
  ByteReader r(buf.data(), buf.size(), "edgesim pipeline weights message");
  std::vector<std::string> names(r.pod<std::uint64_t>("the name count"));
  for (std::string& n : names) n = r.str("a name");
  const std::vector<torch::Tensor> tensors = decode_stage_message(r.str("the tensors"), nullptr);
  if (tensors.size() != names.size()) throw std::logic_error("pipeline weights message: names and tensors differ");
  std::map<std::string, torch::Tensor> out;
  for (std::size_t i = 0; i < names.size(); ++i) out[names[i]] = tensors[i];
  return out;
}

class LocalRunner : public PipelineRunner {
 public:
  LocalRunner(const PipelineSetup& setup, const Plan& plan, const SgdSettings& sgd, const SpecNet& initial, bool meter)
      : executor_(setup.spec, setup.profile, plan, setup.fleet, sgd, initial, meter) {}
  PipelineIteration run_iteration(const torch::Tensor& x, const torch::Tensor& y, int) override {
    return executor_.run_iteration(x, y);
  }
  void copy_into(SpecNet& whole) override { executor_.copy_into(whole); }
  void reshare(const Plan& plan) override { executor_.reshare(plan); }
  void take_backup() override { executor_.take_backup(); }
  std::map<std::string, torch::Tensor> snapshot(const std::vector<int>& from_backup) override {
    return executor_.snapshot(from_backup);
  }
  void install(const Plan& plan, const std::map<std::string, torch::Tensor>& state) override {
    executor_.install(plan, state);
  }
  void set_held(const std::vector<std::uint64_t>& held) override { executor_.set_held(held); }

 private:
  PipelineExecutor executor_;
};

class MpiRunner : public PipelineRunner {
 public:
  MpiRunner(const PipelineSetup& setup, const Plan& plan, const SgdSettings& sgd, int world_size)
      : setup_(setup), plan_(plan), sgd_(sgd), world_size_(world_size) {
    check_plan(plan_, setup_.profile, setup_.fleet);
    const std::string msg = pack_plan(true, plan_);
    for (int r = 1; r < world_size_; ++r) send_bytes(msg, r, kSetupTag);
  }
  ~MpiRunner() override { finish(); }

  PipelineIteration run_iteration(const torch::Tensor&, const torch::Tensor&, int iteration) override {
    PipelineIteration it = frame_iteration(plan_, setup_.profile, setup_.fleet, sgd_.momentum > 0, nullptr, held_);
    // The iteration's number (its batch) and whether it runs: rank 0 alone judges the estimate.
    command(Command::kIterate, {iteration, it.oom ? 0 : 1});
    if (it.oom) return it;  // the executors skip it too
    std::vector<ReplicaReport> reports;
    for (int r = 1; r < world_size_; ++r) {
      const auto got = unpack_reports(receive_message(r, kReportTag, nullptr, nullptr, false));
      reports.insert(reports.end(), got.begin(), got.end());
    }
    const bool apply = judge_iteration(it, plan_, setup_.fleet, reports, held_);
    command(apply ? Command::kApply : Command::kDiscard);
    if (apply) complete_iteration(it, plan_, reports);
    return it;
  }

  void copy_into(SpecNet& whole) override {
    command(Command::kSendWeights);
    torch::NoGradGuard no_grad;
    auto params = whole->named_parameters();
    auto buffers = whole->named_buffers();
    for (int r = 1; r < world_size_; ++r)
      for (const auto& [name, t] : unpack_named(receive_message(r, kWeightsTag, nullptr, nullptr, false))) {
        if (auto* p = params.find(name))
          p->copy_(t);
        else if (auto* b = buffers.find(name))
          b->copy_(t);
        else
          throw std::logic_error("pipeline weights: no '" + name + "' in the model");
      }
  }

  void reshare(const Plan& plan) override {
    check_plan(plan, setup_.profile, setup_.fleet);
    command(Command::kReshare);
    const std::string msg = pack_plan(true, plan);
    for (int r = 1; r < world_size_; ++r) send_bytes(msg, r, kSetupTag);
    plan_ = plan;
  }

  void take_backup() override { command(Command::kBackup); }

  std::map<std::string, torch::Tensor> snapshot(const std::vector<int>& from_backup) override {
    command(Command::kSnapshot, from_backup);
    std::map<std::string, torch::Tensor> out;
    for (int r = 1; r < world_size_; ++r)  // each stage's state comes from one rank: no overlap
      for (auto& [name, t] : unpack_named(receive_message(r, kWeightsTag, nullptr, nullptr, false))) out[name] = t;
    return out;
  }

  void install(const Plan& plan, const std::map<std::string, torch::Tensor>& state) override {
    check_plan(plan, setup_.profile, setup_.fleet);
    command(Command::kInstall);
    const std::string msg = pack_plan(true, plan), weights = pack_named(state);
    for (int r = 1; r < world_size_; ++r) send_bytes(msg, r, kSetupTag), send_bytes(weights, r, kWeightsTag);
    plan_ = plan;
  }

  void set_held(const std::vector<std::uint64_t>& held) override { held_ = held; }

  void finish() override {
    if (finished_) return;
    finished_ = true;
    command(Command::kStop);
  }

 private:
  void command(Command c, const std::vector<int>& args = {}) {
    ByteWriter w;
    w.pod(c);
    w.list(args);
    for (int r = 1; r < world_size_; ++r) send_bytes(w.out, r, kCommandTag);
  }
  const PipelineSetup& setup_;
  Plan plan_;
  SgdSettings sgd_;
  int world_size_;
  std::vector<std::uint64_t> held_;
  bool finished_ = false;
};

}  // namespace

SpecNet initial_pipeline_model(const Experiment& e) {
  torch::manual_seed(Rng(e.config.run.seed, Purpose::kModelInit).next() >> 1);
  SpecNet net = build_network(e.model);
  // model.init_from: every rank reads the same earlier run (rank 0 checked it before planning).
  if (!e.config.model.init_from.empty()) load_weights(*net, from_floats(initial_model_from(e.config, e.model)));
  return net;
}

std::unique_ptr<PipelineRunner> make_pipeline_runner(const PipelineSetup& setup, const Plan& plan, const SgdSettings& sgd,
                                                     const SpecNet& initial, int world_size, bool meter_memory) {
  if (world_size == 1) return std::make_unique<LocalRunner>(setup, plan, sgd, initial, meter_memory);
  return std::make_unique<MpiRunner>(setup, plan, sgd, world_size);
}

void cancel_pipeline(int world_size) {
  const std::string msg = pack_plan(false, Plan{});
  for (int r = 1; r < world_size; ++r) send_bytes(msg, r, kSetupTag);
}

void serve_pipeline(const Experiment& e, int rank, int world_size) {
  Plan plan;
  if (!unpack_plan(receive_message(0, kSetupTag, nullptr, nullptr, false), &plan)) return;
  const ExperimentConfig& cfg = e.config;
  const PipelineSetup setup = pipeline_setup(cfg, e.model, e.devices, e.device_set);
  const SgdSettings sgd{cfg.algorithm.lr, cfg.algorithm.momentum, cfg.algorithm.weight_decay};
  const std::unique_ptr<StageLink> link = make_mpi_stage_link(rank, world_size);
  std::unique_ptr<StageWorker> worker;
  {
    const SpecNet initial = initial_pipeline_model(e);  // dropped once the replicas have their part
    worker = std::make_unique<StageWorker>(setup.spec, setup.profile, plan, sgd, initial,
                                           hosted_devices(rank, world_size, cfg.devices.count), *link,
                                           cfg.devices.memory == "enforced");
  }
  BatchCursor batches(cfg.run.seed, e.train.size(), plan.batch());
  for (;;) {
    const auto buf = receive_message(0, kCommandTag, nullptr, nullptr, false);
    ByteReader r(buf.data(), buf.size(), "edgesim pipeline command");
    const auto c = r.pod<Command>("the command");
    const std::vector<int> args = r.list<int>("the command's arguments");
    switch (c) {
      case Command::kStop:
        // For the logs (and the rank-count test): the traffic that really crossed ranks.
        std::fprintf(stderr, "edgesim executor rank %d: %lld stage messages (%lld bytes) sent to other ranks\n", rank,
                     static_cast<long long>(link->remote_messages()), static_cast<long long>(link->remote_bytes()));
        return;
      case Command::kIterate: {
        const std::vector<std::int64_t> indices = batches.at(args.at(0));
        if (args.at(1) == 0) break;  // over a cap on paper: nothing runs, nothing is reported
        std::vector<PipelineOp> order;
        frame_iteration(plan, setup.profile, setup.fleet, sgd.momentum > 0, &order);
        std::vector<ReplicaReport> reports;
        if (worker->hosts_any()) {
          const Examples batch = to_examples(e.train, indices);
          reports = worker->run_ops(order, batch.x, batch.y);
        }
        send_bytes(pack_reports(reports), 0, kReportTag);
        break;
      }
      case Command::kReshare: {
        Plan next;
        if (!unpack_plan(receive_message(0, kSetupTag, nullptr, nullptr, false), &next))
          throw std::logic_error("pipeline executor: a re-share without a plan");
        worker->reshare(next);
        plan = next;
        break;
      }
      case Command::kApply:
      case Command::kDiscard:
        if (worker->hosts_any()) worker->finish(c == Command::kApply);
        break;
      case Command::kSendWeights: send_bytes(pack_named(worker->first_replica_state()), 0, kWeightsTag); break;
      case Command::kBackup: worker->take_backup(); break;
      case Command::kSnapshot: send_bytes(pack_named(worker->snapshot(args)), 0, kWeightsTag); break;
      case Command::kInstall: {
        Plan next;
        if (!unpack_plan(receive_message(0, kSetupTag, nullptr, nullptr, false), &next))
          throw std::logic_error("pipeline executor: an install without a plan");
        const auto state = unpack_named(receive_message(0, kWeightsTag, nullptr, nullptr, false));
        worker.reset();  // the old replicas' memory first
        worker = std::make_unique<StageWorker>(setup.spec, setup.profile, next, sgd, state,
                                               hosted_devices(rank, world_size, cfg.devices.count), *link,
                                               cfg.devices.memory == "enforced");
        plan = next;
        break;
      }
    }
  }
}

}  // namespace edgesim
