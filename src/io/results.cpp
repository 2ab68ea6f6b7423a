#include "edgesim/io/results.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "edgesim/common/error.hpp"
#include "edgesim/device/transfer.hpp"

namespace fs = std::filesystem;

namespace edgesim {

const char* to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::kOk: return "ok";
    case TaskStatus::kOom: return "oom";
    case TaskStatus::kDropped: return "dropped";
  }
  return "unknown";
}

const char* to_string(TransferKind k) {
  switch (k) {
    case TransferKind::kDownload: return "download";
    case TransferKind::kUpload: return "upload";
    case TransferKind::kAssembly: return "assembly";
  }
  return "unknown";
}

static_assert(kServer == -1, "/transfers writes the server as -1 (docs/RESULTS.md)");

namespace {

// Widths of the fixed-length string columns. Fixed length (not variable length) so that
// appends stay plain chunk writes under SWMR and numpy sees an ordinary 'S' field.
constexpr std::size_t kStatusBytes = 16;     // /status: "running" / "complete"
constexpr std::size_t kTaskStatusBytes = 8;  // /tasks status: "ok" / "oom" / "dropped"
constexpr std::size_t kTransferKindBytes = 16;  // /transfers kind: "download", ...; room for more
constexpr std::size_t kMinProfileBytes = 32;

// Rows per chunk: a round row is 80 bytes, a task row 72, so both chunks stay well under
// HDF5's 1 MiB chunk cache while a flush per round rewrites at most one partial chunk.
// A transfer row is 64 bytes and there are a few per task: the task chunk size fits it too.
constexpr hsize_t kRoundChunkRows = 512;
constexpr hsize_t kTaskChunkRows = 4096;
constexpr hsize_t kTransferChunkRows = 4096;
constexpr hsize_t kFinalModelChunkFloats = 1 << 16;  // 256 KiB chunks

// The innermost message on HDF5's error stack ("unable to lock file", "file exists", ...)
// is usually the one that explains the failure; we print nothing ourselves, so keep it.
herr_t grab_innermost(unsigned n, const H5E_error2_t* err, void* out) {
  if (n == 0 && err->desc) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

std::string hdf5_reason() {
  std::string desc;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, grab_innermost, &desc);
  H5Eclear2(H5E_DEFAULT);
  return desc.empty() ? std::string() : " (" + desc + ")";
}

[[noreturn]] void fail(const char* call, const std::string& path, const std::string& what) {
  throw std::runtime_error(std::string(call) + " failed for " + what + " in results file " +
                           path + hdf5_reason());
}

hid_t check_id(hid_t id, const char* call, const std::string& path, const std::string& what) {
  if (id < 0) fail(call, path, what);
  return id;
}

void check(herr_t rc, const char* call, const std::string& path, const std::string& what) {
  if (rc < 0) fail(call, path, what);
}

// Owns one HDF5 identifier. Close errors are ignored: they can only happen on paths that
// already failed, and destructors must not throw.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// TaskRecord with the status as text, so h5py and pandas users see "oom" rather than an
// enum code they would have to look up.
struct TaskRow {
  std::int64_t device, round;
  double start_s, end_s, compute_s, comm_s, download_s, upload_s;
  std::int64_t memory_bytes, peak_memory_bytes, samples, staleness;
  double rate;
  char status[kTaskStatusBytes];
  double flops;
};

// TransferRecord with the kind as text, for the same reason.
struct TransferRow {
  std::int64_t round, source, destination, bytes;
  double start_s, end_s;
  char kind[kTransferKindBytes];
};

// A pipeline op with its kind as text (same width as /transfers.kind).
struct PipelineOpRow {
  std::int64_t iteration, device, stage, micro_batch;
  double start_s, end_s;
  char kind[kTransferKindBytes];
};

// The in-memory row types double as the file types, so any padding would land in the file
// (and in every reader's numpy dtype). All are packed today; keep it that way.
// A fault row with its recovery kind as text.
struct PipelineFaultRow {
  std::int64_t iteration, device, leave, plan_id;
  double fault_s, detected_s, recovered_s, resumed_s;
  std::int64_t redone, moved_bytes;
  char recovery[kTransferKindBytes];
};
static_assert(sizeof(RoundRecord) == 11 * 8, "RoundRecord gained padding or fields");
static_assert(sizeof(TaskRow) == 14 * 8 + kTaskStatusBytes, "TaskRow gained padding or fields");
static_assert(sizeof(TransferRow) == 6 * 8 + kTransferKindBytes, "TransferRow gained padding or fields");
static_assert(sizeof(PipelineIterationRecord) == 8 * 8, "PipelineIterationRecord gained padding or fields");
static_assert(sizeof(PipelineOpRow) == 6 * 8 + kTransferKindBytes, "PipelineOpRow gained padding or fields");
static_assert(sizeof(PipelineMemoryRecord) == 6 * 8, "PipelineMemoryRecord gained padding or fields");
static_assert(sizeof(PipelineFaultRow) == 10 * 8 + kTransferKindBytes, "PipelineFaultRow gained padding or fields");


Handle string_type(std::size_t bytes, const std::string& path) {
  auto id = [&](hid_t h, const char* call, const char* what) { return check_id(h, call, path, what); };
  auto ok = [&](herr_t rc, const char* call, const char* what) { check(rc, call, path, what); };
  Handle t(id(H5Tcopy(H5T_C_S1), "H5Tcopy", "a string type"), H5Tclose);
  if (bytes == 0) {
    ok(H5Tset_size(t.get(), H5T_VARIABLE), "H5Tset_size", "a string type");
  } else {
    ok(H5Tset_size(t.get(), bytes), "H5Tset_size", "a string type");
    // Null padding, not termination: a name that fills the field keeps its last byte,
    // and it is what numpy's 'S' dtype (and so h5py) uses.
    ok(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), "H5Tset_strpad", "a string type");
  }
  // Every string is UTF-8, so C readers need one memory type (HDF5 will not convert
  // between character sets) and h5py decodes them all the same way.
  ok(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", "a string type");
  return t;
}

// The compound types of the growing tables, shared by the writer and the reader.
struct TableTypes {
  Handle round_type, task_type, width_type, transfer_type;
};

TableTypes table_types(const std::string& path) {
  auto id = [&](hid_t h, const char* call, const char* what) { return check_id(h, call, path, what); };
  auto ok = [&](herr_t rc, const char* call, const char* what) { check(rc, call, path, what); };
  TableTypes types;
  Handle& round_type = types.round_type;
  Handle& task_type = types.task_type;
  struct Col { const char* name; std::size_t offset; hid_t type; };

  // RoundRecord is written as is: its fields are the columns, in order.
  const Col round_cols[] = {
      {"round", HOFFSET(RoundRecord, round), H5T_NATIVE_INT64},
      {"virtual_time_s", HOFFSET(RoundRecord, virtual_time_s), H5T_NATIVE_DOUBLE},
      {"wall_time_s", HOFFSET(RoundRecord, wall_time_s), H5T_NATIVE_DOUBLE},
      {"test_accuracy", HOFFSET(RoundRecord, test_accuracy), H5T_NATIVE_DOUBLE},
      {"test_loss", HOFFSET(RoundRecord, test_loss), H5T_NATIVE_DOUBLE},
      {"train_loss", HOFFSET(RoundRecord, train_loss), H5T_NATIVE_DOUBLE},
      {"participants", HOFFSET(RoundRecord, participants), H5T_NATIVE_INT64},
      {"dropped", HOFFSET(RoundRecord, dropped), H5T_NATIVE_INT64},
      {"bytes_up", HOFFSET(RoundRecord, bytes_up), H5T_NATIVE_INT64},
      {"bytes_down", HOFFSET(RoundRecord, bytes_down), H5T_NATIVE_INT64},
      {"aggregation_wall_s", HOFFSET(RoundRecord, aggregation_wall_s), H5T_NATIVE_DOUBLE}};
  round_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(RoundRecord)), "H5Tcreate", "/rounds"),
                      H5Tclose);
  for (const auto& c : round_cols)
    ok(H5Tinsert(round_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/rounds");

  Handle status_str = string_type(kTaskStatusBytes, path);
  const Col task_cols[] = {
      {"device", HOFFSET(TaskRow, device), H5T_NATIVE_INT64},
      {"round", HOFFSET(TaskRow, round), H5T_NATIVE_INT64},
      {"start_s", HOFFSET(TaskRow, start_s), H5T_NATIVE_DOUBLE},
      {"end_s", HOFFSET(TaskRow, end_s), H5T_NATIVE_DOUBLE},
      {"compute_s", HOFFSET(TaskRow, compute_s), H5T_NATIVE_DOUBLE},
      {"comm_s", HOFFSET(TaskRow, comm_s), H5T_NATIVE_DOUBLE},
      {"download_s", HOFFSET(TaskRow, download_s), H5T_NATIVE_DOUBLE},
      {"upload_s", HOFFSET(TaskRow, upload_s), H5T_NATIVE_DOUBLE},
      {"memory_bytes", HOFFSET(TaskRow, memory_bytes), H5T_NATIVE_INT64},
      {"peak_memory_bytes", HOFFSET(TaskRow, peak_memory_bytes), H5T_NATIVE_INT64},
      {"samples", HOFFSET(TaskRow, samples), H5T_NATIVE_INT64},
      {"status", HOFFSET(TaskRow, status), status_str.get()},
      {"staleness", HOFFSET(TaskRow, staleness), H5T_NATIVE_INT64},
      {"rate", HOFFSET(TaskRow, rate), H5T_NATIVE_DOUBLE},
      {"flops", HOFFSET(TaskRow, flops), H5T_NATIVE_DOUBLE}};
  task_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(TaskRow)), "H5Tcreate", "/tasks"),
                     H5Tclose);
  for (const auto& c : task_cols)
    ok(H5Tinsert(task_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/tasks");

  const Col width_cols[] = {
      {"round", HOFFSET(WidthEvalRecord, round), H5T_NATIVE_INT64},
      {"rate", HOFFSET(WidthEvalRecord, rate), H5T_NATIVE_DOUBLE},
      {"test_accuracy", HOFFSET(WidthEvalRecord, test_accuracy), H5T_NATIVE_DOUBLE},
      {"test_loss", HOFFSET(WidthEvalRecord, test_loss), H5T_NATIVE_DOUBLE}};
  types.width_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(WidthEvalRecord)), "H5Tcreate", "/width_eval"),
                            H5Tclose);
  for (const auto& c : width_cols)
    ok(H5Tinsert(types.width_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/width_eval");

  Handle kind_str = string_type(kTransferKindBytes, path);
  const Col transfer_cols[] = {
      {"round", HOFFSET(TransferRow, round), H5T_NATIVE_INT64},
      {"source", HOFFSET(TransferRow, source), H5T_NATIVE_INT64},
      {"destination", HOFFSET(TransferRow, destination), H5T_NATIVE_INT64},
      {"bytes", HOFFSET(TransferRow, bytes), H5T_NATIVE_INT64},
      {"start_s", HOFFSET(TransferRow, start_s), H5T_NATIVE_DOUBLE},
      {"end_s", HOFFSET(TransferRow, end_s), H5T_NATIVE_DOUBLE},
      {"kind", HOFFSET(TransferRow, kind), kind_str.get()}};
  types.transfer_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(TransferRow)), "H5Tcreate", "/transfers"),
                               H5Tclose);
  for (const auto& c : transfer_cols)
    ok(H5Tinsert(types.transfer_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/transfers");

  return types;
}

}  // namespace

