// Config errors are caught before anything runs, and name the key and where it came from.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "edgesim/common/error.hpp"
#include "edgesim/common/units.hpp"
#include "edgesim/device/profile.hpp"
#include "edgesim/io/config.hpp"

using namespace edgesim;
namespace fs = std::filesystem;

namespace {

// A config file in a fresh temp dir, pointing at the repo's Jetson device set.
std::string write_config(const std::string& body, const std::string& name = "exp.toml") {
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("edgesim-config-test-" + std::to_string(getpid()) + "-" +
                                                     std::to_string(counter++));
  fs::create_directories(dir);
  const fs::path path = dir / name;
  std::ofstream(path) << "[devices]\nprofiles = \"" EDGESIM_SOURCE_DIR "/experiments/devices/jetson16.toml\"\n" << body;
  return path.string();
}

std::string error_of(const std::string& path, const std::vector<std::string>& sets = {}) {
  try {
    load_config(path, sets);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("defaults fill every key and the resolved TOML lists them all", "[config]") {
  const auto path = write_config("");
  const ExperimentConfig c = load_config(path);
  CHECK(c.run.name == "exp");  // the file's stem
  CHECK(c.algorithm.name == "fedavg");
  CHECK(c.devices.count == 16);
  CHECK(c.resolved_toml.find("[algorithm]\nname = \"fedavg\"") != std::string::npos);
  CHECK(c.resolved_toml.find("lr = 0.05") != std::string::npos);
}

TEST_CASE("file values and --set overrides, later ones winning", "[config]") {
  const auto path = write_config("[algorithm]\nlr = 0.1\nstraggler = \"deadline\"\ndeadline_s = 30\n");
  const auto c = load_config(path, {"algorithm.lr=0.2", "run.rounds=3", "run.name=\"my run\""});
  CHECK(c.algorithm.lr == 0.2);
  CHECK(c.algorithm.deadline_s == 30);
  CHECK(c.run.rounds == 3);
  CHECK(c.run.name == "my run");
  CHECK(c.resolved_toml.find("name = \"my run\"") != std::string::npos);
}

TEST_CASE("the resolved config reads back to the same config", "[config]") {
  const auto c1 = load_config(write_config("[data]\nalpha = 0.1\n"), {"model.width=0.5"});
  const auto path2 = write_config("");
  std::ofstream(path2) << c1.resolved_toml;
  const auto c2 = load_config(path2);
  CHECK(c2.resolved_toml == c1.resolved_toml);
}

TEST_CASE("an unknown key names the key and the file, and suggests the closest", "[config]") {
  const auto path = write_config("[algorithm]\nlrr = 0.1\n");
  const std::string e = error_of(path);
  CHECK_THAT(e, Catch::Contains(path));
  CHECK_THAT(e, Catch::Contains("unknown key 'algorithm.lrr'"));
  CHECK_THAT(e, Catch::Contains("did you mean 'algorithm.lr'"));
  CHECK_THAT(error_of(write_config(""), {"run.roundz=3"}), Catch::Contains("unknown key 'run.roundz'"));
}

TEST_CASE("wrong types and impossible values name the key", "[config]") {
  const auto path = write_config("");
  CHECK_THAT(error_of(path, {"algorithm.lr=abc"}), Catch::Contains("'algorithm.lr': expected a number, got 'abc'"));
  CHECK_THAT(error_of(path, {"run.rounds=2.5"}), Catch::Contains("'run.rounds': expected an integer"));
  CHECK_THAT(error_of(path, {"run.rounds=0"}), Catch::Contains("'run.rounds': must be >= 1"));
  CHECK_THAT(error_of(path, {"devices.count=0"}), Catch::Contains("'devices.count': must be >= 1"));
  CHECK_THAT(error_of(path, {"algorithm.fraction=1.5"}), Catch::Contains("'algorithm.fraction': must be in (0, 1]"));
  CHECK_THAT(error_of(path, {"data.partition=random"}), Catch::Contains("'data.partition': must be one of"));
  CHECK_THAT(error_of(path, {"algorithm.straggler=deadline"}), Catch::Contains("'algorithm.deadline_s'"));
  CHECK_THAT(error_of(path, {"rounds"}), Catch::Contains("expected key=value"));
  CHECK_THAT(error_of(path, {"algorithm.name=heterofl", "algorithm.slicing=depth"}),
             Catch::Contains("'algorithm.slicing': a model cut in depth ends with an early-exit head: needs "
                             "model.early_exits = true"));
  CHECK_THAT(error_of(path, {"algorithm.name=fedrolex", "algorithm.slicing=depth", "model.early_exits=true"}),
             Catch::Contains("'algorithm.slicing': is not used by algorithm 'fedrolex'") && Catch::Contains("used by: heterofl"));
  CHECK_THAT(error_of(path, {"algorithm.masked_ce=true"}),
             Catch::Contains("'algorithm.masked_ce': is not used by algorithm 'fedavg'") && Catch::Contains("used by: heterofl, fedrolex, fjord"));
  CHECK(error_of(path, {"algorithm.name=fedrolex", "algorithm.masked_ce=true"}).empty());
  CHECK_THAT(error_of(path, {"algorithm.name=heterofl", "algorithm.fjord_distillation=true"}),
             Catch::Contains("'algorithm.fjord_distillation': is not used by algorithm 'heterofl'"));
  // What each algorithm reads lives with the algorithms (algo/catalog.hpp): an option it would
  // ignore is an error naming the key and who reads it, and a misspelt name gets a suggestion.
  CHECK_THAT(error_of(path, {"algorithm.rates=1,0.5"}),
             Catch::Contains("'algorithm.rates': is not used by algorithm 'fedavg'"));
  CHECK_THAT(error_of(path, {"algorithm.name=heterofl", "algorithm.concurrency=4"}),
             Catch::Contains("'algorithm.concurrency': is not used") && Catch::Contains("the async schedule"));
  CHECK(error_of(path, {"algorithm.name=heterofl", "algorithm.schedule=semi_async", "algorithm.semi_async_fraction=0.25"}).empty());
  CHECK(error_of(path, {"algorithm.rates=1"}).find("algorithm.rates") != std::string::npos);
  CHECK(error_of(path, {"algorithm.straggler=wait_all"}).empty());  // set to its default: harmless
  {
    // A config file for one algorithm, run as another with --set: its options only warn.
    const auto shared = write_config("[algorithm]\nname = \"heterofl\"\nrates = \"1,0.5\"\n");
    CHECK(error_of(shared, {"algorithm.name=fedavg"}).empty());
    const auto cfg = load_config(shared, {"algorithm.name=fedavg"});
    REQUIRE(cfg.warnings.size() == 1);
    CHECK_THAT(cfg.warnings[0], Catch::Contains("'algorithm.rates' is not used by algorithm 'fedavg'"));
  }
  CHECK_THAT(error_of(path, {"algorithm.name=hetrofl"}),
             Catch::Contains("unknown algorithm 'hetrofl' (did you mean 'heterofl'?)"));
  CHECK_THAT(error_of(path, {"algorithm.adaptcl_keep_min=0"}),
             Catch::Contains("'algorithm.adaptcl_keep_min': must be in (0, 1]"));
  const auto bad_file = write_config("[run]\nrounds = -3\n");
  CHECK_THAT(error_of(bad_file), Catch::Contains(bad_file + ": key 'run.rounds': must be >= 1"));
}

TEST_CASE("a key left at its default is named as not set, with the default", "[config]") {
  const auto path = write_config("");
  // Used to read "default: key 'algorithm.deadline_s': ...", as if "default" were a file.
  const std::string e = error_of(path, {"algorithm.straggler=deadline"});
  CHECK_THAT(e, Catch::StartsWith("key 'algorithm.deadline_s' (not set; default 0.0): must be > 0 when"));
  CHECK_THAT(error_of(write_config("[data]\ndataset = \"wikitext\"\n[model]\nname = \"transformer\"\n")),
             Catch::StartsWith("key 'data.path' (not set; default \"/usr/share/datasets/fashion-mnist\"): is required"));
  // Values that were set still name their file or --set.
  CHECK_THAT(error_of(path, {"algorithm.straggler=deadline", "algorithm.deadline_s=0"}),
             Catch::StartsWith("--set algorithm.deadline_s=0: key 'algorithm.deadline_s': must be > 0"));
}

TEST_CASE("missing dataset files and device sets are reported before training", "[config]") {
  const auto path = write_config("");
  CHECK_THAT(error_of(path, {"data.path=/nonexistent"}),
             Catch::Contains("'data.path': dataset file '/nonexistent/train-images-idx3-ubyte.gz' not found"));
  CHECK_THAT(error_of(path, {"devices.profiles=/nonexistent.toml"}), Catch::Contains("'devices.profiles': no such file"));
}

TEST_CASE("a line that is not key = value is rejected", "[config]") {
  CHECK_THAT(error_of(write_config("[run]\nthis is not toml\n")), Catch::Contains("is not a `key = value` line"));
}

TEST_CASE("sizes accept binary and decimal units", "[units]") {
  CHECK(parse_bytes("4GiB") == 4ull << 30);
  CHECK(parse_bytes("1.5 MiB") == 1572864);
  CHECK(parse_bytes("512MB") == 512000000);
  CHECK(parse_bytes("1024 B") == 1024);
  CHECK(parse_bytes("2KB") == 2000);
  // A bare number is not bytes: it is refused, with the units that would do.
  CHECK_THROWS_WITH(parse_bytes("1024"), Catch::Contains("'1024' has no unit") && Catch::Contains("GiB"));
  CHECK_THROWS_WITH(parse_bytes("4 GB/s"), Catch::Contains("unknown size unit") && Catch::Contains("MiB"));
  CHECK_THROWS_WITH(parse_bytes("-1GiB"), Catch::Contains("non-negative"));
  CHECK_THROWS(parse_bytes("lots"));
  CHECK(format_bytes(3 << 20) == "3.0 MiB");
}

TEST_CASE("device sets: the shipped Jetson mix", "[device]") {
  const DeviceSet set = load_device_set(EDGESIM_SOURCE_DIR "/experiments/devices/jetson16.toml");
  REQUIRE(set.devices.size() == 16);
  CHECK(set.reference_flops_per_s > 0);
  int nano = 0;
  for (const auto& d : set.devices) nano += d.name == "nano";
  CHECK(nano == 6);
  const auto expanded = expand_devices(set, 40);  // cycles the list
  REQUIRE(expanded.size() == 40);
  CHECK(expanded[16].name == set.devices[0].name);
  CHECK(expanded[39].name == set.devices[7].name);
}

TEST_CASE("device sets: bad values name the file and the key", "[device]") {
  const fs::path path = fs::temp_directory_path() / ("edgesim-devices-" + std::to_string(getpid()) + ".toml");
  auto error_for = [&](const std::string& body) {
    std::ofstream(path) << "[reference]\nflops_per_second = 1e11\n" << body;
    try {
      load_device_set(path.string());
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string ok = "[profiles.a]\nslowdown = 2\nmemory = \"1GiB\"\n[set]\ndevices = [\"a\"]\n";
  CHECK(error_for(ok).empty());
  CHECK_THAT(error_for("[profiles.a]\nslowdown = -2\nmemory = \"1GiB\"\n[set]\ndevices = [\"a\"]\n"),
             Catch::Contains(path.string() + ": key 'profiles.a.slowdown': must be > 0"));
  CHECK_THAT(error_for("[profiles.a]\nslowdown = 2\nmemory = \"1 parsec\"\n[set]\ndevices = [\"a\"]\n"),
             Catch::Contains("'profiles.a.memory': profile 'a': unknown size unit"));
  CHECK_THAT(error_for("[profiles.a]\nspeed = 2\n[set]\ndevices = [\"a\"]\n"),
             Catch::Contains("unknown key 'profiles.a.speed'"));
  CHECK_THAT(error_for(ok + "\n[set2]\nx = 1\n"), Catch::Contains("unknown key 'set2.x'"));
  CHECK_THAT(error_for("[profiles.a]\nslowdown = 2\nmemory = \"1GiB\"\n[set]\ndevices = [\"b\"]\n"),
             Catch::Contains("names profile 'b'"));
  const std::string scheduled = "[profiles.a]\nslowdown = 2\nmemory = \"1GiB\"\nslowdown_schedule = ";
  CHECK_THAT(error_for(scheduled + "[\"21=3\"]\n[set]\ndevices = [\"a\"]\n"),
             Catch::Contains("'profiles.a.slowdown_schedule': expected \"round:slowdown\""));
  CHECK_THAT(error_for(scheduled + "[\"21:3\", \"11:1\"]\n[set]\ndevices = [\"a\"]\n"),
             Catch::Contains("strictly ascending"));
  CHECK_THAT(error_for(scheduled + "[\"21:0\"]\n[set]\ndevices = [\"a\"]\n"), Catch::Contains("must be > 0"));
  fs::remove(path);
}

TEST_CASE("device sets: a memory cap needs a unit, and no cap is spelled \"unlimited\"", "[device]") {
  const fs::path path = fs::temp_directory_path() / ("edgesim-memory-" + std::to_string(getpid()) + ".toml");
  auto load = [&](const std::string& memory_line) {
    std::ofstream(path) << "[reference]\nflops_per_second = 1e11\n[profiles.nano]\nslowdown = 6\n" << memory_line
                        << "\n[set]\ndevices = [\"nano\"]\n";
    return load_device_set(path.string());
  };
  auto error_for = [&](const std::string& memory_line) {
    try {
      load(memory_line);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // `memory = 2` and `memory = "2"` used to be 2 bytes (every task then failed oom).
  for (const std::string bare : {"memory = 2", "memory = \"2\"", "memory = 2.5"}) {
    const std::string e = error_for(bare);
    CHECK_THAT(e, Catch::Contains(path.string() + ": key 'profiles.nano.memory': profile 'nano': '"));
    CHECK_THAT(e, Catch::Contains("has no unit"));
    for (const char* unit : {"B", "KB", "MB", "GB", "KiB", "MiB", "GiB", "TiB"}) CHECK_THAT(e, Catch::Contains(unit));
    CHECK_THAT(e, Catch::Contains("\"unlimited\" for no cap"));
  }
  CHECK_THAT(error_for("memory = \"0GiB\""), Catch::Contains("'profiles.nano.memory' is required and must be > 0"));
  CHECK_THAT(error_for(""), Catch::Contains("'profiles.nano.memory' is required"));
  CHECK_THAT(error_for("memory = \"inf\""), Catch::Contains("'profiles.nano.memory'"));  // only one spelling
  CHECK(load("memory = \"2GiB\"").devices.at(0).memory_cap_bytes == 2ull << 30);
  CHECK(load("memory = \"2 GB\"").devices.at(0).memory_cap_bytes == 2000000000ull);
  CHECK(load("memory = \"unlimited\"").devices.at(0).memory_cap_bytes == kNoMemoryCap);
  fs::remove(path);
}

TEST_CASE("device sets: every shipped device set in experiments/ loads", "[device]") {
  int sets = 0;
  for (const auto& e : fs::recursive_directory_iterator(EDGESIM_SOURCE_DIR "/experiments")) {
    if (e.path().extension() != ".toml") continue;
    std::ifstream in(e.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("[profiles.") == std::string::npos) continue;  // an experiment, not a device set
    INFO(e.path().string());
    CHECK_NOTHROW(load_device_set(e.path().string()));
    ++sets;
  }
  CHECK(sets >= 5);
}

TEST_CASE("device sets: a slowdown schedule changes a profile's speed from a round on", "[device]") {
  const fs::path path = fs::temp_directory_path() / ("edgesim-schedule-" + std::to_string(getpid()) + ".toml");
  std::ofstream(path) << "[reference]\nflops_per_second = 1e11\n[profiles.a]\nslowdown = 2\nmemory = \"1GiB\"\n"
                      << "slowdown_schedule = [\"21:12.5\", \"41:1.5\"]\n[set]\ndevices = [\"a\"]\n";
  const DeviceSet set = load_device_set(path.string());
  fs::remove(path);
  const DeviceProfile& d = set.devices.at(0);
  CHECK(d.slowdown_at(1) == 2.0);
  CHECK(d.slowdown_at(20) == 2.0);
  CHECK(d.slowdown_at(21) == 12.5);
  CHECK(d.slowdown_at(40) == 12.5);
  CHECK(d.slowdown_at(41) == 1.5);
  CHECK(d.at_round(30).slowdown == 12.5);
  CHECK(d.at_round(30).memory_cap_bytes == d.memory_cap_bytes);
}

TEST_CASE("text datasets: the fortunes folder and iid are their defaults", "[config][text]") {
  const auto path = write_config("[data]\ndataset = \"fortunes\"\n[model]\nname = \"transformer\"\n");
  const auto c = load_config(path);
  CHECK(c.data.text());
  CHECK(c.data.path == "/usr/share/games/fortunes");
  CHECK(c.data.partition == "iid");
  CHECK(c.model.preset == "tiny");
  CHECK(c.model.seq_len == 64);
  CHECK(c.resolved_toml.find("path = \"/usr/share/games/fortunes\"") != std::string::npos);
  CHECK(c.resolved_toml.find("partition = \"iid\"") != std::string::npos);
  // Given values win over the text defaults.
  const auto given = load_config(path, {"data.path=/usr/share/games", "model.seq_len=16"});
  CHECK(given.data.path == "/usr/share/games");
  CHECK(given.model.seq_len == 16);
}

TEST_CASE("a model that does not fit the data is rejected, naming the key the user set", "[config][text]") {
  const auto images = write_config("");
  CHECK_THAT(error_of(images, {"model.name=transformer"}),
             Catch::Contains("--set model.name=transformer: key 'model.name'") &&
                 Catch::Contains("data.dataset = \"fashion-mnist\" is images"));
  // Only data.dataset was given: the default CNN is blamed through it.
  CHECK_THAT(error_of(images, {"data.dataset=fortunes"}),
             Catch::Contains("key 'data.dataset'") && Catch::Contains("model.name = \"cnn\" is an image model") &&
                 Catch::Contains("model.name = \"transformer\""));
  const auto text = write_config("[data]\ndataset = \"fortunes\"\n[model]\nname = \"transformer\"\n");
  CHECK_THAT(error_of(text, {"model.name=resnet18"}), Catch::Contains("key 'model.name'"));
  CHECK_THAT(error_of(text, {"data.partition=shards"}), Catch::Contains("key 'data.partition'"));
  CHECK_THAT(error_of(text, {"model.heads=5"}), Catch::Contains("key 'model.heads': 5 heads do not divide d_model 128"));
  CHECK_THAT(error_of(text, {"model.d_model=90"}), Catch::Contains("key 'model.d_model': 4 heads do not divide d_model 90"));
  CHECK_THAT(error_of(text, {"model.preset=huge"}), Catch::Contains("key 'model.preset': must be one of"));
  CHECK_THAT(error_of(text, {"model.seq_len=0"}), Catch::Contains("key 'model.seq_len': must be >= 1"));
  CHECK(error_of(text, {"model.heads=8", "model.d_model=64", "model.layers=1", "model.ffn=32"}).empty());
}

TEST_CASE("wikitext needs data.path holding its three token files", "[config][text]") {
  const auto path = write_config("[data]\ndataset = \"wikitext\"\n[model]\nname = \"transformer\"\n");
  CHECK_THAT(error_of(path), Catch::Contains("key 'data.path' (not set; default") &&
                                 Catch::Contains("): is required") && Catch::Contains("wiki.train.tokens"));
  const fs::path dir = fs::path(path).parent_path();
  std::ofstream(dir / "wiki.train.tokens") << "a b\n";
  std::ofstream(dir / "wiki.test.tokens") << "a b\n";
  CHECK_THAT(error_of(path, {"data.path=" + dir.string()}),
             Catch::Contains("'data.path': dataset file '" + (dir / "wiki.valid.tokens").string() + "' not found"));
  std::ofstream(dir / "wiki.valid.tokens") << "a b\n";
  CHECK(load_config(path, {"data.path=" + dir.string()}).data.path == dir.string());
}
