// Model configurations as typed values: every registry model's options round-trip through
// to_json, "model" sections parse through the registry into a ModelConfig, string choices name
// their JSON path and every choice, ModelOptions refuses the wrong type, AutoHERI's with_arch
// equals the JSON route, and DeriveOptions parses strictly.

#include "model/model_config.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "funnels.h"
#include "model/autoheri.h"
#include "model/autoheri_arch.h"
#include "model/esmm.h"
#include "model/mmoe.h"
#include "model/model.h"
#include "../common/error_of.h"

namespace funnel::model {
namespace {

using funnel::testing::error_of;

using nlohmann::json;

using testing::chain;
using testing::esm2_graph;
using testing::two_events;

/// A searched architecture of the chain funnel, towers {4, 3}, with skip edges.
AutoHeriArch chain_arch() {
  torch::manual_seed(5);
  AutoHeriModel search(chain(), 5,
                       AutoHeriOptions::from_json(json{{"towers", {4, 3}}, {"skip", true}}));
  AutoHeriArch arch = search.arch();
  arch.edges[0].z = {1, 0, 0, 1};
  arch.edges[1].z = {0, 0, 0, 0};
  arch.edges[2].z = {0, 1, 1, 1};
  return arch;
}

/// Options JSONs of model `name` that set every key; across them every key takes a value
/// other than its default (AutoHERI needs several: skip excludes the parallel scheme, and an
/// architecture is only read in fixed mode).
std::vector<json> full_options(const std::string& name) {
  const json esmm = {{"towers", {16, 8}}, {"dropout", 0.25}, {"activation", "tanh"}};
  if (name == "esmm" || name == "dnn" || name == "esm2") return {esmm};
  if (name == "shared_bottom") {
    return {
        {{"bottom", {12, 6}}, {"towers", {4, 3}}, {"dropout", 0.1}, {"activation", "leaky_relu"}}};
  }
  if (name == "autoheri") {
    const json search = {{"towers", {6, 5}},     {"dropout", 0.2},
                         {"activation", "tanh"}, {"scheme", "hierarchical"},
                         {"skip", true},         {"alpha", "search"},
                         {"alpha_init", 0.3},    {"entropy_weight", 0.5},
                         {"edge_init", "zero"},  {"arch", nullptr}};
    json parallel = search;
    parallel["scheme"] = "parallel";
    parallel["skip"] = false;
    const AutoHeriArch arch = chain_arch();
    json fixed = search;
    fixed["alpha"] = "fixed";
    fixed["arch"] = arch.to_json();
    fixed["towers"] = arch.towers;  // the architecture's, as to_json writes them
    return {search, parallel, fixed};
  }
  if (name == "mmoe") {
    return {{{"num_experts", 3},
             {"experts", {12, 6}},
             {"towers", {4}},
             {"dropout", 0.3},
             {"activation", "leaky_relu"}}};
  }
  if (name == "ple") {
    return {{{"levels", 3},
             {"shared_experts", 1},
             {"task_experts", 2},
             {"experts", {6}},
             {"towers", {4, 2}},
             {"dropout", 0.1},
             {"activation", "tanh"}}};
  }
  if (name == "aitm") {
    return {{{"towers", {8, 4}},
             {"calibration_weight", 0.2},
             {"dropout", 0.1},
             {"activation", "tanh"}}};
  }
  if (name == "dbmtl") {
    return {{{"bottom", {12}},
             {"towers", {6}},
             {"relation", {4}},
             {"dropout", 0.1},
             {"activation", "tanh"}}};
  }
  if (name == "multi_dr") {
    return {{{"towers", {8, 4}},
             {"imputation_towers", {6}},
             {"imputation_weight", 0.5},
             {"min_propensity", 0.05},
             {"dropout", 0.1},
             {"activation", "leaky_relu"}}};
  }
  if (name == "taml") {
    return {{{"learners", 3},
             {"learner_towers", {8, 4}},
             {"experts", {6, 5}},
             {"general_experts", 1},
             {"task_experts", 2},
             {"learner_experts", 0},
             {"htakr", false},
             {"distill_first", 0.2},
             {"distill_later", 0.3},
             {"detach_teacher", false},
             {"dropout", 0.1},
             {"activation", "tanh"}}};
  }
  if (name == "dnn_os") {
    return {{{"towers", {8, 4}}, {"dropout", 0.1}, {"activation", "tanh"}, {"oversample", 3.0}}};
  }
  if (name == "escm2_ips" || name == "escm2_dr") {
    return {{{"towers", {8, 4}},
             {"imputation_towers", {6}},
             {"counterfactual_weight", 0.2},
             {"imputation_weight", 0.5},
             {"min_propensity", 0.05},
             {"detach_propensity", false},
             {"dropout", 0.1},
             {"activation", "leaky_relu"}}};
  }
  if (name == "dcmt") {
    return {{{"towers", {8, 4}},
             {"cvr_weight", 0.5},
             {"regularizer_weight", 0.01},
             {"min_propensity", 0.05},
             {"dropout", 0.1},
             {"activation", "tanh"}}};
  }
  if (name == "heroes") {
    return {{{"encoder", {8}},
             {"activation", "tanh"},
             {"hidden", 6},
             {"positions", 12},
             {"time", "timestamp"},
             {"time_scale", 60.0},
             {"feedback", "observed"},
             {"variant", "inter"},
             {"boundary", "hard"},
             {"predict", "behavioural"},
             {"gamma", 2.0},
             {"item_readout", false},
             {"hawkes", false},
             {"objective", "survival"},
             {"beta", 0.5},
             {"segments", "first"}}};
  }
  if (name == "lstm" || name == "time_lstm" || name == "nhp" || name == "dupn" || name == "narm") {
    json o = {{"encoder", {8}},      {"activation", "tanh"}, {"hidden", 6},
              {"positions", 12},     {"time", "timestamp"},  {"time_scale", 60.0},
              {"feedback", "observed"}, {"item_readout", false}};
    if (name == "dupn" || name == "narm") o["attention"] = 7;
    return {o};
  }
  return {};
}

/// A funnel model `name` is defined on (ESM2 needs an action event; the test architecture
/// is the chain's).
FunnelSpec funnel_of(const std::string& name) {
  if (name == "esm2") return esm2_graph();
  if (name == "autoheri") return chain();
  return two_events();
}


std::string options_error(const std::string& name, const json& options) {
  return error_of([&] { parse_model_options(name, options); });
}

std::string config_error(const json& section, const std::string& path = "model") {
  return error_of([&] { parse_model_config(section, path); });
}

std::string derive_error(const json& j, const std::string& path = "derive") {
  return error_of([&] { DeriveOptions::from_json(j, path); });
}

void expect_contains(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& n : needles) EXPECT_NE(text.find(n), std::string::npos) << n << " in: " << text;
}

TEST(ModelConfigTest, NamesAreTheRegistrysInTableOrder) {
  std::vector<std::string> names;
  for (const ModelEntry& e : model_registry()) names.emplace_back(e.name);
  EXPECT_EQ(model_names(), names);
  EXPECT_EQ(names.size(), 21u);
  for (const auto& n : names) EXPECT_TRUE(is_model_name(n)) << n;
  EXPECT_FALSE(is_model_name("esmn"));
  EXPECT_FALSE(is_model_name(""));
}

TEST(ModelConfigTest, EveryModelsOptionsRoundTripWithEveryKeySet) {
  for (const std::string& name : model_names()) {
    const std::vector<json> full = full_options(name);
    ASSERT_FALSE(full.empty()) << name << ": add its options to full_options()";
    const json defaults = parse_model_options(name, json()).options.to_json();
    ASSERT_TRUE(defaults.is_object()) << name;
    // Null and {} are the same defaults, and the defaults reproduce themselves.
    EXPECT_EQ(parse_model_options(name, json::object()).options.to_json(), defaults) << name;
    EXPECT_EQ(parse_model_options(name, defaults).options.to_json(), defaults) << name;
    std::set<std::string> default_keys, changed;
    for (auto it = defaults.begin(); it != defaults.end(); ++it) default_keys.insert(it.key());
    for (const json& j : full) {
      // to_json writes exactly the keys from_json reads...
      std::set<std::string> keys;
      for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
      EXPECT_EQ(keys, default_keys) << name;
      // ...and gives back every one of them.
      const ModelConfig c = parse_model_options(name, j);
      EXPECT_EQ(c.name, name);
      EXPECT_EQ(c.options.to_json(), j) << name << "\n" << c.options.to_json().dump();
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.value() != defaults.at(it.key())) changed.insert(it.key());
      }
      // A valid configuration of a model that builds.
      EXPECT_NO_THROW(make_model(c, funnel_of(name), 5)) << name << " " << j.dump();
    }
    EXPECT_EQ(changed, default_keys)
        << name << ": every key needs a non-default value in full_options()";
  }
}