struct ResultsWriter::Impl {
  std::string path;
  H5E_auto2_t saved_err_func = nullptr;
  void* saved_err_data = nullptr;

  // Declaration order matters: members are destroyed in reverse, so the datasets and
  // types close before the file does.
  Handle file;
  Handle status_type, round_type, task_type;
  Handle width_type, transfer_type;
  Handle status_ds, rounds_ds, tasks_ds, width_ds, transfers_ds;
  hsize_t num_rounds = 0, num_tasks = 0, num_width_evals = 0, num_transfers = 0;
  // Pipeline runs only: created after every other table, so other runs' files are unchanged.
  Handle pipe_iter_type, pipe_op_type, pipe_iter_ds, pipe_op_ds, pipe_mem_type, pipe_mem_ds, pipe_fault_type,
      pipe_fault_ds;
  hsize_t num_pipe_iters = 0, num_pipe_ops = 0, num_pipe_mem = 0, num_pipe_faults = 0;
  // Empty until the run ends (created before SWMR starts, as every object must be).
  Handle final_model_ds;
  hsize_t final_model_floats = 0;

  hid_t id(hid_t h, const char* call, const std::string& what) const {
    return check_id(h, call, path, what);
  }
  void ok(herr_t rc, const char* call, const std::string& what) const {
    check(rc, call, path, what);
  }

