// Bundle round trip: a model saved and loaded scores identically; damaged bundles are clear
// errors, never crashes.

#include "serve/predictor.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include "core/error.h"
#include "core/file.h"
#include "model/bundle.h"
#include "model/evaluator.h"

namespace funnel::serve {
namespace {

nlohmann::json data_section() {
  return nlohmann::json::parse(R"({
    "train": ["unused.csv"],
    "labels": ["click", "conversion"],
    "categorical": ["user", {"name": "tags", "multi": true, "weighted": true, "dim": 3},
                    {"name": "cats", "multi": true, "dim": 2}],
    "numeric": ["price", "age"]})");
}

/// The embedding options of the test bundle (tables seeded with 11).
model::FeatureEmbeddingOptions embedding_options(const nlohmann::json& j) {
  model::FeatureEmbeddingOptions o = model::FeatureEmbeddingOptions::from_json(j);
  o.table.seed = 11;
  return o;
}

data::Batch batch() {
  data::Batch b;
  b.size = 3;
  b.num_events = 2;
  b.labels = {1, 0, 1, 0, 0, 1};
  b.sparse.resize(3);
  b.sparse[0].ids = {3, 0, 9};
  b.sparse[1].ids = {1, 2, 6, 1};
  b.sparse[1].offsets = {0, 2, 2, 4};
  b.sparse[1].weights = {0.5f, 2.0f, 1.0f, -1.0f};
  b.sparse[2].ids = {4, 0, 1};
  b.sparse[2].offsets = {0, 1, 3, 3};
  b.num_dense = 2;
  b.dense = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f};
  b.row = {0, 1, 2};
  return b;
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = join_path(::testing::TempDir(), "funnel_bundle_test");
    remove_all(dir_);
    make_dirs(dir_);
    torch::manual_seed(3);
    const data::Schema schema = data::parse_schema(data_section());
    layout_ = data::Layout::from_schema(schema);
    std::vector<data::Vocabulary> vocabs;
    for (uint64_t n : {10, 7, 5}) vocabs.push_back(data::Vocabulary::hashed(n));
    const nlohmann::json emb_json = {{"dim", 4}};
    auto emb = std::make_shared<model::FeatureEmbedding>(
        layout_, std::vector<uint64_t>{10, 7, 5},
        embedding_options(emb_json));
    const model::FunnelSpec funnel{layout_.events, layout_.event_parent};
    const nlohmann::json opts = {{"towers", {8, 4}}};
    auto net = model::make_model("esmm", funnel, emb->input_dim(), opts);
    net->eval();
    {
      torch::NoGradGuard g;
      const auto lp = model::entire_space_log_p(net->forward(emb->lookup(batch())), funnel.parents);
      for (const auto& t : lp) {
        expected_.insert(expected_.end(), t.data_ptr<float>(), t.data_ptr<float>() + 3);
      }
    }
    path_ = join_path(dir_, "model.bundle");
    model::BundleSpec spec;
    spec.model = model::parse_model_options("esmm", opts);
    spec.embedding = embedding_options(emb_json);
    spec.data = data::parse_data_config(data_section(), "");
    spec.vocabs = std::move(vocabs);
    spec.dense_mean = {0.5f, 1.0f};
    spec.dense_std = {2.0f, 3.0f};
    model::write_bundle(path_, model::make_bundle(spec, *net, *emb));
  }

  std::string error_of(const std::string& bytes) {
    const std::string p = join_path(dir_, "damaged.bundle");
    write_text_file_atomic(p, bytes);
    try {
      model::load_bundle(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  std::string dir_, path_;
  data::Layout layout_;
  std::vector<float> expected_;
};

TEST_F(BundleTest, LoadedBundleScoresIdentically) {
  const model::LoadedBundle b = model::load_bundle(path_);
  EXPECT_EQ(b.header["model"], "esmm");
  EXPECT_EQ(b.dense_mean, (std::vector<float>{0.5f, 1.0f}));
  ASSERT_EQ(b.vocabs.size(), 3u);
  EXPECT_EQ(b.vocabs[1].size(), 7u);
  const BatchScores s = Predictor(b).score(batch());
  EXPECT_EQ(s.log_p, expected_);
}

// A model with per-task embeddings (a table set per event) scores from its bundle exactly as
// training's evaluation does: the sharing travels in the bundle's embedding section.
TEST(PerTaskBundleTest, LoadedBundleScoresAsTheTrainingEvaluation) {
  const std::string dir = join_path(::testing::TempDir(), "funnel_bundle_per_task");
  remove_all(dir);
  make_dirs(dir);
  for (const std::string name : {"esmm", "autoheri"}) {
    torch::manual_seed(3);
    const data::Schema schema = data::parse_schema(data_section());
    const data::Layout layout = data::Layout::from_schema(schema);
    const nlohmann::json emb_json = {{"dim", 4}, {"sharing", "per_task"}};
    auto emb = std::make_shared<model::FeatureEmbedding>(layout, std::vector<uint64_t>{10, 7, 5},
                                                         embedding_options(emb_json));
    ASSERT_EQ(emb->num_sets(), 2u);
    const model::FunnelSpec funnel{layout.events, layout.event_parent};
    const nlohmann::json opts = {{"towers", {8, 4}}};
    auto net = model::make_model(name, funnel, emb->tower_input_dim(), opts);
    net->eval();
    const model::Evaluator evaluator(*net, *emb, funnel);
    const std::vector<float> expected = evaluator.score(batch()).log_p;
    const std::string path = join_path(dir, name + ".bundle");
    model::BundleSpec spec;
    spec.model = model::parse_model_options(name, opts);
    spec.embedding = embedding_options(emb_json);
    spec.data = data::parse_data_config(data_section(), "");
    for (uint64_t n : {10, 7, 5}) spec.vocabs.push_back(data::Vocabulary::hashed(n));
    spec.dense_mean = {0.5f, 1.0f};
    spec.dense_std = {2.0f, 3.0f};
    model::write_bundle(path, model::make_bundle(spec, *net, *emb));
    const model::LoadedBundle b = model::load_bundle(path);
    EXPECT_EQ(b.header["embedding"]["sharing"], "per_task");
    EXPECT_EQ(b.embedding->num_sets(), 2u);
    EXPECT_EQ(Predictor(b).score(batch()).log_p, expected) << name;
  }
  remove_all(dir);
}

// The bundle records resolved, typed sections and reads input as training did, without files.
TEST_F(BundleTest, RecordsTheResolvedSectionsAndReadsWithoutFiles) {
  const model::LoadedBundle b = model::load_bundle(path_);
  EXPECT_EQ(b.model.name, "esmm");
  EXPECT_EQ(b.header["model_options"]["towers"], nlohmann::json({8, 4}));
  EXPECT_EQ(b.header["model_options"]["activation"], "relu");  // a default, written out
  EXPECT_EQ(b.header["embedding"]["dim"], 4);
  EXPECT_TRUE(b.data.train.empty());
  EXPECT_EQ(b.schema.categorical.size(), 3u);
  const data::DataConfig read = bundle_data_config(b, /*with_labels=*/false);
  EXPECT_TRUE(read.train.empty());
  EXPECT_TRUE(read.schema.labels.empty());
  EXPECT_EQ(read.schema.numeric.size(), 2u);
  EXPECT_EQ(bundle_data_config(b, /*with_labels=*/true).schema.labels.size(), 2u);
}

TEST_F(BundleTest, DamagedBundlesAreClearErrors) {
  const std::string bytes = read_text_file(path_);
  EXPECT_NE(error_of(bytes.substr(0, bytes.size() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(bytes.substr(0, bytes.size() / 2)).find("truncated"), std::string::npos);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  EXPECT_NE(error_of(flipped).find("checksum"), std::string::npos);
  std::string version = bytes;
  version[8] = 7;
  EXPECT_NE(error_of(version).find("version 7"), std::string::npos) << error_of(version);
  // Bundles of the first format (a raw data section) are refused by number, not misread.
  version[8] = 1;
  EXPECT_NE(error_of(version).find("bundle format version 1, this build reads version 2"),
            std::string::npos)
      << error_of(version);
  EXPECT_NE(error_of("hello").find("not a Funnel model bundle"), std::string::npos);
  EXPECT_NE(error_of("").find("not a Funnel model bundle"), std::string::npos);
}

}  // namespace
}  // namespace funnel::serve
