#pragma once
// Helpers shared by the data tests: temporary files, the shipped real samples.

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/file.h"

namespace funnel::data::testing {

/// A fresh folder per test (removed at the start, kept after for inspection).
inline std::string test_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = join_path(::testing::TempDir(), std::string("funnel_") +
                                                              info->test_suite_name() + "_" +
                                                              info->name());
  remove_all(dir);
  make_dirs(dir);
  return dir;
}

inline std::string write_file(const std::string& dir, const std::string& name,
                              const std::string& content) {
  const std::string p = join_path(dir, name);
  write_text_file_atomic(p, content);
  return p;
}

inline std::string samples_dir() {
  return std::string(FUNNEL_SOURCE_DIR) + "/tests/data/real-samples";
}

/// Runs `f`, expects a DataError, and returns it for inspection.
template <typename F>
DataError expect_data_error(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a DataError";
  return DataError("", 0, "", "", "");
}

}  // namespace funnel::data::testing