  void create_file();
  Handle string_type(std::size_t bytes) const { return edgesim::string_type(bytes, path); }
  void write_string_attr(const char* name, const std::string& value);
  void rewrite_string_attr(const char* name, const std::string& value);
  void write_double_attr(const char* name, double value, bool create);
  void write_root_attributes(const RunMetadata& meta);
  void write_devices(const std::vector<DeviceRecord>& devices, int num_classes);
  void create_status();
  void create_tables();
  void create_pipeline_tables();
  Handle create_table(const char* name, hid_t type, hsize_t chunk_rows);
  void append(hid_t ds, hid_t type, hsize_t& rows, const void* data, hsize_t n,
              const char* what);
  void write_status(const char* text);
  void flush();
};

void ResultsWriter::Impl::create_file() {
  // SWMR needs the 1.10 file format (checksummed metadata, v3 superblock).
  Handle fapl(id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", "the file"), H5Pclose);
  ok(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST),
     "H5Pset_libver_bounds", "the file");
  // EXCL, not TRUNC: anything that appeared at `path` since our existence check is not ours.
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get());
  if (f < 0) throw InputError("cannot create results file " + path + hdf5_reason());
  file = Handle(f, H5Fclose);
}

void ResultsWriter::Impl::write_string_attr(const char* name, const std::string& value) {
  const std::string what = std::string("root attribute ") + name;
  // Variable length so the (arbitrarily long) config fits, and h5py returns a str.
  Handle type = string_type(0);
  Handle space(id(H5Screate(H5S_SCALAR), "H5Screate", what), H5Sclose);
  Handle attr(id(H5Acreate2(file.get(), name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                 "H5Acreate2", what),
              H5Aclose);
  const char* text = value.c_str();
  ok(H5Awrite(attr.get(), type.get(), &text), "H5Awrite", what);
}

void ResultsWriter::Impl::rewrite_string_attr(const char* name, const std::string& value) {
  const std::string what = std::string("root attribute ") + name;
  Handle type = string_type(0);
  Handle attr(id(H5Aopen(file.get(), name, H5P_DEFAULT), "H5Aopen", what), H5Aclose);
  const char* text = value.c_str();
  ok(H5Awrite(attr.get(), type.get(), &text), "H5Awrite", what);
}

void ResultsWriter::Impl::write_double_attr(const char* name, double value, bool create) {
  const std::string what = std::string("root attribute ") + name;
  Handle space(id(H5Screate(H5S_SCALAR), "H5Screate", what), H5Sclose);
  Handle attr(id(create ? H5Acreate2(file.get(), name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT)
                        : H5Aopen(file.get(), name, H5P_DEFAULT),
                 create ? "H5Acreate2" : "H5Aopen", what),
              H5Aclose);
  ok(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value), "H5Awrite", what);
}

