// Sweep run names: readable, unique, and file names a shell takes without quoting.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <unistd.h>

#include "edgesim/io/sweep_spec.hpp"

using namespace edgesim;
namespace fs = std::filesystem;

namespace {

std::vector<SweepRun> runs_of(const std::string& body) {
  static int counter = 0;
  const fs::path path = fs::temp_directory_path() / ("edgesim-sweep-test-" + std::to_string(getpid()) + "-" +
                                                     std::to_string(counter++) + ".toml");
  std::ofstream(path) << "[sweep]\nbase = \"base.toml\"\n" << body;
  const auto runs = expand_sweep(load_sweep_spec(path.string()));
  fs::remove(path);
  return runs;
}

std::vector<std::string> names_of(const std::vector<SweepRun>& runs) {
  std::vector<std::string> names;
  for (const auto& r : runs) names.push_back(r.name);
  return names;
}

}  // namespace

TEST_CASE("sweep run names: label-value parts, no '='", "[sweep]") {
  const auto runs = runs_of("seeds = [1, 2]\n[axes]\nalgorithm.name = [\"fedavg\", \"heterofl\"]\n"
                            "data.alpha = [0.1]\n");
  CHECK(names_of(runs) == std::vector<std::string>{"name-fedavg_alpha-0.1_seed-1", "name-fedavg_alpha-0.1_seed-2",
                                                   "name-heterofl_alpha-0.1_seed-1",
                                                   "name-heterofl_alpha-0.1_seed-2"});
  CHECK(runs[0].results.size() > 4);
  CHECK(runs[0].results.substr(runs[0].results.size() - 32) == "/name-fedavg_alpha-0.1_seed-1.h5");
  CHECK(names_of(runs_of("")) == std::vector<std::string>{"seed-1"});  // no axes: the seed alone
}

TEST_CASE("sweep run names: only [A-Za-z0-9._-], and unique when values differ only in dropped characters",
          "[sweep]") {
  const auto runs = runs_of("[axes]\nalgorithm.rates = [\"1,0.5\", \"1;0.5\", \"0.25\"]\n"
                            "devices.profiles = [\"a/devs.toml\", \"b/devs.toml\", \"c/other set.toml\"]\n"
                            "run.out = [\"x+y=z\"]\n");
  const std::regex shell_safe("[A-Za-z0-9._-]+");
  std::set<std::string> names;
  for (const auto& r : runs) {
    INFO(r.name);
    CHECK(std::regex_match(r.name, shell_safe));
    names.insert(r.name);
  }
  CHECK(names.size() == runs.size());
  CHECK(runs[0].name == "rates-1-0.5-1_profiles-devs-1_out-x-y-z_seed-1");
  CHECK(runs[2].name == "rates-1-0.5-1_profiles-other-set_out-x-y-z_seed-1");
  CHECK(runs[3].name == "rates-1-0.5-2_profiles-devs-1_out-x-y-z_seed-1");
  CHECK(runs[6].name == "rates-0.25_profiles-devs-1_out-x-y-z_seed-1");
  // The run is told its name, and the axis values go through unchanged.
  CHECK(std::find(runs[0].overrides.begin(), runs[0].overrides.end(), "algorithm.rates=1,0.5") != runs[0].overrides.end());
  CHECK(runs[0].overrides.back() == "run.name=" + runs[0].name);
}