TEST(ModelConfigTest, TypedOptionsRoundTrip) {
  // The struct behind the registry entry is the model's own options struct.
  const EsmmOptions e = EsmmOptions::from_json(full_options("esmm")[0]);
  EXPECT_EQ(e.activation, Activation::kTanh);
  EXPECT_EQ(EsmmOptions::from_json(e.to_json()).towers, e.towers);
  EXPECT_EQ(EsmmOptions::from_json(e.to_json()).to_json(), e.to_json());
  const MmoeOptions m = MmoeOptions::from_json(full_options("mmoe")[0], "x");
  EXPECT_EQ(MmoeOptions::from_json(m.to_json()).to_json(), m.to_json());
  EXPECT_EQ(MmoeOptions().to_json(), parse_model_options("mmoe", json()).options.to_json());
  const ModelConfig c = parse_model_options("dnn", full_options("dnn")[0]);
  ASSERT_TRUE(c.options.holds<EsmmOptions>());
  EXPECT_EQ(c.options.as<EsmmOptions>().towers, (std::vector<int64_t>{16, 8}));
  const AutoHeriOptions a = AutoHeriOptions::from_json(full_options("autoheri")[2]);
  EXPECT_EQ(a.alpha, AlphaMode::kFixed);
  EXPECT_TRUE(a.edge_zero_init);
  EXPECT_EQ(AutoHeriOptions::from_json(a.to_json()).to_json(), a.to_json());
  // Search mode writes no architecture; the defaults write null.
  EXPECT_TRUE(AutoHeriOptions().to_json().at("arch").is_null());
  EXPECT_EQ(AutoHeriOptions().to_json().at("alpha"), "search");
  EXPECT_EQ(AutoHeriOptions().to_json().at("edge_init"), "default");
}