void ResultsWriter::Impl::write_root_attributes(const RunMetadata& meta) {
  write_string_attr("config", meta.config_toml);
  {
    Handle space(id(H5Screate(H5S_SCALAR), "H5Screate", "root attribute seed"), H5Sclose);
    Handle attr(id(H5Acreate2(file.get(), "seed", H5T_STD_U64LE, space.get(), H5P_DEFAULT,
                              H5P_DEFAULT),
                   "H5Acreate2", "root attribute seed"),
                H5Aclose);
    ok(H5Awrite(attr.get(), H5T_NATIVE_UINT64, &meta.seed), "H5Awrite", "root attribute seed");
  }
  write_string_attr("edgesim_version", meta.edgesim_version);
  write_string_attr("git_commit", meta.git_commit);
  write_string_attr("libtorch_version", meta.libtorch_version);
  write_string_attr("mpi_version", meta.mpi_version);
  // The library actually loaded, which can differ from the headers we compiled against.
  unsigned maj = 0, min = 0, rel = 0;
  ok(H5get_libversion(&maj, &min, &rel), "H5get_libversion", "root attribute hdf5_version");
  write_string_attr("hdf5_version",
                    std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel));
  write_string_attr("host", meta.host);
  write_string_attr("start_time", meta.start_time);
  write_string_attr("model_tensors", meta.model_tensors);
  // Written now (empty) and rewritten in place later: under SWMR an existing attribute may
  // change, but none may be created.
  write_string_attr("warnings", "");
  write_string_attr("ended_by", "");
  write_double_attr("resource_utilisation", std::numeric_limits<double>::quiet_NaN(), true);
  write_double_attr("coordinator_peak_rss_bytes", std::numeric_limits<double>::quiet_NaN(), true);
}

