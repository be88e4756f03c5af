#include "config/experiment.h"

#include <gtest/gtest.h>

#include <functional>
#include <variant>

#include "../common/error_of.h"
#include "core/error.h"
#include "core/file.h"

namespace funnel::config {
namespace {

using funnel::testing::error_of;

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
    read_experiment(p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p + ":3:"), std::string::npos) << e.what();
  }
}

TEST(LoadExperiment, AppliesOverridesAndBaseDir) {
  const std::string p = join_path(::testing::TempDir(), "funnel_good_config.json");
  write_text_file_atomic(p, "{\"data\": {\"train\": [\"a.csv\"]}}");
  const ExperimentFile e = read_experiment(p, {"data.validation_ratio=0.1"});
  EXPECT_EQ(e.root["data"]["validation_ratio"], 0.1);
  EXPECT_EQ(e.base_dir, ::testing::TempDir().substr(0, ::testing::TempDir().size() - 1));
}


/// An experiment file in the test's temporary folder.
std::string write_config(const std::string& name, const nlohmann::json& root) {
  const std::string p = join_path(::testing::TempDir(), name);
  write_text_file_atomic(p, root.dump(2));
  return p;
}

nlohmann::json data_section() {
  return {{"train", {"train.csv"}},
          {"validation", {"val.csv"}},
          {"labels", {"click", "purchase"}},
          {"categorical", {"user", "item"}}};
}


TEST(ParseExperiment, SectionsAreTypedAndResolved) {
  const std::string p = write_config(
      "funnel_typed.json", {{"data", data_section()},
                            {"model", {{"name", "esmm"}, {"towers", {16, 8}}}},
                            {"train", {{"epochs", 3}}},
                            {"embedding", {{"dim", 8}}}});
  const Experiment e = load_experiment(p, {"train.lr=0.01"}, Command::kTrain);
  ASSERT_TRUE(e.model.has_value());
  EXPECT_EQ(e.model->name, "esmm");
  EXPECT_EQ(e.train.epochs, 3);
  EXPECT_DOUBLE_EQ(e.train.lr, 0.01);
  EXPECT_EQ(e.embedding.embedding_dim, 8u);
  EXPECT_FALSE(e.search.has_value());
  EXPECT_EQ(e.data.train.size(), 1u);
  // Resolved: defaults written out, paths resolved against the config's folder.
  const nlohmann::json j = e.to_json();
  EXPECT_EQ(j["model"]["towers"], nlohmann::json({16, 8}));
  EXPECT_EQ(j["model"]["dropout"], 0.0);
  EXPECT_EQ(j["train"]["batch_size"], 1024);
  EXPECT_EQ(j["embedding"]["optimizer"], "adam");
  EXPECT_EQ(j["data"]["train"][0], join_path(e.base_dir, "train.csv"));
  // The resolved experiment is itself a config that parses to the same experiment.
  const std::string again = write_config("funnel_typed_again.json", j);
  EXPECT_EQ(load_experiment(again, {}, Command::kTrain).to_json(), j);
}

TEST(ParseExperiment, EveryCommandRejectsUnknownAndMisplacedSections) {
  const nlohmann::json base = {{"data", data_section()}, {"model", {{"name", "esmm"}}}};
  nlohmann::json typo = base;
  typo["trian"] = {{"epochs", 2}};
  const std::string p = write_config("funnel_typo.json", typo);
  for (Command c : {Command::kData, Command::kEval, Command::kTrain, Command::kSearch,
                    Command::kCompare}) {
    const std::string err = error_of([&] { load_experiment(p, {}, c); });
    EXPECT_NE(err.find("unknown section 'trian'"), std::string::npos) << err;
    EXPECT_NE(err.find("data, model, embedding, train"), std::string::npos) << err;
  }
  // A compare section is compare's: an error for train and search, fine for data and eval.
  nlohmann::json misplaced = base;
  misplaced["compare"] = {{"models", nlohmann::json::object()}};
  const std::string q = write_config("funnel_misplaced.json", misplaced);
  const std::string err = error_of([&] { load_experiment(q, {}, Command::kTrain); });
  EXPECT_NE(err.find("section 'compare' is not used by funnel train"), std::string::npos) << err;
  EXPECT_NE(err.find("funnel compare"), std::string::npos) << err;
  EXPECT_NE(error_of([&] { load_experiment(q, {}, Command::kSearch); }), "");
  EXPECT_EQ(error_of([&] { load_experiment(q, {}, Command::kData); }), "");
  EXPECT_EQ(error_of([&] { load_experiment(q, {}, Command::kEval); }), "");
  // Data commands need no model; train does.
  const std::string r = write_config("funnel_data_only.json", {{"data", data_section()}});
  EXPECT_EQ(error_of([&] { load_experiment(r, {}, Command::kData); }), "");
  EXPECT_NE(error_of([&] { load_experiment(r, {}, Command::kTrain); }).find("model"),
            std::string::npos);
}