TEST(ModelConfigTest, ParsesModelSectionsThroughTheRegistry) {
  for (const std::string& name : model_names()) {
    for (const json& options : full_options(name)) {
      json section = options;
      section["name"] = name;
      const ModelConfig c = parse_model_config(section);
      EXPECT_EQ(c.name, name);
      EXPECT_EQ(c.to_json(), section) << name;
      EXPECT_EQ(parse_model_config(c.to_json()).to_json(), c.to_json()) << name;
    }
    // Only the name: every option resolved to its default.
    const ModelConfig d = parse_model_config(json{{"name", name}});
    json expected = parse_model_options(name, json()).options.to_json();
    expected["name"] = name;
    EXPECT_EQ(d.to_json(), expected);
    EXPECT_EQ(parse_model_config(d.to_json()).to_json(), d.to_json());
  }
  // The options are parsed by the named entry only: ESMM has no bottom.
  EXPECT_NO_THROW(parse_model_config(json{{"name", "shared_bottom"}, {"bottom", {8}}}));
  expect_contains(config_error(json{{"name", "esmm"}, {"bottom", {8}}}, "run.model"),
                  {"run.model", "bottom"});
  EXPECT_THROW(parse_model_config(json{{"towers", {8}}}), Error);  // no name
  EXPECT_THROW(parse_model_config(json{{"name", 3}}), Error);
  EXPECT_THROW(parse_model_config(json::array()), Error);
  EXPECT_THROW(parse_model_config(json()), Error);
  expect_contains(config_error(json{{"towers", {8}}}), {"model.name", "esmm, shared_bottom, dnn"});
}

TEST(ModelConfigTest, UnknownModelNamesListTheRegistry) {
  const ModelConfig esmn{"esmn", ModelOptions::of(EsmmOptions())};
  for (const std::string& message :
       {config_error(json{{"name", "esmn"}}), options_error("esmn", json()),
        error_of([] { make_model("esmn", two_events(), 8, json()); }),
        error_of([&] { make_model(esmn, two_events(), 8); })}) {
    expect_contains(message, {"esmn", "esmm, shared_bottom, dnn, autoheri", "dnn_os"});
  }
  expect_contains(config_error(json{{"name", "esmn"}}, "compare"), {"compare.name"});
}