void ResultsWriter::Impl::write_devices(const std::vector<DeviceRecord>& devices,
                                        int num_classes) {
  if (num_classes < 0) throw std::invalid_argument("ResultsWriter: negative num_classes");
  std::size_t profile_bytes = kMinProfileBytes;
  for (const auto& d : devices) {
    profile_bytes = std::max(profile_bytes, d.profile.size());
    if (d.label_histogram.size() != static_cast<std::size_t>(num_classes))
      throw std::invalid_argument("ResultsWriter: device " + std::to_string(d.device) +
                                  " has a label histogram of " +
                                  std::to_string(d.label_histogram.size()) + " classes, expected " +
                                  std::to_string(num_classes));
  }

  // The profile column is as wide as the longest name, so the row layout is only known at
  // run time: build it field by field and pack rows into a byte buffer.
  struct Field { const char* name; hid_t type; std::size_t size; };
  Handle profile_type = string_type(profile_bytes);
  const Field fields[] = {
      {"device", H5T_NATIVE_INT64, 8},         {"profile", profile_type.get(), profile_bytes},
      {"slowdown", H5T_NATIVE_DOUBLE, 8},      {"memory_cap_bytes", H5T_NATIVE_INT64, 8},
      {"uplink_mbps", H5T_NATIVE_DOUBLE, 8},   {"downlink_mbps", H5T_NATIVE_DOUBLE, 8},
      {"latency_s", H5T_NATIVE_DOUBLE, 8},     {"samples", H5T_NATIVE_INT64, 8}};
  std::size_t row_bytes = 0;
  for (const auto& f : fields) row_bytes += f.size;
  Handle type(id(H5Tcreate(H5T_COMPOUND, row_bytes), "H5Tcreate", "/devices"), H5Tclose);
  std::size_t offset = 0;
  for (const auto& f : fields) {
    ok(H5Tinsert(type.get(), f.name, offset, f.type), "H5Tinsert", "/devices");
    offset += f.size;
  }

  std::vector<char> rows(row_bytes * devices.size(), '\0');
  char* p = rows.data();
  auto put = [&p](const void* src, std::size_t n) { std::memcpy(p, src, n); p += n; };
  for (const auto& d : devices) {
    put(&d.device, 8);
    std::memcpy(p, d.profile.data(), d.profile.size());  // rest stays '\0' (null padding)
    p += profile_bytes;
    put(&d.slowdown, 8);
    put(&d.memory_cap_bytes, 8);
    put(&d.uplink_mbps, 8);
    put(&d.downlink_mbps, 8);
    put(&d.latency_s, 8);
    put(&d.samples, 8);
  }

  const hsize_t n = devices.size();
  Handle space(id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", "/devices"), H5Sclose);
  Handle ds(id(H5Dcreate2(file.get(), "devices", type.get(), space.get(), H5P_DEFAULT,
                          H5P_DEFAULT, H5P_DEFAULT),
               "H5Dcreate2", "/devices"),
            H5Dclose);
  if (n > 0)
    ok(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), "H5Dwrite",
       "/devices");

  // Row i of /label_histogram belongs to row i of /devices.
  std::vector<std::int64_t> hist;
  hist.reserve(devices.size() * static_cast<std::size_t>(num_classes));
  for (const auto& d : devices)
    hist.insert(hist.end(), d.label_histogram.begin(), d.label_histogram.end());
  const hsize_t dims[2] = {n, static_cast<hsize_t>(num_classes)};
  Handle hspace(id(H5Screate_simple(2, dims, nullptr), "H5Screate_simple", "/label_histogram"),
                H5Sclose);
  Handle hds(id(H5Dcreate2(file.get(), "label_histogram", H5T_STD_I64LE, hspace.get(),
                           H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                "H5Dcreate2", "/label_histogram"),
             H5Dclose);
  if (!hist.empty())
    ok(H5Dwrite(hds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, hist.data()),
       "H5Dwrite", "/label_histogram");
}

Handle ResultsWriter::Impl::create_table(const char* name, hid_t type, hsize_t chunk_rows) {
  const std::string what = std::string("/") + name;
  const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Handle space(id(H5Screate_simple(1, &zero, &unlimited), "H5Screate_simple", what), H5Sclose);
  Handle dcpl(id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", what), H5Pclose);
  ok(H5Pset_chunk(dcpl.get(), 1, &chunk_rows), "H5Pset_chunk", what);
  return Handle(id(H5Dcreate2(file.get(), name, type, space.get(), H5P_DEFAULT, dcpl.get(),
                              H5P_DEFAULT),
                   "H5Dcreate2", what),
                H5Dclose);
}

void ResultsWriter::Impl::append(hid_t ds, hid_t type, hsize_t& rows, const void* data,
                                 hsize_t n, const char* what) {
  if (n == 0) return;
  const hsize_t new_rows = rows + n;
  ok(H5Dset_extent(ds, &new_rows), "H5Dset_extent", what);
  Handle file_space(id(H5Dget_space(ds), "H5Dget_space", what), H5Sclose);
  ok(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &rows, nullptr, &n, nullptr),
     "H5Sselect_hyperslab", what);
  Handle mem_space(id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", what), H5Sclose);
  ok(H5Dwrite(ds, type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), "H5Dwrite", what);
  rows = new_rows;
}

void ResultsWriter::Impl::create_status() {
  status_type = string_type(kStatusBytes);
  Handle space(id(H5Screate(H5S_SCALAR), "H5Screate", "/status"), H5Sclose);
  // Early allocation: under SWMR the writer may rewrite raw data but not object headers,
  // so the storage must exist before H5Fstart_swmr_write.
  Handle dcpl(id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", "/status"), H5Pclose);
  ok(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", "/status");
  status_ds = Handle(id(H5Dcreate2(file.get(), "status", status_type.get(), space.get(),
                                   H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                        "H5Dcreate2", "/status"),
                     H5Dclose);
  write_status("running");
}

void ResultsWriter::Impl::create_tables() {
  TableTypes types = table_types(path);
  round_type = std::move(types.round_type);
  task_type = std::move(types.task_type);
  rounds_ds = create_table("rounds", round_type.get(), kRoundChunkRows);
  tasks_ds = create_table("tasks", task_type.get(), kTaskChunkRows);
  width_type = std::move(types.width_type);
  width_ds = create_table("width_eval", width_type.get(), kRoundChunkRows);
  // Created last: the tables before it keep their creation order and contents.
  transfer_type = std::move(types.transfer_type);
  transfers_ds = create_table("transfers", transfer_type.get(), kTransferChunkRows);
}

void ResultsWriter::Impl::create_pipeline_tables() {
  struct Col {
    const char* name;
    std::size_t offset;
    hid_t type;
  };
  const Col iter_cols[] = {
      {"iteration", HOFFSET(PipelineIterationRecord, iteration), H5T_NATIVE_INT64},
      {"plan_id", HOFFSET(PipelineIterationRecord, plan_id), H5T_NATIVE_INT64},
      {"samples", HOFFSET(PipelineIterationRecord, samples), H5T_NATIVE_INT64},
      {"start_s", HOFFSET(PipelineIterationRecord, start_s), H5T_NATIVE_DOUBLE},
      {"end_s", HOFFSET(PipelineIterationRecord, end_s), H5T_NATIVE_DOUBLE},
      {"train_loss", HOFFSET(PipelineIterationRecord, train_loss), H5T_NATIVE_DOUBLE},
      {"overhead_s", HOFFSET(PipelineIterationRecord, overhead_s), H5T_NATIVE_DOUBLE},
      {"rerun", HOFFSET(PipelineIterationRecord, rerun), H5T_NATIVE_INT64}};
  pipe_iter_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(PipelineIterationRecord)), "H5Tcreate", "/pipeline_iterations"),
                          H5Tclose);
  for (const auto& c : iter_cols) ok(H5Tinsert(pipe_iter_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/pipeline_iterations");
  Handle kind_str = string_type(kTransferKindBytes);
  const Col op_cols[] = {
      {"iteration", HOFFSET(PipelineOpRow, iteration), H5T_NATIVE_INT64},
      {"device", HOFFSET(PipelineOpRow, device), H5T_NATIVE_INT64},
      {"stage", HOFFSET(PipelineOpRow, stage), H5T_NATIVE_INT64},
      {"micro_batch", HOFFSET(PipelineOpRow, micro_batch), H5T_NATIVE_INT64},
      {"start_s", HOFFSET(PipelineOpRow, start_s), H5T_NATIVE_DOUBLE},
      {"end_s", HOFFSET(PipelineOpRow, end_s), H5T_NATIVE_DOUBLE},
      {"kind", HOFFSET(PipelineOpRow, kind), kind_str.get()}};
  pipe_op_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(PipelineOpRow)), "H5Tcreate", "/pipeline_ops"), H5Tclose);
  for (const auto& c : op_cols) ok(H5Tinsert(pipe_op_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/pipeline_ops");
  pipe_iter_ds = create_table("pipeline_iterations", pipe_iter_type.get(), kRoundChunkRows);
  pipe_op_ds = create_table("pipeline_ops", pipe_op_type.get(), kTransferChunkRows);
  const Col mem_cols[] = {
      {"iteration", HOFFSET(PipelineMemoryRecord, iteration), H5T_NATIVE_INT64},
      {"device", HOFFSET(PipelineMemoryRecord, device), H5T_NATIVE_INT64},
      {"stage", HOFFSET(PipelineMemoryRecord, stage), H5T_NATIVE_INT64},
      {"estimated_bytes", HOFFSET(PipelineMemoryRecord, estimated_bytes), H5T_NATIVE_INT64},
      {"peak_bytes", HOFFSET(PipelineMemoryRecord, peak_bytes), H5T_NATIVE_INT64},
      {"cap_bytes", HOFFSET(PipelineMemoryRecord, cap_bytes), H5T_NATIVE_INT64}};
  pipe_mem_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(PipelineMemoryRecord)), "H5Tcreate", "/pipeline_memory"),
                         H5Tclose);
  for (const auto& c : mem_cols) ok(H5Tinsert(pipe_mem_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/pipeline_memory");
  pipe_mem_ds = create_table("pipeline_memory", pipe_mem_type.get(), kRoundChunkRows);
  const Col fault_cols[] = {
      {"iteration", HOFFSET(PipelineFaultRow, iteration), H5T_NATIVE_INT64},
      {"device", HOFFSET(PipelineFaultRow, device), H5T_NATIVE_INT64},
      {"leave", HOFFSET(PipelineFaultRow, leave), H5T_NATIVE_INT64},
      {"plan_id", HOFFSET(PipelineFaultRow, plan_id), H5T_NATIVE_INT64},
      {"fault_s", HOFFSET(PipelineFaultRow, fault_s), H5T_NATIVE_DOUBLE},
      {"detected_s", HOFFSET(PipelineFaultRow, detected_s), H5T_NATIVE_DOUBLE},
      {"recovered_s", HOFFSET(PipelineFaultRow, recovered_s), H5T_NATIVE_DOUBLE},
      {"resumed_s", HOFFSET(PipelineFaultRow, resumed_s), H5T_NATIVE_DOUBLE},
      {"redone", HOFFSET(PipelineFaultRow, redone), H5T_NATIVE_INT64},
      {"moved_bytes", HOFFSET(PipelineFaultRow, moved_bytes), H5T_NATIVE_INT64},
      {"recovery", HOFFSET(PipelineFaultRow, recovery), kind_str.get()}};
  pipe_fault_type = Handle(id(H5Tcreate(H5T_COMPOUND, sizeof(PipelineFaultRow)), "H5Tcreate", "/pipeline_faults"),
                           H5Tclose);
  for (const auto& c : fault_cols) ok(H5Tinsert(pipe_fault_type.get(), c.name, c.offset, c.type), "H5Tinsert", "/pipeline_faults");
  pipe_fault_ds = create_table("pipeline_faults", pipe_fault_type.get(), kRoundChunkRows);
}

void ResultsWriter::Impl::write_status(const char* text) {
  char buf[kStatusBytes] = {};
  std::memcpy(buf, text, std::min(std::strlen(text), sizeof buf));
  ok(H5Dwrite(status_ds.get(), status_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf),
     "H5Dwrite", "/status");
}

void ResultsWriter::Impl::flush() {
  ok(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "H5Fflush", "the file");
}

ResultsWriter::ResultsWriter(const std::string& path, bool overwrite, const RunMetadata& meta,
                             const std::vector<DeviceRecord>& devices, int num_classes, bool pipeline_tables)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;

  // Everything about an existing file is decided before anything can modify it.
  std::error_code ec;
  const fs::path p(path);
  const bool exists = fs::exists(fs::symlink_status(p, ec));
  if (exists && !overwrite)
    throw InputError("results file " + path + " already exists; pass --overwrite to replace it");
  if (exists && fs::is_directory(fs::status(p, ec)))
    throw InputError("results file " + path + " is a directory");
  if (p.has_parent_path()) {
    fs::create_directories(p.parent_path(), ec);
    if (ec)
      throw InputError("cannot create the directory of results file " + path + ": " +
                       ec.message());
  }
  // Replace by unlinking rather than truncating: a reader that still has the old run open
  // keeps a consistent file, and its lock on the old inode cannot block us.
  if (exists && !fs::remove(p, ec))
    throw InputError("cannot replace results file " + path + ": " + ec.message());

  // Every failure becomes an exception carrying HDF5's own message, so HDF5's automatic
  // stack dump to stderr would only duplicate it. The destructor restores the handler.
  H5Eget_auto2(H5E_DEFAULT, &impl_->saved_err_func, &impl_->saved_err_data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);

  bool created = false;
  try {
    impl_->create_file();
    created = true;
    impl_->write_root_attributes(meta);
    impl_->write_devices(devices, num_classes);
    impl_->create_status();
    impl_->create_tables();
    if (pipeline_tables) impl_->create_pipeline_tables();
    impl_->final_model_ds = impl_->create_table("final_model", H5T_IEEE_F32LE, kFinalModelChunkFloats);
    // From here on the file on disk is always consistent: readers may open it with SWMR
    // read access while we run, and after a crash it holds everything up to the last flush.
    impl_->ok(H5Fstart_swmr_write(impl_->file.get()), "H5Fstart_swmr_write", "the file");
  } catch (...) {
    const H5E_auto2_t func = impl_->saved_err_func;
    void* data = impl_->saved_err_data;
    impl_.reset();
    // The half-written file is ours (created with EXCL) and useless; a rerun should not
    // have to --overwrite it.
    if (created) fs::remove(p, ec);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    throw;
  }
}

ResultsWriter::~ResultsWriter() {
  const H5E_auto2_t func = impl_->saved_err_func;
  void* data = impl_->saved_err_data;
  impl_.reset();  // closes the datasets, then the file, which clears its SWMR-writer mark
  H5Eset_auto2(H5E_DEFAULT, func, data);
}

void ResultsWriter::append_tasks(const std::vector<TaskRecord>& tasks) {
  if (tasks.empty()) return;
  std::vector<TaskRow> rows(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const TaskRecord& t = tasks[i];
    rows[i] = TaskRow{t.device,     t.round,    t.start_s,      t.end_s,
                      t.compute_s,  t.comm_s,   t.download_s,   t.upload_s,
                      t.memory_bytes, t.peak_memory_bytes, t.samples, t.staleness, t.rate, {}, t.flops};
    std::strncpy(rows[i].status, to_string(t.status), sizeof rows[i].status);
  }
  impl_->append(impl_->tasks_ds.get(), impl_->task_type.get(), impl_->num_tasks, rows.data(),
                rows.size(), "/tasks");
}

void ResultsWriter::append_width_evals(const std::vector<WidthEvalRecord>& evals) {
  impl_->append(impl_->width_ds.get(), impl_->width_type.get(), impl_->num_width_evals, evals.data(), evals.size(),
                "/width_eval");
}

void ResultsWriter::append_pipeline(const PipelineIterationRecord& iteration,
                                    const std::vector<PipelineOpRecordRow>& ops,
                                    const std::vector<PipelineMemoryRecord>& memory) {
  if (impl_->pipe_iter_ds.get() < 0) throw std::logic_error("ResultsWriter: no pipeline tables in this file");
  impl_->append(impl_->pipe_iter_ds.get(), impl_->pipe_iter_type.get(), impl_->num_pipe_iters, &iteration, 1,
                "/pipeline_iterations");
  std::vector<PipelineOpRow> rows(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const PipelineOpRecordRow& o = ops[i];
    rows[i] = PipelineOpRow{o.iteration, o.device, o.stage, o.micro_batch, o.start_s, o.end_s, {}};
    std::memcpy(rows[i].kind, o.kind.data(), std::min(o.kind.size(), sizeof rows[i].kind));
  }
  impl_->append(impl_->pipe_op_ds.get(), impl_->pipe_op_type.get(), impl_->num_pipe_ops, rows.data(), rows.size(),
                "/pipeline_ops");
  if (!memory.empty())
    impl_->append(impl_->pipe_mem_ds.get(), impl_->pipe_mem_type.get(), impl_->num_pipe_mem, memory.data(), memory.size(),
                  "/pipeline_memory");
}

void ResultsWriter::append_pipeline_faults(const std::vector<PipelineFaultRecord>& faults) {
  if (impl_->pipe_fault_ds.get() < 0) throw std::logic_error("ResultsWriter: no pipeline tables in this file");
  if (faults.empty()) return;
  std::vector<PipelineFaultRow> rows(faults.size());
  for (std::size_t i = 0; i < faults.size(); ++i) {
    const PipelineFaultRecord& f = faults[i];
    rows[i] = PipelineFaultRow{f.iteration, f.device,    f.leave,  f.plan_id,       f.fault_s, f.detected_s,
                               f.recovered_s, f.resumed_s, f.redone, f.moved_bytes, {}};
    std::memcpy(rows[i].recovery, f.recovery.data(), std::min(f.recovery.size(), sizeof rows[i].recovery));
  }
  impl_->append(impl_->pipe_fault_ds.get(), impl_->pipe_fault_type.get(), impl_->num_pipe_faults, rows.data(),
                rows.size(), "/pipeline_faults");
}

void ResultsWriter::append_transfers(const std::vector<TransferRecord>& transfers) {
  if (transfers.empty()) return;
  std::vector<TransferRow> rows(transfers.size());
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const TransferRecord& t = transfers[i];
    rows[i] = TransferRow{t.round, t.source, t.destination, t.bytes, t.start_s, t.end_s, {}};
    std::strncpy(rows[i].kind, to_string(t.kind), sizeof rows[i].kind);
  }
  impl_->append(impl_->transfers_ds.get(), impl_->transfer_type.get(), impl_->num_transfers,
                rows.data(), rows.size(), "/transfers");
}

