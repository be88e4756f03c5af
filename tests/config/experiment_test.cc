#include "config/experiment.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file.h"

namespace funnel::config {
namespace {

TEST(Override, ParsesJsonOrString) {
  nlohmann::json root = {{"data", {{"vocab", {{"min_count", 1}}}}}};
  apply_override(root, "data.vocab.min_count=11");
  apply_override(root, "model.towers=[200,80,20]");
  apply_override(root, "model.name=esmm");
  apply_override(root, "train.flag=true");
  EXPECT_EQ(root["data"]["vocab"]["min_count"], 11);
  EXPECT_EQ(root["model"]["towers"], nlohmann::json({200, 80, 20}));
  EXPECT_EQ(root["model"]["name"], "esmm");
  EXPECT_EQ(root["train"]["flag"], true);
}

TEST(Override, RejectsMalformed) {
  nlohmann::json root = {{"a", 1}};
  EXPECT_THROW(apply_override(root, "novalue"), Error);
  EXPECT_THROW(apply_override(root, "=3"), Error);
  EXPECT_THROW(apply_override(root, "a.b=3"), Error);  // a is a number, not an object
  EXPECT_THROW(apply_override(root, "x..y=3"), Error);
}

TEST(LoadExperiment, ReportsLineOfSyntaxError) {
  const std::string p = join_path(::testing::TempDir(), "funnel_bad_config.json");
  write_text_file_atomic(p, "{\n  \"data\": {\n    \"x\": 1,,\n  }\n}\n");
  try {
    load_experiment(p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p + ":3:"), std::string::npos) << e.what();
  }
}

TEST(LoadExperiment, AppliesOverridesAndBaseDir) {
  const std::string p = join_path(::testing::TempDir(), "funnel_good_config.json");
  write_text_file_atomic(p, "{\"data\": {\"train\": [\"a.csv\"]}}");
  const Experiment e = load_experiment(p, {"data.validation_ratio=0.1"});
  EXPECT_EQ(e.root["data"]["validation_ratio"], 0.1);
  EXPECT_EQ(e.base_dir, ::testing::TempDir().substr(0, ::testing::TempDir().size() - 1));
}

}  // namespace
}  // namespace funnel::config