TEST(ModelConfigTest, MisspelledChoicesNameThePathAndTheChoices) {
  for (const std::string& name : model_names()) {
    expect_contains(options_error(name, json{{"activation", "swish"}}),
                    {"model.activation", "relu, leaky_relu or tanh", "'swish'"});
  }
  expect_contains(config_error(json{{"name", "mmoe"}, {"activation", "gelu"}}, "run.m"),
                  {"run.m.activation", "relu, leaky_relu or tanh", "gelu"});
  expect_contains(options_error("autoheri", json{{"scheme", "sideways"}}),
                  {"model.scheme", "hierarchical or parallel", "'sideways'"});
  expect_contains(options_error("autoheri", json{{"alpha", "learned"}}),
                  {"model.alpha", "search or fixed", "'learned'"});
  expect_contains(options_error("autoheri", json{{"edge_init", "ones"}}),
                  {"model.edge_init", "zero or default", "'ones'"});
  json arch = chain_arch().to_json();
  arch["scheme"] = "diagonal";
  expect_contains(error_of([&] { AutoHeriArch::from_json(arch, "a.json"); }),
                  {"a.json.scheme", "hierarchical or parallel", "diagonal"});
  expect_contains(error_of([] { parse_activation("gelu"); }), {"relu, leaky_relu or tanh"});
  expect_contains(error_of([] { parse_integration_scheme("x", "cfg.scheme"); }),
                  {"cfg.scheme", "hierarchical or parallel"});
  // The names round-trip through the tables.
  for (Activation a : {Activation::kRelu, Activation::kLeakyRelu, Activation::kTanh}) {
    EXPECT_EQ(parse_activation(activation_name(a)), a);
  }
  for (IntegrationScheme s : {IntegrationScheme::kHierarchical, IntegrationScheme::kParallel}) {
    EXPECT_EQ(parse_integration_scheme(integration_scheme_name(s)), s);
  }
}

TEST(ModelConfigTest, ModelOptionsHoldsOneTypedStruct) {
  const ModelOptions empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(empty.holds<EsmmOptions>());
  EXPECT_EQ(empty.to_json(), json::object());
  expect_contains(error_of([&] { empty.as<EsmmOptions>(); }), {"EsmmOptions", "nothing"});
  EsmmOptions e;
  e.towers = {3};
  const ModelOptions o = ModelOptions::of(e);
  EXPECT_FALSE(o.empty());
  EXPECT_TRUE(o.holds<EsmmOptions>());
  EXPECT_FALSE(o.holds<MmoeOptions>());
  EXPECT_EQ(o.as<EsmmOptions>().towers, (std::vector<int64_t>{3}));
  EXPECT_EQ(o.to_json(), e.to_json());
  // Both types in the message.
  expect_contains(error_of([&] { o.as<MmoeOptions>(); }), {"MmoeOptions", "EsmmOptions"});
  // Copies share the struct.
  const ModelOptions copy = o;
  EXPECT_EQ(&copy.as<EsmmOptions>(), &o.as<EsmmOptions>());
  // A registry entry refuses another model's options.
  EXPECT_THROW(make_model(ModelConfig{"mmoe", o}, two_events(), 8), Error);
  EXPECT_THROW(make_model(ModelConfig{"esmm", ModelOptions()}, two_events(), 8), Error);
  auto model = make_model(ModelConfig{"esmm", o}, two_events(), 8);
  auto* esmm = dynamic_cast<EsmmModel*>(model.get());
  ASSERT_NE(esmm, nullptr);
  EXPECT_EQ(esmm->options().towers, (std::vector<int64_t>{3}));
  // The config route still checks the funnel and the width.
  EXPECT_THROW(make_model(ModelConfig{"esmm", o}, two_events(), 0), Error);
  EXPECT_THROW(make_model(ModelConfig{"esmm", o}, FunnelSpec{{"a", "b"}, {-1, 1}}, 8), Error);
}

