#pragma once
// `edgesim profile`: measures this host and writes a compute profile for the calibrated clock
// (device/compute_profile.hpp; docs/CLOCK.md). Two stages, so a fit can be redone without
// measuring again:
//   1. measure: every layer of the zoo's models (CNN, ResNet-18, VGG-11, the Transformer) at
//      several widths and batch sizes timed alone, forward and backward; whole local-SGD tasks
//      timed as the measured clock times them (network built, weights loaded, one epoch), at
//      widths and batch sizes that bracket what runs use, with two task lengths each (and a
//      256-sample one at the smallest batch), each timed over --repeats rounds (default 7); with
//      --check, tasks at held-out widths and batch sizes too, all tasks timed interleaved
//      (device/benchmark.hpp). All of it goes to a timings CSV, every task's rounds included;
//      --statistic says what of its rounds is a task's time (default their median).
//   2. fit: each op class's coefficients from its layers; then, on the whole tasks, one factor
//      per op class on what the layers predict, the per-step, optimizer and per-task set-up
//      costs (non-negative least squares on relative error).
// --from TIMINGS skips stage 1; --use PROFILE checks an existing profile against fresh tasks.
#include <string>

namespace edgesim {

struct ProfileCommand {
  std::string out = "profile.toml";  // the compute profile written
  std::string name;                  // the profile's name (default: the host name)
  std::string check;                 // CSV of predicted vs measured task times; empty = none
  std::string use;                   // check this existing profile instead of measuring a new one
  std::string timings;               // write the raw measurements here (default: OUT with .timings.csv)
  std::string from;                  // fit from these raw measurements instead of measuring
  bool quick = false;                // fewer widths and batches (tests)
  int repeats = 0;                   // timed rounds of every task; 0 = 7 (1 with quick)
  std::string statistic = "median";  // a task's time from its rounds: median, lower-quartile or min
};

int run_profile_command(const ProfileCommand& command);

}  // namespace edgesim
