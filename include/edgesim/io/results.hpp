#pragma once
// One HDF5 file per run (schema: docs/RESULTS.md). The writer creates the file, its root
// attributes and the /devices table up front, then switches to SWMR mode: /rounds, /tasks,
// /width_eval and /transfers grow by appending rows, and every append_round() flushes, so a
// run killed at any moment leaves a file that h5py can read up to the last finished round.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edgesim {

struct RunMetadata {
  std::string config_toml;  // the fully resolved config
  std::uint64_t seed = 0;
  std::string edgesim_version, git_commit, libtorch_version, mpi_version, host, start_time;
  std::string model_tensors;  // the global model's tensors, one "name dims" line each (model_tensor_shapes)
};

struct DeviceRecord {
  std::int64_t device = 0;
  std::string profile;
  double slowdown = 1.0;
  std::int64_t memory_cap_bytes = 0;
  double uplink_mbps = 0, downlink_mbps = 0, latency_s = 0;
  std::int64_t samples = 0;
  std::vector<std::int64_t> label_histogram;  // one count per class
};

struct RoundRecord {
  std::int64_t round = 0;
  double virtual_time_s = 0, wall_time_s = 0;
  double test_accuracy = 0, test_loss = 0;  // NaN in rounds without evaluation
  double train_loss = 0;                    // NaN when no update was accepted
  std::int64_t participants = 0, dropped = 0;
  std::int64_t bytes_up = 0, bytes_down = 0;
  double aggregation_wall_s = 0;  // coordinator's wall seconds extracting submodels and merging
};

enum class TaskStatus : std::int8_t { kOk = 0, kOom = 1, kDropped = 2 };
const char* to_string(TaskStatus s);  // "ok", "oom", "dropped"

struct TaskRecord {
  std::int64_t device = 0, round = 0;
  double start_s = 0, end_s = 0, compute_s = 0, comm_s = 0;
  double download_s = 0, upload_s = 0;  // comm_s = download_s + upload_s
  std::int64_t memory_bytes = 0, samples = 0;
  TaskStatus status = TaskStatus::kOk;
  std::int64_t peak_memory_bytes = 0;  // measured peak of the training (0 when not trained)
  std::int64_t staleness = 0;          // async: global versions between the task's start and its use
  double rate = 1.0;                   // nominal width of the submodel trained (1 = the full model)
  double flops = 0;                    // training FLOPs (forward, backward and extra passes; 0 when not trained)
};

// Accuracy of the global model cut to one width (nested methods: HeteroFL, FedRolex, FjORD).
struct WidthEvalRecord {
  std::int64_t round = 0;
  double rate = 1.0;
  double test_accuracy = 0, test_loss = 0;
};

// What a transfer carried. Task traffic is the model going to a device and its update
// coming back; assembly is traffic outside tasks (e.g. gathering a model for evaluation).
enum class TransferKind : std::int8_t { kDownload = 0, kUpload = 1, kAssembly = 2 };
const char* to_string(TransferKind k);  // "download", "upload", "assembly"

// One transfer (a row of /transfers); times as device/transfer.hpp computes them.
struct TransferRecord {
  std::int64_t round = 0;
  std::int64_t source = -1, destination = -1;  // device id, or -1 = the server (kServer)
  std::int64_t bytes = 0;
  double start_s = 0, end_s = 0;
  TransferKind kind = TransferKind::kDownload;
};