void ResultsWriter::append_round(const RoundRecord& round) {
  impl_->append(impl_->rounds_ds.get(), impl_->round_type.get(), impl_->num_rounds, &round, 1,
                "/rounds");
  impl_->flush();
}

void ResultsWriter::set_warnings(const std::vector<std::string>& warnings) {
  std::string text;
  for (const auto& w : warnings) text += (text.empty() ? "" : "\n") + w;
  impl_->rewrite_string_attr("warnings", text);
  impl_->flush();
}

void ResultsWriter::set_ended_by(const std::string& reason) {
  impl_->rewrite_string_attr("ended_by", reason);
  impl_->flush();
}

void ResultsWriter::set_resource_utilisation(double utilisation) {
  impl_->write_double_attr("resource_utilisation", utilisation, false);
  impl_->flush();
}

void ResultsWriter::set_coordinator_peak_rss(double bytes) {
  impl_->write_double_attr("coordinator_peak_rss_bytes", bytes, false);
  impl_->flush();
}

void ResultsWriter::write_final_model(const std::vector<float>& weights) {
  if (impl_->final_model_floats > 0) throw std::logic_error("ResultsWriter: the final model is written once");
  impl_->append(impl_->final_model_ds.get(), H5T_NATIVE_FLOAT, impl_->final_model_floats, weights.data(),
                weights.size(), "/final_model");
  impl_->flush();
}

void ResultsWriter::mark_complete() {
  impl_->write_status("complete");
  impl_->flush();
}

namespace {

// Opens for reading whether or not a writer is (or was, until it crashed) attached.
Handle open_for_reading(const std::string& path) {
  H5E_auto2_t func;
  void* data;
  H5Eget_auto2(H5E_DEFAULT, &func, &data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::error_code ec;
  const hid_t f = fs::is_regular_file(path, ec) ? H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT) : -1;
  H5Eset_auto2(H5E_DEFAULT, func, data);
  if (f < 0) return Handle();
  return Handle(f, H5Fclose);
}

std::string read_status(hid_t file, const std::string& path) {
  Handle ds(check_id(H5Dopen2(file, "status", H5P_DEFAULT), "H5Dopen2", path, "/status"), H5Dclose);
  Handle type = string_type(kStatusBytes, path);
  char buf[kStatusBytes + 1] = {};
  check(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), "H5Dread", path, "/status");
  return buf;
}

template <class Row>
std::vector<Row> read_table(hid_t file, const char* name, hid_t type, const std::string& path) {
  const std::string what = std::string("/") + name;
  Handle ds(check_id(H5Dopen2(file, name, H5P_DEFAULT), "H5Dopen2", path, what), H5Dclose);
  Handle space(check_id(H5Dget_space(ds.get()), "H5Dget_space", path, what), H5Sclose);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  std::vector<Row> rows(n);
  if (n) check(H5Dread(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()), "H5Dread", path, what);
  return rows;
}

