#pragma once
// Errors a user can fix: bad config, bad command line, missing or corrupt input files,
// an existing results file. The app maps InputError to exit code 2 and prints what()
// alone; anything else is a bug or an environment failure (exit code 1).
#include <stdexcept>
#include <string>

namespace edgesim {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace edgesim