// Pipeline runs only (docs/RESULTS.md): one row of /pipeline_iterations per iteration and
// one row of /pipeline_ops per device op (kind "forward", "backward", "allreduce").
struct PipelineIterationRecord {
  std::int64_t iteration = 0, plan_id = 0, samples = 0;
  double start_s = 0, end_s = 0;  // virtual time
  double train_loss = 0;          // NaN when the iteration was oom
  // Virtual seconds after its flush spent on a stage backup or a checkpoint (included in end_s).
  double overhead_s = 0;
  std::int64_t rerun = 0;  // 1: run again after a restart rolled back to a checkpoint (no /rounds row)
};
// One row of /pipeline_memory per device per iteration: its footprint estimate and the
// counting allocator's measured peak (0 when not metered or not run), against its cap.
struct PipelineMemoryRecord {
  std::int64_t iteration = 0, device = 0, stage = 0;
  std::int64_t estimated_bytes = 0, peak_bytes = 0, cap_bytes = 0;
};
// One row of /pipeline_faults per fault: when it happened, was noticed and was recovered from.
struct PipelineFaultRecord {
  std::int64_t iteration = 0;  // the iteration it interrupted (0: none, the device was idle)
  std::int64_t device = 0, leave = 0;  // leave 1: announced exit; 0: failure
  std::int64_t plan_id = 0;    // the plan after recovery; -1: not recovered (the run ended)
  double fault_s = 0, detected_s = 0, recovered_s = 0;  // virtual time; recovered_s NaN if not
  double resumed_s = 0;       // training restarted on the plan after recovery (NaN if not)
  std::int64_t redone = 0;    // iterations run again (restart: those since the checkpoint)
  std::int64_t moved_bytes = 0;  // weight and optimizer bytes moved to install the new plan
  std::string recovery;       // "none" (idle device), "reshare", "replay", "restart", "lost"
};
struct PipelineOpRecordRow {
  std::int64_t iteration = 0, device = 0, stage = 0, micro_batch = 0;  // micro_batch -1: all-reduce
  double start_s = 0, end_s = 0;  // virtual time
  std::string kind;               // "forward" | "backward" | "allreduce"
};

// What a results file holds so far; readable while its writer runs or after it was killed.
struct ResultsTables {
  std::string status;  // "running" or "complete"
  std::vector<RoundRecord> rounds;
  std::vector<TaskRecord> tasks;
  std::vector<WidthEvalRecord> width_evals;
  std::vector<TransferRecord> transfers;  // empty for files written before /transfers existed
};
// Throws InputError naming the file when it is missing or not an edgesim results file.
ResultsTables read_results(const std::string& path);
// "complete", "running", or "" when the file is missing or unreadable. Cheap: no tables.
std::string results_status(const std::string& path);

// What an earlier run ended with: its final global model (/final_model: parameters then
// buffers, the flat layout of model/network.hpp) and the tensors it has (root attribute
// model_tensors). Throws InputError naming the file when it is missing, not an edgesim results
// file, or has no final model (a run that did not complete, or one written before
// /final_model existed).
struct FinalModel {
  std::vector<float> weights;
  std::string model_tensors;
};
FinalModel read_final_model(const std::string& path);

class ResultsWriter {
 public:
  // Throws InputError if `path` exists and !overwrite, or cannot be created.
  ResultsWriter(const std::string& path, bool overwrite, const RunMetadata& meta,
                const std::vector<DeviceRecord>& devices, int num_classes, bool pipeline_tables = false);
  ~ResultsWriter();
  ResultsWriter(const ResultsWriter&) = delete;
  ResultsWriter& operator=(const ResultsWriter&) = delete;

  void append_tasks(const std::vector<TaskRecord>& tasks);
  void append_width_evals(const std::vector<WidthEvalRecord>& evals);  // before its round's append_round
  void append_transfers(const std::vector<TransferRecord>& transfers);  // before its round's append_round
  // Only with pipeline_tables; before its iteration's append_round, which flushes them.
  void append_pipeline(const PipelineIterationRecord& iteration, const std::vector<PipelineOpRecordRow>& ops,
                       const std::vector<PipelineMemoryRecord>& memory = {});
  void append_pipeline_faults(const std::vector<PipelineFaultRecord>& faults);
  void append_round(const RoundRecord& round);  // appends, then flushes the file
  void mark_complete();                         // sets /status to "complete" and flushes
  // The run's final global model, written once at its end (before mark_complete).
  void write_final_model(const std::vector<float>& weights);
  // Root attributes rewritten in place (and flushed): `warnings`, one per line (what the run
  // warned about on stderr), and `ended_by`, what ended a complete run ("rounds" or
  // "until_virtual_s"; empty while it runs).
  void set_warnings(const std::vector<std::string>& warnings);
  void set_ended_by(const std::string& reason);
  // `resource_utilisation`: Σ task compute time / (virtual time × devices), Co-S²P's definition
  // over the whole run (NaN while it runs).
  void set_resource_utilisation(double utilisation);
  // `coordinator_peak_rss_bytes`: rank 0's peak resident memory (getrusage), at the run's end.
  void set_coordinator_peak_rss(double bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgesim
