// ResultsWriter, checked by reading the files back with the plain HDF5 C API (what h5py
// sees), including a writer process that is SIGKILLed mid-run.
#include <catch2/catch.hpp>
#include <hdf5.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/io/results.hpp"

namespace fs = std::filesystem;
using namespace edgesim;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "edgesim-results-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

RunMetadata metadata() {
  RunMetadata m;
  m.config_toml = "[run]\nname = \"unit test\"\nseed = 7\n";
  m.seed = 0xFEDCBA9876543210ULL;  // above INT64_MAX, so a signed attribute would show
  m.edgesim_version = "0.1.0";
  m.git_commit = "abcdef123456";
  m.libtorch_version = "2.1.0";
  m.mpi_version = "Open MPI v4.1.4";
  m.host = "testhost";
  m.start_time = "2024-01-02T03:04:05Z";
  return m;
}

std::vector<DeviceRecord> devices() {
  std::vector<DeviceRecord> d(2);
  d[0].device = 0;
  d[0].profile = "raspberrypi-4b";
  d[0].slowdown = 8.5;
  d[0].memory_cap_bytes = 4LL << 30;
  d[0].uplink_mbps = 10;
  d[0].downlink_mbps = 50;
  d[0].latency_s = 0.02;
  d[0].samples = 600;
  d[0].label_histogram = {100, 200, 300};
  d[1].device = 1;
  d[1].profile = "a-profile-name-longer-than-thirty-two-bytes";
  d[1].slowdown = 1.0;
  d[1].memory_cap_bytes = 8LL << 30;
  d[1].uplink_mbps = 100;
  d[1].downlink_mbps = 200;
  d[1].latency_s = 0.005;
  d[1].samples = 60;
  d[1].label_histogram = {0, 60, 0};
  return d;
}

RoundRecord round_record(std::int64_t r) {
  RoundRecord rec;
  rec.round = r;
  rec.virtual_time_s = 10.0 * (r + 1);
  rec.wall_time_s = 0.5 * r;
  rec.test_accuracy = r % 2 ? NAN : 0.1 * r;
  rec.test_loss = r % 2 ? NAN : 2.0 - 0.1 * r;
  rec.train_loss = 1.5 - 0.1 * r;
  rec.participants = 2;
  rec.dropped = r % 2;
  rec.bytes_up = 1000 * r;
  rec.bytes_down = 2000 * r;
  return rec;
}

TaskRecord task_record(std::int64_t device, std::int64_t r, TaskStatus status) {
  TaskRecord t;
  t.device = device;
  t.round = r;
  t.start_s = 10.0 * r;
  t.download_s = 0.25 + device;
  t.upload_s = 0.75;
  t.comm_s = t.download_s + t.upload_s;
  t.compute_s = 3.0;
  t.end_s = t.start_s + t.comm_s + t.compute_s;
  t.memory_bytes = 123456789;
  t.peak_memory_bytes = 98765432 + device;
  t.staleness = 3 * device + r;
  t.rate = 1.0 / (device + 1);
  t.flops = 6.5e9 * (device + 1) + r;
  t.samples = 32 * (device + 1);
  t.status = status;
  return t;
}

// Round r's traffic: a download and an upload with device 0, a peer-to-peer transfer and
// an assembly to the server, with times that differ per row.
std::vector<TransferRecord> transfer_records(std::int64_t r) {
  auto rec = [r](std::int64_t src, std::int64_t dst, std::int64_t bytes, double start, double end,
                 TransferKind kind) {
    TransferRecord t;
    t.round = r;
    t.source = src;
    t.destination = dst;
    t.bytes = bytes;
    t.start_s = start;
    t.end_s = end;
    t.kind = kind;
    return t;
  };
  const double t0 = 10.0 * r;
  return {rec(-1, 0, 4812345 + r, t0, t0 + 0.125, TransferKind::kDownload),
          rec(0, -1, 1234567, t0 + 3.5, t0 + 3.75, TransferKind::kUpload),
          rec(1, 0, 777, t0 + 1.0 / 3.0, t0 + 0.5, TransferKind::kAssembly),
          rec(0, -1, 0, t0 + 4.0, t0 + 4.0, TransferKind::kAssembly)};
}

