// Helpers shared by the torch-free unit tests (header-only, Catch2 v2):
//   TempDir         a fresh directory under the system temp dir, removed with its contents
//                   when the object goes out of scope;
//   input_error_of  runs a callable and returns the message of the edgesim::InputError it
//                   throws, failing the test if it throws none;
//   write_bytes     writes a byte vector to a file as is.
#pragma once

#include <stdlib.h>  // mkdtemp

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "edgesim/common/error.hpp"

namespace edgesim::test_support {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgesim-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const edgesim::InputError& e) {
    return e.what();
  }
  FAIL("expected edgesim::InputError");
  return {};
}

inline void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  REQUIRE(f.good());
}

}  // namespace edgesim::test_support
