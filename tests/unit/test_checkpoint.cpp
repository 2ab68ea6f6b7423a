// Checkpoints round-trip exactly, and a damaged one is an error naming the file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "edgesim/common/error.hpp"
#include "edgesim/io/checkpoint.hpp"

using namespace edgesim;
namespace fs = std::filesystem;

TEST_CASE("a checkpoint reads back exactly; no file is nullopt; damage is an error", "[checkpoint]") {
  const std::string path = (fs::temp_directory_path() / ("edgesim-ckpt-" + std::to_string(getpid()))).string();
  CHECK_FALSE(load_checkpoint(path).has_value());

  Checkpoint c;
  c.config_toml = "[run]\nseed = 3\n";
  c.round = 7;
  c.virtual_time_s = 123.25;
  c.best_accuracy = 0.875;
  c.final_accuracy = 0.625;
  c.wall_time_s = 41.5;
  c.training_s = 17.75;
  c.weights = {1.5f, -2.0f, 3.25f};
  c.algorithm_state = std::string("\0state", 6);
  c.dispatched = 42;
  c.version = 9;
  c.in_flight = {{40, 3, 8, 40, 9, 10.5, 12.25, true, "plan-a"}, {41, 0, 9, 41, 10, 11.0, 11.5, false, ""}};
  c.schedule_state = "12.5 16";
  c.timer_s = 14.0;
  c.device_state = {{3, "previous", {0.5f, 1.5f}}};
  c.start_models = {{8, {0.5f, 1.0f, 2.0f}}, {9, {0.25f, 1.5f, -1.0f}}};
  save_checkpoint(path, c);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  const auto back = load_checkpoint(path);
  REQUIRE(back.has_value());
  CHECK(back->config_toml == c.config_toml);
  CHECK(back->round == 7);
  CHECK(back->virtual_time_s == 123.25);
  CHECK(back->best_accuracy == 0.875);
  CHECK(back->final_accuracy == 0.625);
  CHECK(back->wall_time_s == 41.5);
  CHECK(back->training_s == 17.75);
  CHECK(back->weights == c.weights);
  CHECK(back->algorithm_state == c.algorithm_state);
  CHECK(back->dispatched == 42);
  CHECK(back->version == 9);
  REQUIRE(back->in_flight.size() == 2);
  CHECK(back->in_flight[0].dispatch == 40);
  CHECK(back->in_flight[0].device == 3);
  CHECK(back->in_flight[0].version == 8);
  CHECK(back->in_flight[0].start_s == 10.5);
  CHECK(back->in_flight[0].end_s == 12.25);
  CHECK(back->in_flight[0].trained);
  CHECK_FALSE(back->in_flight[1].trained);
  CHECK(back->in_flight[0].stream == 40);
  CHECK(back->in_flight[0].clock_round == 9);
  CHECK(back->in_flight[0].plan == "plan-a");
  CHECK(back->schedule_state == "12.5 16");
  CHECK(back->timer_s == 14.0);
  REQUIRE(back->device_state.size() == 1);
  CHECK(back->device_state[0].device == 3);
  CHECK(back->device_state[0].name == "previous");
  CHECK(back->device_state[0].values == std::vector<float>{0.5f, 1.5f});
  CHECK(back->start_models == c.start_models);

  fs::resize_file(path, fs::file_size(path) - 5);
  CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains(path) && Catch::Contains("truncated at byte"));
  std::ofstream(path) << "ESCKPT01 an older format";
  CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains("checkpoint format 01 is not this edgesim's (05)"));
  std::ofstream(path) << "garbage!garbage!";
  CHECK_THROWS_WITH(load_checkpoint(path), Catch::Contains("not an edgesim checkpoint"));
  fs::remove(path);
}
