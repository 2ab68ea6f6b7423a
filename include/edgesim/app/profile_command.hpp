#pragma once
// `edgesim profile`: measures this host and writes a compute profile for the calibrated clock
// (device/compute_profile.hpp). Every layer of the zoo's models (CNN, ResNet-18, VGG-11, the
// Transformer) at several widths and batch sizes is timed alone, forward and backward; each op
// class's coefficients are fitted to those times; then whole local-SGD tasks are timed as the
// measured clock times them and a common factor, the per-step cost and the optimizer's cost are
// fitted to what the layers do not explain. With --check, the clock's prediction is compared
// with measured task times on held-out widths and batch sizes (docs/CLOCK.md).
#include <string>

namespace edgesim {

struct ProfileCommand {
  std::string out = "profile.toml";  // the compute profile written
  std::string name;                  // the profile's name (default: the host name)
  std::string check;                 // CSV of predicted vs measured task times; empty = none
  std::string use;                   // check this existing profile instead of measuring a new one
  bool quick = false;                // fewer widths and batches (tests)
};

int run_profile_command(const ProfileCommand& command);

}  // namespace edgesim