TaskStatus status_from_text(const std::string& text) {
  for (TaskStatus s : {TaskStatus::kOk, TaskStatus::kOom, TaskStatus::kDropped})
    if (text == to_string(s)) return s;
  throw std::runtime_error("unknown task status '" + text + "'");
}

TransferKind kind_from_text(const std::string& text) {
  for (TransferKind k : {TransferKind::kDownload, TransferKind::kUpload, TransferKind::kAssembly})
    if (text == to_string(k)) return k;
  throw std::runtime_error("unknown transfer kind '" + text + "'");
}

}  // namespace

ResultsTables read_results(const std::string& path) {
  Handle file = open_for_reading(path);
  if (file.get() < 0) throw InputError("cannot read results file " + path + ": missing or not HDF5");
  const TableTypes types = table_types(path);
  ResultsTables t;
  t.status = read_status(file.get(), path);
  t.rounds = read_table<RoundRecord>(file.get(), "rounds", types.round_type.get(), path);
  for (const TaskRow& r : read_table<TaskRow>(file.get(), "tasks", types.task_type.get(), path)) {
    const std::string status(r.status, strnlen(r.status, sizeof r.status));
    t.tasks.push_back({r.device, r.round, r.start_s, r.end_s, r.compute_s, r.comm_s, r.download_s,
                       r.upload_s, r.memory_bytes, r.samples, status_from_text(status), r.peak_memory_bytes,
                       r.staleness, r.rate, r.flops});
  }
  // Files written before /width_eval existed have none.
  if (H5Lexists(file.get(), "width_eval", H5P_DEFAULT) > 0)
    t.width_evals = read_table<WidthEvalRecord>(file.get(), "width_eval", types.width_type.get(), path);
  // Nor before /transfers existed.
  if (H5Lexists(file.get(), "transfers", H5P_DEFAULT) > 0)
    for (const TransferRow& r : read_table<TransferRow>(file.get(), "transfers", types.transfer_type.get(), path)) {
      const std::string kind(r.kind, strnlen(r.kind, sizeof r.kind));
      t.transfers.push_back({r.round, r.source, r.destination, r.bytes, r.start_s, r.end_s, kind_from_text(kind)});
    }
  return t;
}

namespace {
std::string read_string_attr(hid_t file, const char* name, const std::string& path) {
  const std::string what = std::string("root attribute ") + name;
  if (H5Aexists(file, name) <= 0) return "";
  Handle attr(check_id(H5Aopen(file, name, H5P_DEFAULT), "H5Aopen", path, what), H5Aclose);
  Handle type = string_type(0, path);
  char* text = nullptr;
  check(H5Aread(attr.get(), type.get(), &text), "H5Aread", path, what);
  std::string out = text ? text : "";
  if (text) H5free_memory(text);
  return out;
}
}  // namespace

FinalModel read_final_model(const std::string& path) {
  Handle file = open_for_reading(path);
  if (file.get() < 0) throw InputError("cannot read results file " + path + ": missing or not HDF5");
  FinalModel m;
  if (H5Lexists(file.get(), "final_model", H5P_DEFAULT) > 0) {
    Handle ds(check_id(H5Dopen2(file.get(), "final_model", H5P_DEFAULT), "H5Dopen2", path, "/final_model"), H5Dclose);
    Handle space(check_id(H5Dget_space(ds.get()), "H5Dget_space", path, "/final_model"), H5Sclose);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    m.weights.resize(n);
    if (n)
      check(H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.weights.data()), "H5Dread", path,
            "/final_model");
  }
  if (m.weights.empty())
    throw InputError("results file " + path + " holds no final model (/final_model): its run did not complete, or "
                     "was written by an edgesim before /final_model existed");
  m.model_tensors = read_string_attr(file.get(), "model_tensors", path);
  return m;
}

std::string results_status(const std::string& path) {
  Handle file = open_for_reading(path);
  if (file.get() < 0) return "";
  try {
    return read_status(file.get(), path);
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace edgesim