void check_same(const std::vector<TransferRecord>& got, const std::vector<TransferRecord>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].round == want[i].round);
    CHECK(got[i].source == want[i].source);
    CHECK(got[i].destination == want[i].destination);
    CHECK(got[i].bytes == want[i].bytes);
    CHECK(got[i].start_s == want[i].start_s);
    CHECK(got[i].end_s == want[i].end_s);
    CHECK(got[i].kind == want[i].kind);
  }
}

// --- Reading back with the C API ------------------------------------------------------

// Read-only with SWMR read access: the only way HDF5 1.10 opens a file whose writer is
// still running or was killed (its superblock still says "open for SWMR write").
hid_t open_swmr_read(const fs::path& p) {
  hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
  REQUIRE(f >= 0);
  return f;
}

std::string string_attr(hid_t file, const char* name) {
  hid_t attr = H5Aopen(file, name, H5P_DEFAULT);
  REQUIRE(attr >= 0);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  char* text = nullptr;
  REQUIRE(H5Aread(attr, type, &text) >= 0);
  std::string out = text ? text : "";
  H5free_memory(text);
  H5Tclose(type);
  H5Aclose(attr);
  return out;
}

std::string string_dataset(hid_t file, const char* name, std::size_t bytes) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  REQUIRE(ds >= 0);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, bytes);
  H5Tset_cset(type, H5T_CSET_UTF8);
  std::vector<char> buf(bytes + 1, '\0');
  REQUIRE(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) >= 0);
  H5Tclose(type);
  H5Dclose(ds);
  return buf.data();
}

hsize_t num_rows(hid_t file, const char* name) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  REQUIRE(ds >= 0);
  hid_t space = H5Dget_space(ds);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space, &n, nullptr);
  H5Sclose(space);
  H5Dclose(ds);
  return n;
}

std::vector<std::string> column_names(hid_t file, const char* name) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  REQUIRE(ds >= 0);
  hid_t type = H5Dget_type(ds);
  std::vector<std::string> names;
  for (int i = 0; i < H5Tget_nmembers(type); ++i) {
    char* n = H5Tget_member_name(type, static_cast<unsigned>(i));
    names.emplace_back(n);
    H5free_memory(n);
  }
  H5Tclose(type);
  H5Dclose(ds);
  return names;
}

// Reads a whole compound table with a memory type whose members HDF5 matches to the
// file's by name, so a renamed column fails the read.
template <typename Row>
std::vector<Row> read_table(hid_t file, const char* name, hid_t mem_type) {
  std::vector<Row> rows(num_rows(file, name));
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  REQUIRE(ds >= 0);
  if (!rows.empty())
    REQUIRE(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) >= 0);
  H5Dclose(ds);
  return rows;
}

