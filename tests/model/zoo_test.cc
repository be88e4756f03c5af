// The comparison zoo (ESM2, MMoE, PLE, AITM, DBMTL, Multi-DR, DNN-OS): registry, options,
// output shapes and probability constraints on every funnel shape, dense weights round trip.

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "model/aitm.h"
#include "model/dbmtl.h"
#include "model/dnn_os.h"
#include "model/esm2.h"
#include "model/funnel_output.h"
#include "model/mmoe.h"
#include "model/model.h"
#include "model/multi_dr.h"
#include "model/ple.h"
#include "funnels.h"

namespace funnel::model {
namespace {

using nlohmann::json;

const std::vector<std::string> kZoo = {"esm2",   "mmoe", "ple",       "aitm",     "dbmtl",
                                       "multi_dr", "dnn_os", "taml", "escm2_ips", "escm2_dr",
                                       "dcmt"};

using testing::chain;
using testing::esm2_graph;
using testing::two_events;

/// Funnels a model is defined on: ESM2 needs an action event.
std::vector<FunnelSpec> funnels_of(const std::string& name) {
  if (name == "esm2") return {esm2_graph(), chain()};
  return {two_events(), chain(), esm2_graph()};
}

/// Small widths for every zoo model.
json small(const std::string& name) {
  if (name == "mmoe") return {{"experts", {12, 6}}, {"towers", {4}}, {"num_experts", 3}};
  if (name == "ple") return {{"experts", {6}}, {"towers", {4}}};
  if (name == "dbmtl") return {{"bottom", {12}}, {"towers", {6}}, {"relation", {4}}};
  if (name == "multi_dr") return {{"towers", {8, 4}}, {"imputation_towers", {6}}};
  if (name == "taml") return {{"experts", {6}}, {"learner_towers", {4}}};
  if (name == "escm2_dr") return {{"towers", {8, 4}}, {"imputation_towers", {6}}};
  return {{"towers", {8, 4}}};
}

TEST(ZooTest, EveryModelIsRegistered) {
  for (const auto& name : kZoo) {
    bool found = false;
    for (const auto& e : model_registry()) {
      if (name == e.name) {
        found = true;
        EXPECT_GT(std::string(e.summary).size(), 10u);
      }
    }
    EXPECT_TRUE(found) << name;
  }
}

TEST(ZooTest, RejectsBadOptions) {
  for (const auto& name : kZoo) {
    const FunnelSpec f = funnels_of(name).front();
    EXPECT_THROW(make_model(name, f, 8, json{{"tower", json::array({8})}}), Error) << name;
    EXPECT_THROW(make_model(name, f, 8, json{{"towers", json::array({8, 0})}}), Error) << name;
    EXPECT_THROW(make_model(name, f, 8, json{{"towers", 8}}), Error) << name;
    EXPECT_THROW(make_model(name, f, 8, json{{"dropout", 1.0}}), Error) << name;
    EXPECT_THROW(make_model(name, f, 8, json{{"activation", "swish"}}), Error) << name;
    EXPECT_THROW(make_model(name, f, 8, json::array()), Error) << name;
    EXPECT_NO_THROW(make_model(name, f, 8, json())) << name;  // null = defaults
  }
  EXPECT_THROW(make_model("mmoe", two_events(), 8, json{{"num_experts", 0}}), Error);
  EXPECT_THROW(make_model("ple", two_events(), 8, json{{"levels", 0}}), Error);
  EXPECT_THROW(
      make_model("ple", two_events(), 8, json{{"shared_experts", 0}, {"task_experts", 0}}), Error);
  EXPECT_THROW(make_model("ple", two_events(), 8, json{{"task_experts", -1}}), Error);
  EXPECT_THROW(make_model("aitm", two_events(), 8, json{{"calibration_weight", -1}}), Error);
  EXPECT_THROW(make_model("aitm", two_events(), 8, json{{"towers", json::array()}}), Error);
  EXPECT_THROW(make_model("multi_dr", two_events(), 8, json{{"min_propensity", 0}}), Error);
  EXPECT_THROW(make_model("multi_dr", two_events(), 8, json{{"imputation_weight", -1}}), Error);
  EXPECT_THROW(make_model("dnn_os", two_events(), 8, json{{"oversample", 0.5}}), Error);
  EXPECT_THROW(make_model("dnn_os", two_events(), 8, json{{"oversample", "x"}}), Error);
  EXPECT_THROW(make_model("dbmtl", two_events(), 8, json{{"relation", json::array({0})}}), Error);
}

TEST(ZooTest, Esm2NeedsAnActionEvent) {
  try {
    make_model("esm2", two_events(), 8, json());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("esmm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_model("esm2", FunnelSpec{{"a", "b", "c", "d"}, {-1, 0, 0, 0}}, 8, json()),
               Error);
  EXPECT_THROW(make_model("esm2", FunnelSpec{{"a", "b", "c"}, {-1, -1, 0}}, 8, json()), Error);
  auto graph = std::dynamic_pointer_cast<Esm2Model>(make_model("esm2", esm2_graph(), 8, json()));
  auto line = std::dynamic_pointer_cast<Esm2Model>(make_model("esm2", chain(), 8, json()));
  ASSERT_TRUE(graph && line);
  EXPECT_EQ(graph->num_towers(), 4u);
  EXPECT_EQ(line->num_towers(), 3u);
}

TEST(ZooTest, OptionDefaults) {
  const MmoeOptions m = MmoeOptions::from_json(json::object());
  EXPECT_EQ(m.num_experts, 4);
  EXPECT_EQ(m.experts, (std::vector<int64_t>{200, 80}));
  EXPECT_EQ(m.towers, (std::vector<int64_t>{20}));
  const PleOptions p = PleOptions::from_json(json::object());
  EXPECT_EQ(p.levels, 2);
  EXPECT_EQ(p.shared_experts, 2);
  EXPECT_EQ(p.task_experts, 1);
  EXPECT_EQ(p.experts, (std::vector<int64_t>{80}));
  const AitmOptions a = AitmOptions::from_json(json::object());
  EXPECT_EQ(a.towers, (std::vector<int64_t>{200, 80, 20}));
  EXPECT_DOUBLE_EQ(a.calibration_weight, 0.6);
  const DbmtlOptions d = DbmtlOptions::from_json(json::object());
  EXPECT_EQ(d.bottom, (std::vector<int64_t>{200, 80}));
  EXPECT_EQ(d.relation, (std::vector<int64_t>{20}));
  const MultiDrOptions r = MultiDrOptions::from_json(json::object());
  EXPECT_EQ(r.imputation_towers, (std::vector<int64_t>{200, 80, 20}));
  EXPECT_DOUBLE_EQ(r.imputation_weight, 1.0);
  EXPECT_DOUBLE_EQ(r.min_propensity, 0.01);
  const DnnOsOptions o = DnnOsOptions::from_json(json{{"oversample", 3}, {"towers", {7}}});
  EXPECT_DOUBLE_EQ(o.oversample, 3.0);
  EXPECT_EQ(o.towers.towers, (std::vector<int64_t>{7}));
  EXPECT_DOUBLE_EQ(DnnOsOptions::from_json(json()).oversample, 5.0);
  const PleOptions q = PleOptions::from_json(json{{"levels", 3}, {"task_experts", 0}});
  EXPECT_EQ(q.levels, 3);
  EXPECT_EQ(q.task_experts, 0);
}

TEST(ZooTest, TrainingSpaces) {
  for (const auto& name : kZoo) {
    const auto model = make_model(name, funnels_of(name).front(), 4, json());
    EXPECT_EQ(model->training_space(),
              name == "dnn_os" ? TrainingSpace::kClickSpace : TrainingSpace::kEntireSpace)
        << name;
  }
}

TEST(ZooTest, OutputsAreProbabilitiesAndFunnelOrdered) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({33, 12}) * 3;
  for (const auto& name : kZoo) {
    for (const auto& funnel : funnels_of(name)) {
      json options = small(name);
      options["dropout"] = 0.2;
      auto model = make_model(name, funnel, 12, options);
      model->eval();
      const FunnelOutput out = model->forward(x);
      ASSERT_EQ(out.num_events(), funnel.num_events()) << name;
      ASSERT_EQ(out.cond_log_q.size(), funnel.num_events());
      // Model terms of their own: AITM's calibrator, TAML's self-distillation.
      EXPECT_EQ(out.aux_loss.defined(), name == "aitm" || name == "taml") << name;
      EXPECT_EQ(static_cast<bool>(out.event_losses),
                name == "multi_dr" || name == "dnn_os" || name == "aitm" || name == "dbmtl" ||
                    name == "escm2_ips" || name == "escm2_dr" || name == "dcmt");
      for (size_t e = 0; e < out.num_events(); ++e) {
        EXPECT_EQ(out.cond_log_p[e].sizes(), (std::vector<int64_t>{33})) << name;
        const torch::Tensor p = out.cond_log_p[e].exp();
        // Marginal-head models (AITM, DBMTL) may cap P(e | parent) at exactly 1.
        EXPECT_TRUE((p > 0).all().item<bool>() && (p <= 1).all().item<bool>()) << name;
        EXPECT_TRUE(torch::isfinite(out.cond_log_q[e]).all().item<bool>()) << name;
        EXPECT_TRUE(torch::allclose(p + out.cond_log_q[e].exp(), torch::ones_like(p)))
            << name << " " << e;
      }
      const auto log_p = entire_space_log_p(out, funnel.parents);
      for (size_t e = 1; e < log_p.size(); ++e) {
        EXPECT_TRUE((log_p[e] <= log_p[funnel.parents[e]]).all().item<bool>()) << name;
      }
      if (out.aux_loss.defined()) {
        EXPECT_EQ(out.aux_loss.dim(), 0);
        EXPECT_GE(out.aux_loss.item<double>(), 0.0);
      }
      if (out.event_losses) {
        const torch::Tensor y = (torch::rand({int64_t(funnel.num_events()), 33}) > 0.5).to(
            torch::kFloat32);
        const auto terms = out.event_losses(y);
        ASSERT_EQ(terms.size(), funnel.num_events()) << name;
        for (const auto& t : terms) {
          if (t.defined()) {
            EXPECT_TRUE(std::isfinite(t.item<double>())) << name;
          }
        }
      }
    }
  }
}

TEST(ZooTest, DenseWeightsRoundTripThroughTheRegistry) {
  // What a bundle does: rebuild the model by name and options, load the dense archive.
  const torch::Tensor x = torch::randn({9, 10});
  for (const auto& name : kZoo) {
    for (const auto& funnel : funnels_of(name)) {
      torch::manual_seed(1);
      auto a = make_model(name, funnel, 10, small(name));
      a->eval();
      torch::serialize::OutputArchive out;
      a->save(out);
      std::ostringstream bytes;
      out.save_to(bytes);
      torch::manual_seed(2);  // different initial weights
      auto b = make_model(name, funnel, 10, small(name));
      b->eval();
      std::istringstream in_bytes(bytes.str());
      torch::serialize::InputArchive in;
      in.load_from(in_bytes);
      b->load(in);
      const FunnelOutput oa = a->forward(x), ob = b->forward(x);
      for (size_t e = 0; e < funnel.num_events(); ++e) {
        EXPECT_TRUE(torch::equal(oa.cond_log_p[e], ob.cond_log_p[e])) << name << " " << e;
      }
    }
  }
}

}  // namespace
}  // namespace funnel::model
