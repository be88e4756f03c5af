#pragma once
// AutoHERI's architecture (Wei et al., CIKM 2021, §3.2): which integration connections exist
// between the towers of a funnel. The candidate edge groups come from the funnel and the
// scheme; a searched architecture holds, per edge group, the connection probabilities alpha
// (relaxed Bernoulli means, §3.2.2) and the binary connections z derived from them. The JSON
// form (docs/autoheri.md, "Architecture JSON") is what `funnel search` writes and
// `funnel train --arch` reads.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/funnel_spec.h"

namespace funnel::model {

enum class IntegrationScheme {
  /// §3.2.1 / Fig. 1(a), (c): from every layer of a preceding tower to every layer of a
  /// succeeding one, along the funnel (parent -> child; optionally ancestor -> descendant).
  kHierarchical,
  /// Fig. 1(b) as read in docs/autoheri.md: every ordered pair of towers, both directions,
  /// from layer i of one to layer j > i of the other (towers advance level by level).
  kParallel,
};

/// "hierarchical" or "parallel"; throws funnel::Error naming `path` (the JSON path of the
/// option) and every choice.
IntegrationScheme parse_integration_scheme(const std::string& name,
                                           const std::string& path = "scheme");
const char* integration_scheme_name(IntegrationScheme s);
/// Whether source layer i may connect to target layer j under `scheme` (0-based layers).
bool is_candidate(IntegrationScheme scheme, size_t i, size_t j);

/// One edge group: the connections from tower `from` into tower `to`, as L x L matrices
/// indexed [source layer i][target layer j], row-major (0-based; the paper's i, j are 1-based).
struct ArchEdge {
  int from = 0;
  int to = 0;
  /// Connection probabilities; empty when unknown (a hand-written architecture), NaN for
  /// connections that are not candidates of the scheme.
  std::vector<double> alpha;
  /// Binary connections z_ij (0 for non-candidates).
  std::vector<uint8_t> z;
};

/// The candidate edge groups of a funnel (z and alpha empty). Hierarchical: (parent(e), e) for
/// every non-root event, plus (a, e) for every further ancestor a when `skip` (CTR -> VR for
/// click -> arrival -> conversion, §3.3). Parallel: every ordered pair (t, s), t != s.
/// Sorted by (to, from).
std::vector<ArchEdge> candidate_edges(const FunnelSpec& funnel, IntegrationScheme scheme,
                                      bool skip);

/// How binary connections are derived from alpha.
struct DeriveOptions {
  enum class Rule { kThreshold, kTopK };
  Rule rule = Rule::kThreshold;
  /// z_ij = 1 iff alpha_ij > threshold.
  double threshold = 0.5;
  /// kTopK: per target layer (over all candidate connections into it from every edge group),
  /// the k largest alpha; ties go to the earlier edge group and lower source layer.
  int top_k = 1;

  /// {"rule": "threshold", "threshold": 0.5} or {"rule": "top_k", "k": 1}.
  nlohmann::json to_json() const;
  /// Strict parse of {"rule": "threshold" | "top_k", "threshold": t in [0, 1), "k": k > 0}
  /// (all optional; null = the defaults); unknown keys are errors. `path` prefixes messages.
  static DeriveOptions from_json(const nlohmann::json& j, const std::string& path = "derive");
};

struct AutoHeriArch {
  static constexpr int kVersion = 1;
  std::vector<std::string> events;
  /// Parent of each event (-1 for the root), as in FunnelSpec.
  std::vector<int> parents;
  /// Hidden widths of every tower (all towers alike); L = towers.size().
  std::vector<int64_t> towers;
  IntegrationScheme scheme = IntegrationScheme::kHierarchical;
  bool skip = false;
  /// How z was derived, a dump of DeriveOptions::to_json() ("" when z was written by hand).
  std::string derived_by;
  std::vector<ArchEdge> edges;

  size_t num_layers() const { return towers.size(); }
  /// Number of connections with z = 1.
  size_t num_connections() const;
  /// Fills every edge's z from its alpha (all edges must have alpha).
  void derive(const DeriveOptions& options);

  nlohmann::json to_json() const;
  /// Strict parse and validation (format, version, shapes, z in {0, 1}, z = 0 off the
  /// candidates, edge groups equal to candidate_edges of the file's funnel and scheme).
  /// `path` prefixes messages.
  static AutoHeriArch from_json(const nlohmann::json& j, const std::string& path = "arch");
  /// Reads / writes a file (written atomically).
  static AutoHeriArch load(const std::string& file);
  void save(const std::string& file) const;
  /// Throws unless the events and parents equal `funnel`'s and the widths equal `towers`.
  void check_matches(const FunnelSpec& funnel, const std::vector<int64_t>& towers) const;
  FunnelSpec funnel() const { return {events, parents}; }
};

}  // namespace funnel::model