TEST(ModelConfigTest, WithArchEqualsTheJsonRoute) {
  const AutoHeriArch arch = chain_arch();
  // Search options whose shape differs from the architecture's.
  const AutoHeriOptions search = AutoHeriOptions::from_json(json{{"towers", {8}},
                                                                 {"scheme", "parallel"},
                                                                 {"dropout", 0.2},
                                                                 {"activation", "tanh"},
                                                                 {"alpha_init", 0.3},
                                                                 {"entropy_weight", 0.5},
                                                                 {"edge_init", "zero"}});
  const AutoHeriOptions w = search.with_arch(arch);
  json j = search.to_json();
  j["alpha"] = "fixed";
  j["arch"] = arch.to_json();
  const AutoHeriOptions r = AutoHeriOptions::from_json(j);
  EXPECT_EQ(w.to_json(), r.to_json());
  EXPECT_EQ(w.alpha, AlphaMode::kFixed);
  ASSERT_TRUE(w.arch.has_value());
  EXPECT_EQ(w.arch->to_json(), arch.to_json());
  EXPECT_EQ(w.towers, arch.towers);
  EXPECT_EQ(w.scheme, IntegrationScheme::kHierarchical);
  EXPECT_TRUE(w.skip);
  EXPECT_DOUBLE_EQ(w.dropout, 0.2);
  EXPECT_EQ(w.activation, Activation::kTanh);
  EXPECT_TRUE(w.edge_zero_init);
  EXPECT_DOUBLE_EQ(w.alpha_init, 0.3);
  EXPECT_DOUBLE_EQ(w.entropy_weight, 0.5);
  // The search options themselves are unchanged.
  EXPECT_EQ(search.alpha, AlphaMode::kSearch);
  EXPECT_FALSE(search.arch.has_value());
  EXPECT_EQ(search.towers, (std::vector<int64_t>{8}));
  // And it builds the fixed model.
  AutoHeriModel fixed(chain(), 5, w);
  EXPECT_TRUE(fixed.arch_parameters().empty());
  EXPECT_EQ(fixed.arch().to_json(), arch.to_json());
}

TEST(ModelConfigTest, DeriveOptionsParseStrictlyAndRoundTrip) {
  const DeriveOptions d = DeriveOptions::from_json(json());
  EXPECT_EQ(d.rule, DeriveOptions::Rule::kThreshold);
  EXPECT_DOUBLE_EQ(d.threshold, 0.5);
  EXPECT_EQ(d.top_k, 1);
  EXPECT_EQ(DeriveOptions::from_json(json::object()).to_json(), d.to_json());
  const DeriveOptions t = DeriveOptions::from_json(json{{"rule", "top_k"}, {"k", 2}});
  EXPECT_EQ(t.rule, DeriveOptions::Rule::kTopK);
  EXPECT_EQ(t.top_k, 2);
  const json threshold = {{"rule", "threshold"}, {"threshold", 0.3}};
  for (const json& j : {json{{"rule", "top_k"}, {"k", 2}}, threshold, DeriveOptions().to_json()}) {
    EXPECT_EQ(DeriveOptions::from_json(j).to_json(), j);
    EXPECT_EQ(DeriveOptions::from_json(DeriveOptions::from_json(j).to_json()).to_json(), j);
  }
  // The bad cases of the search's "derive" section (tests/train/search_test.cc), and more.
  for (const json& bad : {json{{"rule", "best"}}, json{{"k", 0}, {"rule", "top_k"}},
                          json{{"threshold", 1.0}}, json{{"threshold", -0.1}}, json{{"kk", 1}},
                          json{{"rule", 3}}, json{{"k", 1.5}}, json::array(), json("top_k")}) {
    EXPECT_THROW(DeriveOptions::from_json(bad, "search.derive"), Error) << bad.dump();
  }
  expect_contains(derive_error(json{{"rule", "best"}}, "search.derive"),
                  {"search.derive.rule", "threshold or top_k", "'best'"});
  expect_contains(derive_error(json{{"k", 0}, {"rule", "top_k"}}), {"derive.k", "> 0"});
  expect_contains(derive_error(json{{"threshold", 1.0}}), {"derive.threshold", "[0, 1)"});
  expect_contains(derive_error(json{{"kk", 1}}, "search.derive"), {"search.derive", "kk"});
}

}  // namespace
}  // namespace funnel::model