hid_t round_mem_type() {
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(RoundRecord));
  H5Tinsert(t, "round", HOFFSET(RoundRecord, round), H5T_NATIVE_INT64);
  H5Tinsert(t, "virtual_time_s", HOFFSET(RoundRecord, virtual_time_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "wall_time_s", HOFFSET(RoundRecord, wall_time_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "test_accuracy", HOFFSET(RoundRecord, test_accuracy), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "test_loss", HOFFSET(RoundRecord, test_loss), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "train_loss", HOFFSET(RoundRecord, train_loss), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "participants", HOFFSET(RoundRecord, participants), H5T_NATIVE_INT64);
  H5Tinsert(t, "dropped", HOFFSET(RoundRecord, dropped), H5T_NATIVE_INT64);
  H5Tinsert(t, "bytes_up", HOFFSET(RoundRecord, bytes_up), H5T_NATIVE_INT64);
  H5Tinsert(t, "bytes_down", HOFFSET(RoundRecord, bytes_down), H5T_NATIVE_INT64);
  H5Tinsert(t, "aggregation_wall_s", HOFFSET(RoundRecord, aggregation_wall_s), H5T_NATIVE_DOUBLE);
  return t;
}

struct TaskRow {
  std::int64_t device, round;
  double start_s, end_s, compute_s, comm_s, download_s, upload_s;
  std::int64_t memory_bytes, peak_memory_bytes, samples, staleness;
  double rate;
  char status[9];  // one more than the file's 8 so the longest status stays terminated
  double flops;
};

hid_t task_mem_type() {
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, sizeof(TaskRow::status));
  H5Tset_cset(str, H5T_CSET_UTF8);
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(TaskRow));
  H5Tinsert(t, "device", HOFFSET(TaskRow, device), H5T_NATIVE_INT64);
  H5Tinsert(t, "round", HOFFSET(TaskRow, round), H5T_NATIVE_INT64);
  H5Tinsert(t, "start_s", HOFFSET(TaskRow, start_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "end_s", HOFFSET(TaskRow, end_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "compute_s", HOFFSET(TaskRow, compute_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "comm_s", HOFFSET(TaskRow, comm_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "download_s", HOFFSET(TaskRow, download_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "upload_s", HOFFSET(TaskRow, upload_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "memory_bytes", HOFFSET(TaskRow, memory_bytes), H5T_NATIVE_INT64);
  H5Tinsert(t, "peak_memory_bytes", HOFFSET(TaskRow, peak_memory_bytes), H5T_NATIVE_INT64);
  H5Tinsert(t, "samples", HOFFSET(TaskRow, samples), H5T_NATIVE_INT64);
  H5Tinsert(t, "status", HOFFSET(TaskRow, status), str);
  H5Tinsert(t, "staleness", HOFFSET(TaskRow, staleness), H5T_NATIVE_INT64);
  H5Tinsert(t, "rate", HOFFSET(TaskRow, rate), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "flops", HOFFSET(TaskRow, flops), H5T_NATIVE_DOUBLE);
  H5Tclose(str);
  return t;
}

struct TransferRow {
  std::int64_t round, source, destination, bytes;
  double start_s, end_s;
  char kind[17];  // one more than the file's 16
};

hid_t transfer_mem_type() {
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, sizeof(TransferRow::kind));
  H5Tset_cset(str, H5T_CSET_UTF8);
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(TransferRow));
  H5Tinsert(t, "round", HOFFSET(TransferRow, round), H5T_NATIVE_INT64);
  H5Tinsert(t, "source", HOFFSET(TransferRow, source), H5T_NATIVE_INT64);
  H5Tinsert(t, "destination", HOFFSET(TransferRow, destination), H5T_NATIVE_INT64);
  H5Tinsert(t, "bytes", HOFFSET(TransferRow, bytes), H5T_NATIVE_INT64);
  H5Tinsert(t, "start_s", HOFFSET(TransferRow, start_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "end_s", HOFFSET(TransferRow, end_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "kind", HOFFSET(TransferRow, kind), str);
  H5Tclose(str);
  return t;
}

struct DeviceRow {
  std::int64_t device;
  char profile[65];
  double slowdown;
  std::int64_t memory_cap_bytes;
  double uplink_mbps, downlink_mbps, latency_s;
  std::int64_t samples;
};

hid_t device_mem_type() {
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, sizeof(DeviceRow::profile));
  H5Tset_cset(str, H5T_CSET_UTF8);
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(DeviceRow));
  H5Tinsert(t, "device", HOFFSET(DeviceRow, device), H5T_NATIVE_INT64);
  H5Tinsert(t, "profile", HOFFSET(DeviceRow, profile), str);
  H5Tinsert(t, "slowdown", HOFFSET(DeviceRow, slowdown), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "memory_cap_bytes", HOFFSET(DeviceRow, memory_cap_bytes), H5T_NATIVE_INT64);
  H5Tinsert(t, "uplink_mbps", HOFFSET(DeviceRow, uplink_mbps), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "downlink_mbps", HOFFSET(DeviceRow, downlink_mbps), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "latency_s", HOFFSET(DeviceRow, latency_s), H5T_NATIVE_DOUBLE);
  H5Tinsert(t, "samples", HOFFSET(DeviceRow, samples), H5T_NATIVE_INT64);
  H5Tclose(str);
  return t;
}

std::vector<RoundRecord> read_rounds(hid_t file) {
  hid_t t = round_mem_type();
  auto rows = read_table<RoundRecord>(file, "rounds", t);
  H5Tclose(t);
  return rows;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("TaskStatus names", "[results]") {
  CHECK(std::string(to_string(TaskStatus::kOk)) == "ok");
  CHECK(std::string(to_string(TaskStatus::kOom)) == "oom");
  CHECK(std::string(to_string(TaskStatus::kDropped)) == "dropped");
}

TEST_CASE("TransferKind names", "[results]") {
  CHECK(std::string(to_string(TransferKind::kDownload)) == "download");
  CHECK(std::string(to_string(TransferKind::kUpload)) == "upload");
  CHECK(std::string(to_string(TransferKind::kAssembly)) == "assembly");
}

TEST_CASE("ResultsWriter writes attributes, devices, rounds and tasks", "[results]") {
  TempDir tmp;
  const fs::path path = tmp.path / "nested" / "dir" / "run.h5";  // parents do not exist yet
  {
    ResultsWriter w(path.string(), false, metadata(), devices(), 3);
    w.append_tasks({});  // a round where nobody trained
    w.append_round(round_record(0));
    w.append_tasks({task_record(0, 1, TaskStatus::kOk), task_record(1, 1, TaskStatus::kOom)});
    w.append_round(round_record(1));
    w.append_tasks({task_record(0, 2, TaskStatus::kDropped)});
    w.append_round(round_record(2));
    w.mark_complete();
  }
  REQUIRE(fs::exists(path));
  // A cleanly closed file needs no SWMR flag to open.
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);

  SECTION("root attributes") {
    const RunMetadata m = metadata();
    CHECK(string_attr(f, "config") == m.config_toml);
    CHECK(string_attr(f, "edgesim_version") == m.edgesim_version);
    CHECK(string_attr(f, "git_commit") == m.git_commit);
    CHECK(string_attr(f, "libtorch_version") == m.libtorch_version);
    CHECK(string_attr(f, "mpi_version") == m.mpi_version);
    CHECK(string_attr(f, "host") == m.host);
    CHECK(string_attr(f, "start_time") == m.start_time);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    CHECK(string_attr(f, "hdf5_version") ==
          std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel));

    hid_t attr = H5Aopen(f, "seed", H5P_DEFAULT);
    REQUIRE(attr >= 0);
    hid_t type = H5Aget_type(attr);
    CHECK(H5Tget_class(type) == H5T_INTEGER);
    CHECK(H5Tget_sign(type) == H5T_SGN_NONE);
    CHECK(H5Tget_size(type) == 8);
    std::uint64_t seed = 0;
    REQUIRE(H5Aread(attr, H5T_NATIVE_UINT64, &seed) >= 0);
    CHECK(seed == m.seed);
    H5Tclose(type);
    H5Aclose(attr);
  }

  SECTION("status") { CHECK(string_dataset(f, "status", 16) == "complete"); }

  SECTION("devices and label histogram") {
    CHECK(column_names(f, "devices") ==
          std::vector<std::string>{"device", "profile", "slowdown", "memory_cap_bytes",
                                   "uplink_mbps", "downlink_mbps", "latency_s", "samples"});
    hid_t t = device_mem_type();
    auto rows = read_table<DeviceRow>(f, "devices", t);
    H5Tclose(t);
    const auto expected = devices();
    REQUIRE(rows.size() == expected.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CHECK(rows[i].device == expected[i].device);
      CHECK(std::string(rows[i].profile) == expected[i].profile);  // long names not cut
      CHECK(rows[i].slowdown == expected[i].slowdown);
      CHECK(rows[i].memory_cap_bytes == expected[i].memory_cap_bytes);
      CHECK(rows[i].uplink_mbps == expected[i].uplink_mbps);
      CHECK(rows[i].downlink_mbps == expected[i].downlink_mbps);
      CHECK(rows[i].latency_s == expected[i].latency_s);
      CHECK(rows[i].samples == expected[i].samples);
    }

    hid_t ds = H5Dopen2(f, "label_histogram", H5P_DEFAULT);
    REQUIRE(ds >= 0);
    hid_t space = H5Dget_space(ds);
    REQUIRE(H5Sget_simple_extent_ndims(space) == 2);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(space, dims, nullptr);
    CHECK(dims[0] == 2);
    CHECK(dims[1] == 3);
    std::vector<std::int64_t> hist(6);
    REQUIRE(H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, hist.data()) >= 0);
    CHECK(hist == std::vector<std::int64_t>{100, 200, 300, 0, 60, 0});
    H5Sclose(space);
    H5Dclose(ds);
  }

  SECTION("rounds") {
    CHECK(column_names(f, "rounds") ==
          std::vector<std::string>{"round", "virtual_time_s", "wall_time_s", "test_accuracy",
                                   "test_loss", "train_loss", "participants", "dropped",
                                   "bytes_up", "bytes_down", "aggregation_wall_s"});
    auto rows = read_rounds(f);
    REQUIRE(rows.size() == 3);
    for (std::int64_t r = 0; r < 3; ++r) {
      const RoundRecord want = round_record(r);
      const RoundRecord& got = rows[static_cast<std::size_t>(r)];
      CHECK(got.round == want.round);
      CHECK(got.virtual_time_s == want.virtual_time_s);
      CHECK(got.wall_time_s == want.wall_time_s);
      if (std::isnan(want.test_accuracy)) {
        CHECK(std::isnan(got.test_accuracy));
        CHECK(std::isnan(got.test_loss));
      } else {
        CHECK(got.test_accuracy == want.test_accuracy);
        CHECK(got.test_loss == want.test_loss);
      }
      CHECK(got.train_loss == want.train_loss);
      CHECK(got.participants == want.participants);
      CHECK(got.dropped == want.dropped);
      CHECK(got.bytes_up == want.bytes_up);
      CHECK(got.bytes_down == want.bytes_down);
    }
  }

  SECTION("tasks") {
    CHECK(column_names(f, "tasks") ==
          std::vector<std::string>{"device", "round", "start_s", "end_s", "compute_s", "comm_s",
                                   "download_s", "upload_s", "memory_bytes", "peak_memory_bytes", "samples", "status", "staleness", "rate", "flops"});
    hid_t t = task_mem_type();
    auto rows = read_table<TaskRow>(f, "tasks", t);
    H5Tclose(t);
    const std::vector<TaskRecord> want = {task_record(0, 1, TaskStatus::kOk),
                                          task_record(1, 1, TaskStatus::kOom),
                                          task_record(0, 2, TaskStatus::kDropped)};
    REQUIRE(rows.size() == want.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CHECK(rows[i].device == want[i].device);
      CHECK(rows[i].round == want[i].round);
      CHECK(rows[i].start_s == want[i].start_s);
      CHECK(rows[i].end_s == want[i].end_s);
      CHECK(rows[i].compute_s == want[i].compute_s);
      CHECK(rows[i].comm_s == want[i].comm_s);
      CHECK(rows[i].download_s == want[i].download_s);
      CHECK(rows[i].upload_s == want[i].upload_s);
      CHECK(rows[i].memory_bytes == want[i].memory_bytes);
      CHECK(rows[i].peak_memory_bytes == want[i].peak_memory_bytes);
      CHECK(rows[i].staleness == want[i].staleness);
      CHECK(rows[i].rate == want[i].rate);
      CHECK(rows[i].flops == want[i].flops);
      CHECK(rows[i].samples == want[i].samples);
      CHECK(std::string(rows[i].status) == to_string(want[i].status));
    }
  }

  H5Fclose(f);
}

TEST_CASE("ResultsWriter leaves status 'running' without mark_complete", "[results]") {
  TempDir tmp;
  const fs::path path = tmp.path / "run.h5";
  { ResultsWriter w(path.string(), false, metadata(), {}, 0); }  // no devices, no rounds
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(string_dataset(f, "status", 16) == "running");
  CHECK(num_rows(f, "devices") == 0);
  CHECK(num_rows(f, "rounds") == 0);
  CHECK(num_rows(f, "tasks") == 0);
  CHECK(num_rows(f, "transfers") == 0);  // created with the file, like /tasks
  H5Fclose(f);
  CHECK(read_results(path.string()).transfers.empty());
}

TEST_CASE("ResultsWriter writes /transfers and read_results reads them back", "[results]") {
  TempDir tmp;
  const fs::path path = tmp.path / "run.h5";
  std::vector<TransferRecord> want;
  {
    ResultsWriter w(path.string(), false, metadata(), devices(), 3);
    for (std::int64_t r = 1; r <= 2; ++r) {
      w.append_tasks({task_record(0, r, TaskStatus::kOk)});
      w.append_transfers(transfer_records(r));
      w.append_transfers({});  // nothing to add
      w.append_round(round_record(r));
      for (const auto& t : transfer_records(r)) want.push_back(t);
    }
    w.mark_complete();
  }
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(column_names(f, "transfers") ==
        std::vector<std::string>{"round", "source", "destination", "bytes", "start_s", "end_s", "kind"});
  // What h5py sees: the kind as text, the server as -1.
  hid_t t = transfer_mem_type();
  const auto rows = read_table<TransferRow>(f, "transfers", t);
  H5Tclose(t);
  REQUIRE(rows.size() == want.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CHECK(rows[i].round == want[i].round);
    CHECK(rows[i].source == want[i].source);
    CHECK(rows[i].destination == want[i].destination);
    CHECK(rows[i].bytes == want[i].bytes);
    CHECK(rows[i].start_s == want[i].start_s);
    CHECK(rows[i].end_s == want[i].end_s);
    CHECK(std::string(rows[i].kind) == to_string(want[i].kind));
  }
  H5Fclose(f);

  const ResultsTables back = read_results(path.string());
  CHECK(back.status == "complete");
  CHECK(back.rounds.size() == 2);
  CHECK(back.tasks.size() == 2);
  check_same(back.transfers, want);
}

TEST_CASE("ResultsWriter refuses an existing file unless told to overwrite", "[results]") {
  TempDir tmp;
  const fs::path path = tmp.path / "run.h5";
  {
    std::ofstream out(path, std::ios::binary);
    out << "precious results from yesterday";
  }
  // Backdate, so that any rewrite would show even within the filesystem's time resolution.
  const auto old_time = fs::last_write_time(path) - std::chrono::hours(24);
  fs::last_write_time(path, old_time);
  const std::string old_bytes = file_bytes(path);

  try {
    ResultsWriter w(path.string(), false, metadata(), devices(), 3);
    FAIL("expected InputError");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    CHECK(msg.find(path.string()) != std::string::npos);
    CHECK(msg.find("--overwrite") != std::string::npos);
  }
  CHECK(file_bytes(path) == old_bytes);
  CHECK(fs::last_write_time(path) == old_time);

  {
    ResultsWriter w(path.string(), true, metadata(), devices(), 3);
    w.append_round(round_record(0));
  }
  CHECK(H5Fis_hdf5(path.c_str()) > 0);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(num_rows(f, "rounds") == 1);
  H5Fclose(f);
}

TEST_CASE("ResultsWriter reports an uncreatable path as InputError", "[results]") {
  TempDir tmp;
  const fs::path blocker = tmp.path / "not-a-dir";
  std::ofstream(blocker) << "x";
  const fs::path path = blocker / "run.h5";
  try {
    ResultsWriter w(path.string(), false, metadata(), devices(), 3);
    FAIL("expected InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
  }
}

TEST_CASE("ResultsWriter rejects a label histogram of the wrong width", "[results]") {
  TempDir tmp;
  const fs::path path = tmp.path / "run.h5";
  CHECK_THROWS_AS(ResultsWriter(path.string(), false, metadata(), devices(), 4),
                  std::invalid_argument);
  CHECK_FALSE(fs::exists(path));  // the half-written file is not left behind
}

TEST_CASE("A killed run leaves a readable file up to its last round", "[results]") {
  TempDir tmp;
  const fs::path path = tmp.path / "run.h5";
  constexpr int kRounds = 3;

  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Child: no Catch2 here, and _exit so that nothing of the parent's state is flushed.
    close(ready[0]);
    try {
      ResultsWriter w(path.string(), false, metadata(), devices(), 3);
      for (int r = 0; r < kRounds; ++r) {
        w.append_tasks({task_record(0, r, TaskStatus::kOk), task_record(1, r, TaskStatus::kOk)});
        w.append_transfers(transfer_records(r));
        w.append_round(round_record(r));
      }
      // Tasks and transfers of a round that never finished: not flushed yet, so they may or
      // may not survive, but they must not corrupt anything.
      w.append_tasks({task_record(0, kRounds, TaskStatus::kOk)});
      w.append_transfers(transfer_records(kRounds));
      const char go = 'x';
      if (write(ready[1], &go, 1) != 1) _exit(3);
      for (;;) pause();  // the parent kills us mid-run
    } catch (...) {
      _exit(2);
    }
  }
  close(ready[1]);
  char go = 0;
  const bool child_ready = read(ready[0], &go, 1) == 1;
  close(ready[0]);

  if (child_ready) {
    // A reader can follow the run while the writer is alive.
    hid_t f = open_swmr_read(path);
    CHECK(read_rounds(f).size() == kRounds);
    CHECK(string_dataset(f, "status", 16) == "running");
    H5Fclose(f);
  }

  kill(child, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(child_ready);  // otherwise the child failed; its exit code says where
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);

  hid_t f = open_swmr_read(path);
  const auto rounds = read_rounds(f);
  REQUIRE(rounds.size() == kRounds);
  for (int r = 0; r < kRounds; ++r) {
    CHECK(rounds[static_cast<std::size_t>(r)].round == r);
    CHECK(rounds[static_cast<std::size_t>(r)].virtual_time_s == round_record(r).virtual_time_s);
  }
  CHECK(num_rows(f, "tasks") >= 2 * kRounds);
  CHECK(string_dataset(f, "status", 16) == "running");
  CHECK(string_attr(f, "config") == metadata().config_toml);
  H5Fclose(f);

  // read_results opens it too, with every flushed round's transfers.
  const ResultsTables back = read_results(path.string());
  CHECK(back.status == "running");
  CHECK(back.rounds.size() == kRounds);
  std::vector<TransferRecord> flushed, got;
  for (int r = 0; r < kRounds; ++r)
    for (const auto& t : transfer_records(r)) flushed.push_back(t);
  for (const auto& t : back.transfers)
    if (t.round < kRounds) got.push_back(t);
  check_same(got, flushed);
}

TEST_CASE("A run killed before its first round still has a readable /transfers", "[results]") {
  TempDir tmp;
  const fs::path path = tmp.path / "run.h5";
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(ready[0]);
    try {
      ResultsWriter w(path.string(), false, metadata(), devices(), 3);
      w.append_transfers(transfer_records(1));  // never followed by append_round
      const char go = 'x';
      if (write(ready[1], &go, 1) != 1) _exit(3);
      for (;;) pause();
    } catch (...) {
      _exit(2);
    }
  }
  close(ready[1]);
  char go = 0;
  const bool child_ready = read(ready[0], &go, 1) == 1;
  close(ready[0]);
  kill(child, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(child_ready);
  REQUIRE(WIFSIGNALED(status));

  const ResultsTables back = read_results(path.string());
  CHECK(back.status == "running");
  CHECK(back.rounds.empty());
  // The unflushed rows may or may not be there; what is there is whole.
  if (!back.transfers.empty()) check_same(back.transfers, transfer_records(1));
}

TEST_CASE("ResultsWriter rewrites the warnings and ended_by attributes under SWMR", "[results]") {
  TempDir tmp;
  const fs::path quiet = tmp.path / "quiet.h5", warned = tmp.path / "warned.h5";
  { ResultsWriter w(quiet.string(), false, metadata(), {}, 0); }
  {
    ResultsWriter w(warned.string(), false, metadata(), {}, 0);
    w.set_warnings({"first"});
    RoundRecord r;
    r.round = 1;
    w.append_round(r);
    w.set_warnings({"first", "round 1: second"});  // rewritten, longer, after SWMR began
    w.set_ended_by("until_virtual_s");
    w.mark_complete();
  }
  hid_t f = H5Fopen(quiet.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(string_attr(f, "warnings").empty());  // there from the start, empty
  CHECK(string_attr(f, "ended_by").empty());
  H5Fclose(f);
  f = H5Fopen(warned.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(string_attr(f, "warnings") == "first\nround 1: second");
  CHECK(string_attr(f, "ended_by") == "until_virtual_s");
  CHECK(string_dataset(f, "status", 16) == "complete");
  H5Fclose(f);
}

TEST_CASE("ResultsWriter writes the final model once, under SWMR; read_final_model reads it back", "[results]") {
  TempDir dir;
  const std::string path = (dir.path / "final.h5").string();
  RunMetadata m = metadata();
  m.model_tensors = "l0.weight 2x3\nl0.bias 2\n";
  const std::vector<float> weights = {1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, -4.0f, 8.0f, 9.0f};
  {
    ResultsWriter w(path, false, m, devices(), 3);
    w.append_round(round_record(0));
    // While the run goes on the file has no final model to start from.
    CHECK_THROWS_AS(read_final_model(path), InputError);
    w.write_final_model(weights);
    CHECK_THROWS_AS(w.write_final_model(weights), std::logic_error);
    w.mark_complete();
  }
  const FinalModel f = read_final_model(path);
  CHECK(f.weights == weights);
  CHECK(f.model_tensors == m.model_tensors);
  CHECK_THROWS_WITH(read_final_model((dir.path / "missing.h5").string()), Catch::Contains("missing.h5"));
}
