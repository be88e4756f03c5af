#include "core/run_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "core/error.h"
#include "core/file.h"

namespace funnel {
namespace {

std::string fresh_dir(const std::string& name) {
  const std::string d = join_path(::testing::TempDir(), "funnel_run_dir_" + name);
  remove_all(d);
  return d;
}

std::string error_of(const std::string& dir, RunDir::Existing e) {
  try {
    RunDir r(dir, {"metrics.json", "checkpoint"}, e, "funnel train");
  } catch (const Error& err) {
    return err.what();
  }
  return "";
}

TEST(RunDir, ASecondHolderIsRefusedNamingThePidUntilTheFirstEnds) {
  const std::string dir = fresh_dir("lock");
  {
    RunDir first(dir, {"metrics.json"}, RunDir::Existing::kRefuse, "funnel train");
    EXPECT_TRUE(path_exists(join_path(dir, ".lock")));
    // A second open of the lock file (as another process would) cannot take it.
    const std::string msg = error_of(dir, RunDir::Existing::kOverwrite);
    EXPECT_NE(msg.find("in use by another process (pid " + std::to_string(::getpid()) + ")"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("another --out"), std::string::npos) << msg;
  }
  EXPECT_EQ(error_of(dir, RunDir::Existing::kRefuse), "") << "released with its holder";
}

TEST(RunDir, AFinishedRunIsRefusedReplacedOnlyWithOverwriteKeptWithResume) {
  const std::string dir = fresh_dir("finished");
  make_dirs(join_path(dir, "checkpoint"));
  write_text_file_atomic(join_path(dir, "metrics.json"), "{}");
  write_text_file_atomic(join_path(dir, "other.txt"), "not a run file");
  const std::string msg = error_of(dir, RunDir::Existing::kRefuse);
  EXPECT_NE(msg.find("already holds a run (metrics.json, checkpoint)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--overwrite"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--resume"), std::string::npos) << msg;
  EXPECT_TRUE(path_exists(join_path(dir, "metrics.json"))) << "a refusal touches nothing";

  EXPECT_EQ(error_of(dir, RunDir::Existing::kResume), "");
  EXPECT_TRUE(path_exists(join_path(dir, "metrics.json")));
  EXPECT_TRUE(path_exists(join_path(dir, "checkpoint")));

  EXPECT_EQ(error_of(dir, RunDir::Existing::kOverwrite), "");
  EXPECT_FALSE(path_exists(join_path(dir, "metrics.json")));
  EXPECT_FALSE(path_exists(join_path(dir, "checkpoint")));
  EXPECT_TRUE(path_exists(join_path(dir, "other.txt"))) << "only the run's own files go";
  EXPECT_EQ(error_of(dir, RunDir::Existing::kRefuse), "") << "nothing left to refuse";
}

}  // namespace
}  // namespace funnel