TEST(ParseExperiment, MisspelledEarlyStoppingMetricListsTheChoices) {
  const std::string p = write_config(
      "funnel_metric.json", {{"data", data_section()}, {"model", {{"name", "esmm"}}}});
  const std::string metric = error_of(
      [&] { load_experiment(p, {"train.early_stop_metric=cvr.acu"}, Command::kTrain); });
  EXPECT_NE(metric.find("train.early_stop_metric"), std::string::npos) << metric;
  EXPECT_NE(metric.find("auc, gauc, gauc_unweighted, ndcg, ndcg@1, ndcg@3, ndcg@5, ndcg@10 or nll"),
            std::string::npos)
      << metric;
  EXPECT_NE(metric.find("'acu'"), std::string::npos) << metric;
  const std::string entry = error_of(
      [&] { load_experiment(p, {"train.early_stop_metric=cvrr.auc"}, Command::kTrain); });
  EXPECT_NE(entry.find("ctr, cvr or ctcvr"), std::string::npos) << entry;
  EXPECT_NE(entry.find("'cvrr'"), std::string::npos) << entry;
  EXPECT_EQ(
      error_of([&] { load_experiment(p, {"train.early_stop_metric=ctcvr.nll"}, Command::kTrain); }),
      "");
}

// embedding.sharing = per_task is checked against the model where the experiment is parsed.
TEST(ParseExperiment, PerTaskEmbeddingsNeedATowerModel) {
  const std::string p = write_config("funnel_sharing.json",
                                     {{"data", data_section()}, {"model", {{"name", "mmoe"}}}});
  const std::string mmoe =
      error_of([&] { load_experiment(p, {"embedding.sharing=per_task"}, Command::kTrain); });
  EXPECT_NE(mmoe.find("embedding.sharing: per_task embeddings need a model"), std::string::npos)
      << mmoe;
  EXPECT_NE(mmoe.find("esmm, dnn, autoheri"), std::string::npos) << mmoe;
  const std::string typo =
      error_of([&] { load_experiment(p, {"embedding.sharing=per-task"}, Command::kTrain); });
  EXPECT_NE(typo.find("embedding.sharing: expected shared or per_task, got 'per-task'"),
            std::string::npos)
      << typo;
  for (const char* ok : {"model.name=esmm", "model.name=dnn", "model.name=autoheri"}) {
    const Experiment e = load_experiment(p, {"embedding.sharing=per_task", ok}, Command::kTrain);
    EXPECT_EQ(e.embedding.sharing, model::EmbeddingSharing::kPerTask);
    EXPECT_EQ(e.to_json()["embedding"]["sharing"], "per_task");
  }
  EXPECT_EQ(error_of([&] {
              load_experiment(p, {"train.embedding_reset=epoch", "train.embedding_lr_scale=0.5"},
                              Command::kTrain);
            }),
            "");
}

TEST(ParseExperiment, SearchIsAutoHeriAndCompareKeepsItsPatches) {
  const std::string p = write_config(
      "funnel_search.json",
      {{"data", data_section()}, {"search", {{"alpha_lr", 0.1}}}, {"evolution", {{"cycles", 2}}}});
  const Experiment s = load_experiment(p, {}, Command::kSearch);
  EXPECT_EQ(s.model->name, "autoheri");
  EXPECT_DOUBLE_EQ(s.search->alpha_lr, 0.1);
  EXPECT_EQ(s.evolution->cycles, 2);
  EXPECT_NE(error_of([&] { load_experiment(p, {"model.name=esmm"}, Command::kSearch); })
                .find("AutoHERI"),
            std::string::npos);

  const std::string q = write_config(
      "funnel_compare.json",
      {{"data", data_section()},
       {"model", {{"towers", {16, 8}}, {"dropout", 0.1}}},
       {"compare", {{"models", {{"dnn", {{"towers", {8}}, {"dropout", nullptr}}}}}}}});
  const Experiment c = load_experiment(q, {}, Command::kCompare);
  EXPECT_EQ(c.compare->model("esmm").to_json()["towers"], nlohmann::json({16, 8}));
  EXPECT_EQ(c.compare->model("dnn").to_json()["towers"], nlohmann::json({8}));
  EXPECT_EQ(c.compare->model("dnn").to_json()["dropout"], 0.0);  // the patch removed it
  EXPECT_NE(error_of([&] { load_experiment(q, {"compare.models.esmn={}"}, Command::kCompare); })
                .find("esmn"),
            std::string::npos);
}

