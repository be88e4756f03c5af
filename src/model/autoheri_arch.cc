#include "model/autoheri_arch.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/choice.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_fields.h"
#include "core/json_text.h"

namespace funnel::model {
namespace {

constexpr const char* kFormat = "funnel.autoheri.arch";

constexpr Choice<IntegrationScheme> kSchemes[] = {
    {"hierarchical", IntegrationScheme::kHierarchical}, {"parallel", IntegrationScheme::kParallel}};

constexpr Choice<DeriveOptions::Rule> kDeriveRules[] = {
    {"threshold", DeriveOptions::Rule::kThreshold}, {"top_k", DeriveOptions::Rule::kTopK}};

bool is_ancestor(const std::vector<int>& parents, int a, int e) {
  for (int p = parents.at(e); p >= 0; p = parents.at(p)) {
    if (p == a) return true;
  }
  return false;
}

}  // namespace

IntegrationScheme parse_integration_scheme(const std::string& name, const std::string& path) {
  return parse_choice(name, kSchemes, path);
}

const char* integration_scheme_name(IntegrationScheme s) { return choice_name(s, kSchemes); }

bool is_candidate(IntegrationScheme scheme, size_t i, size_t j) {
  return scheme == IntegrationScheme::kHierarchical || i < j;
}

std::vector<ArchEdge> candidate_edges(const FunnelSpec& funnel, IntegrationScheme scheme,
                                      bool skip) {
  funnel.validate();
  std::vector<ArchEdge> edges;
  const int n = static_cast<int>(funnel.num_events());
  for (int s = 0; s < n; ++s) {
    for (int t = 0; t < n; ++t) {
      if (t == s) continue;
      const bool take =
          scheme == IntegrationScheme::kParallel
              ? true
              : (funnel.parents[s] == t || (skip && is_ancestor(funnel.parents, t, s)));
      if (take) edges.push_back(ArchEdge{t, s, {}, {}});
    }
  }
  return edges;
}

nlohmann::json DeriveOptions::to_json() const {
  // Only the key of the rule in use: derived_by records how z was derived, nothing more.
  if (rule == Rule::kThreshold) {
    return {{"rule", choice_name(rule, kDeriveRules)}, {"threshold", threshold}};
  }
  return {{"rule", choice_name(rule, kDeriveRules)}, {"k", top_k}};
}

DeriveOptions DeriveOptions::from_json(const nlohmann::json& j, const std::string& path) {
  DeriveOptions d;
  if (j.is_null()) return d;
  JsonFields f(j, path);
  d.rule = parse_choice(f.get<std::string>("rule", choice_name(d.rule, kDeriveRules)), kDeriveRules,
                        f.path("rule"));
  d.threshold = f.get<double>("threshold", d.threshold);
  d.top_k = f.get<int>("k", d.top_k);
  f.finish();
  FUNNEL_CHECK(d.threshold >= 0 && d.threshold < 1,
               f.path("threshold") << ": expected a value in [0, 1), got " << d.threshold);
  FUNNEL_CHECK(d.top_k > 0, f.path("k") << ": must be > 0, got " << d.top_k);
  return d;
}

size_t AutoHeriArch::num_connections() const {
  size_t n = 0;
  for (const auto& e : edges) n += static_cast<size_t>(std::count(e.z.begin(), e.z.end(), 1));
  return n;
}

void AutoHeriArch::derive(const DeriveOptions& o) {
  const size_t L = num_layers();
  for (auto& e : edges) {
    FUNNEL_CHECK(e.alpha.size() == L * L,
                 "arch: edge " << e.from << " -> " << e.to << " has no alpha to derive z from");
    e.z.assign(L * L, 0);
  }
  if (o.rule == DeriveOptions::Rule::kThreshold) {
    for (auto& e : edges) {
      for (size_t k = 0; k < L * L; ++k) {
        e.z[k] = is_candidate(scheme, k / L, k % L) && e.alpha[k] > o.threshold;
      }
    }
    derived_by = o.to_json().dump();
    return;
  }
  FUNNEL_CHECK(o.top_k > 0, "arch: top_k must be > 0, got " << o.top_k);
  const int n = static_cast<int>(events.size());
  for (int s = 0; s < n; ++s) {
    for (size_t j = 0; j < L; ++j) {
      // (alpha, edge index, source layer) of every candidate into (s, j).
      std::vector<std::tuple<double, size_t, size_t>> c;
      for (size_t k = 0; k < edges.size(); ++k) {
        if (edges[k].to != s) continue;
        for (size_t i = 0; i < L; ++i) {
          if (is_candidate(scheme, i, j)) c.emplace_back(edges[k].alpha[i * L + j], k, i);
        }
      }
      std::stable_sort(c.begin(), c.end(), [](const auto& a, const auto& b) {
        return std::get<0>(a) > std::get<0>(b);
      });
      for (size_t r = 0; r < c.size() && r < static_cast<size_t>(o.top_k); ++r) {
        edges[std::get<1>(c[r])].z[std::get<2>(c[r]) * L + j] = 1;
      }
    }
  }
  derived_by = o.to_json().dump();
}

nlohmann::json AutoHeriArch::to_json() const {
  const size_t L = num_layers();
  nlohmann::json j_edges = nlohmann::json::array();
  for (const auto& e : edges) {
    nlohmann::json z = nlohmann::json::array(), alpha = nlohmann::json::array();
    for (size_t i = 0; i < L; ++i) {
      nlohmann::json zr = nlohmann::json::array(), ar = nlohmann::json::array();
      for (size_t j = 0; j < L; ++j) {
        zr.push_back(e.z.empty() ? 0 : static_cast<int>(e.z[i * L + j]));
        if (!e.alpha.empty()) {
          const double a = e.alpha[i * L + j];
          ar.push_back(std::isnan(a) ? nlohmann::json() : nlohmann::json(a));
        }
      }
      z.push_back(zr);
      alpha.push_back(ar);
    }
    nlohmann::json je = {{"from", e.from},
                         {"to", e.to},
                         {"from_event", events.at(e.from)},
                         {"to_event", events.at(e.to)},
                         {"z", z}};
    if (!e.alpha.empty()) je["alpha"] = alpha;
    j_edges.push_back(je);
  }
  nlohmann::json j = {{"format", kFormat}, {"version", kVersion},
                      {"events", events},  {"parents", parents},
                      {"towers", towers},  {"scheme", integration_scheme_name(scheme)},
                      {"skip", skip},      {"num_connections", num_connections()},
                      {"edges", j_edges}};
  j["derived_by"] = derived_by.empty() ? nlohmann::json() : nlohmann::json::parse(derived_by);
  return j;
}

AutoHeriArch AutoHeriArch::from_json(const nlohmann::json& j, const std::string& path) {
  JsonFields f(j, path);
  const std::string format = f.require<std::string>("format");
  FUNNEL_CHECK(format == kFormat,
               path << ".format: expected \"" << kFormat << "\", got \"" << format << "\"");
  const int version = f.require<int>("version");
  FUNNEL_CHECK(version == kVersion,
               path << ".version: this build reads version " << kVersion << ", got " << version);
  AutoHeriArch a;
  a.events = f.require<std::vector<std::string>>("events");
  a.parents = f.require<std::vector<int>>("parents");
  a.towers = f.require<std::vector<int64_t>>("towers");
  a.scheme = parse_integration_scheme(
      f.get<std::string>("scheme", integration_scheme_name(a.scheme)), f.path("scheme"));
  a.skip = f.get<bool>("skip", false);
  f.get<int64_t>("num_connections", 0);  // informational, recomputed
  // Informational: the resolved experiment that produced the file (funnel search writes it).
  f.get<nlohmann::json>("config", nlohmann::json());
  const nlohmann::json derived = f.get<nlohmann::json>("derived_by", nlohmann::json());
  a.derived_by = derived.is_null() ? "" : derived.dump();
  const FunnelSpec funnel = a.funnel();
  try {
    funnel.validate();
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  FUNNEL_CHECK(!a.towers.empty(), path << ".towers: expected at least one layer");
  for (int64_t w : a.towers) FUNNEL_CHECK(w > 0, path << ".towers: widths must be > 0");
  FUNNEL_CHECK(!(a.skip && a.scheme == IntegrationScheme::kParallel),
               path << ": skip applies to the hierarchical scheme only");
  const size_t L = a.num_layers();
  const std::vector<ArchEdge> expected = candidate_edges(funnel, a.scheme, a.skip);
  const nlohmann::json& jedges = f.at("edges");
  f.finish();
  FUNNEL_CHECK(jedges.is_array() && jedges.size() == expected.size(),
               path << ".edges: expected " << expected.size() << " edge groups for this funnel and "
                    << "scheme, got " << jedges.dump().substr(0, 200));
  for (size_t k = 0; k < expected.size(); ++k) {
    const std::string ep = path + ".edges[" + std::to_string(k) + "]";
    JsonFields fe(jedges[k], ep);
    ArchEdge e;
    e.from = fe.require<int>("from");
    e.to = fe.require<int>("to");
    FUNNEL_CHECK(e.from == expected[k].from && e.to == expected[k].to,
                 ep << ": expected the edge group " << expected[k].from << " -> " << expected[k].to
                    << ", got " << e.from << " -> " << e.to);
    fe.get<std::string>("from_event", "");
    fe.get<std::string>("to_event", "");
    auto matrix = [&](const nlohmann::json& m, const std::string& key, bool allow_null) {
      const std::string mp = ep + "." + key;
      FUNNEL_CHECK(m.is_array() && m.size() == L, mp << ": expected " << L << " x " << L
                                                     << " matrix [source layer][target layer]");
      std::vector<double> out;
      for (const auto& row : m) {
        FUNNEL_CHECK(row.is_array() && row.size() == L,
                     mp << ": expected " << L << " x " << L << " matrix, got row " << row.dump());
        for (const auto& v : row) {
          if (v.is_null() && allow_null) {
            out.push_back(NAN);
          } else {
            FUNNEL_CHECK(v.is_number(), mp << ": expected numbers, got " << v.dump());
            out.push_back(v.get<double>());
          }
        }
      }
      return out;
    };
    for (double v : matrix(fe.at("z"), "z", false)) {
      FUNNEL_CHECK(v == 0 || v == 1, ep << ".z: expected 0 or 1, got " << v);
      e.z.push_back(static_cast<uint8_t>(v));
    }
    if (fe.has("alpha")) e.alpha = matrix(fe.at("alpha"), "alpha", true);
    fe.finish();
    for (size_t i = 0; i < L; ++i) {
      for (size_t jj = 0; jj < L; ++jj) {
        FUNNEL_CHECK(is_candidate(a.scheme, i, jj) || e.z[i * L + jj] == 0,
                     ep << ".z[" << i << "][" << jj << "]: not a connection of the "
                        << integration_scheme_name(a.scheme) << " scheme (source layer must be "
                        << "below the target layer)");
      }
    }
    a.edges.push_back(std::move(e));
  }
  return a;
}

AutoHeriArch AutoHeriArch::load(const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(file + ": not valid JSON: " + e.what());
  }
  return from_json(j, file);
}

void AutoHeriArch::save(const std::string& file) const {
  write_text_file_atomic(file, json_text(to_json(), 2) + "\n");
}

void AutoHeriArch::check_matches(const FunnelSpec& funnel,
                                 const std::vector<int64_t>& widths) const {
  FUNNEL_CHECK(events == funnel.events && parents == funnel.parents,
               "arch: built for the funnel " << nlohmann::json(events).dump() << " "
                                             << nlohmann::json(parents).dump() << ", the data has "
                                             << nlohmann::json(funnel.events).dump() << " "
                                             << nlohmann::json(funnel.parents).dump());
  FUNNEL_CHECK(towers == widths, "arch: tower widths " << nlohmann::json(towers).dump()
                                                       << " differ from the model's "
                                                       << nlohmann::json(widths).dump());
}

}  // namespace funnel::model