// from_json(to_json(x)) == x for every section: a JSON setting every key to a non-default value
// parses, writes back exactly, and the defaults write back to what parses to the defaults.
template <typename T>
void expect_section_round_trip(const nlohmann::json& every_key) {
  const T parsed = T::from_json(every_key);
  EXPECT_EQ(parsed.to_json(), every_key);
  EXPECT_EQ(T::from_json(parsed.to_json()).to_json(), every_key);
  const T defaults = T::from_json(nlohmann::json());
  EXPECT_EQ(T::from_json(defaults.to_json()).to_json(), defaults.to_json());
  EXPECT_NE(defaults.to_json(), every_key);
}

TEST(ParseExperiment, EverySectionRoundTrips) {
  expect_section_round_trip<train::TrainerOptions>({{"batch_size", 512},
                                                    {"list_batches", true},
                                                    {"lists_per_batch", 16},
                                                    {"epochs", 3},
                                                    {"lr", 0.01},
                                                    {"weight_decay", 0.001},
                                                    {"seed", 7},
                                                    {"threads", 2},
                                                    {"eval_every_steps", 100},
                                                    {"log_loss_every", 25},
                                                    {"early_stop_metric", "ctcvr.nll"},
                                                    {"patience", 4},
                                                    {"max_steps", 900},
                                                    {"restore_best", false},
                                                    {"loss_weights", {1.0, 3.0}},
                                                    {"stop_ctcvr_grad_to_ctr", true},
                                                    {"embedding_reset", "epoch"},
                                                    {"embedding_lr_scale", 0.5}});
  expect_section_round_trip<train::SearchOptions>({{"alpha_lr", 0.01},
                                                   {"alpha_weight_decay", 0.001},
                                                   {"alpha_split", "validation"},
                                                   {"holdout_fraction", 0.2},
                                                   {"alpha_space", "click"},
                                                   {"alpha_log_every", 3},
                                                   {"derive", {{"rule", "top_k"}, {"k", 2}}},
                                                   {"validate", true}});
  expect_section_round_trip<train::EvolutionOptions>({{"population", 5},
                                                      {"sample_size", 2},
                                                      {"cycles", 7},
                                                      {"steps_per_candidate", 50},
                                                      {"seed", 9},
                                                      {"init_density", 0.25}});
  expect_section_round_trip<model::FeatureEmbeddingOptions>({{"dim", 8},
                                                             {"optimizer", "adagrad"},
                                                             {"lr", 0.05},
                                                             {"weight_decay", 0.0001},
                                                             {"pooling", "mean"},
                                                             {"init_scale", 0.01},
                                                             {"sharing", "per_task"},
                                                             {"frequency_weight_decay", 0.0}});
  const model::FeatureEmbeddingOptions sgd =
      model::FeatureEmbeddingOptions::from_json({{"optimizer", "sgd"}, {"lr", 0.1}});
  EXPECT_TRUE(std::holds_alternative<embed::SgdOptions>(sgd.table.optimizer));
  EXPECT_DOUBLE_EQ(std::get<embed::SgdOptions>(sgd.table.optimizer).lr, 0.1);
  // The compare section keeps its patches as given.
  const nlohmann::json compare = {
      {"models", {{"mmoe", {{"num_experts", 2}}}}},
      {"variants", {{"mmoe_wide", {{"model", "mmoe"}, {"experts", {64}}}}}}};
  const std::string q = write_config("funnel_compare_rt.json",
                                     {{"data", data_section()}, {"compare", compare}});
  const Experiment c = load_experiment(q, {}, Command::kCompare);
  EXPECT_EQ(c.compare->to_json(), compare);
  // A variant: its model's patch, then its own.
  const nlohmann::json wide = c.compare->model("mmoe_wide").to_json();
  EXPECT_EQ(wide["name"], "mmoe");
  EXPECT_EQ(wide["num_experts"], 2);
  EXPECT_EQ(wide["experts"], nlohmann::json({64}));
  EXPECT_NE(error_of([&] { c.compare->model("mmoe_narrow"); }).find("mmoe_narrow"),
            std::string::npos);
  for (const auto& [bad, why] :
       std::vector<std::pair<nlohmann::json, std::string>>{
           {{{"esmm", {{"model", "mmoe"}}}}, "its own label"},
           {{{"v", {{"learners", 1}}}}, "\"model\""},
           {{{"v", {{"model", "tamll"}}}}, "tamll"}}) {
    const std::string p = write_config(
        "funnel_compare_bad.json", {{"data", data_section()}, {"compare", {{"variants", bad}}}});
    EXPECT_NE(error_of([&] { load_experiment(p, {}, Command::kCompare); }).find(why),
              std::string::npos)
        << bad.dump();
  }
}

}  // namespace
}  // namespace funnel::config
