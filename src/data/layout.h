#pragma once
// What the cache and every Batch hold, derived from the schema: funnel events, sparse fields
// (categorical features and bucketised numerics) and dense fields (normalised numerics).

#include <cstdint>
#include <string>
#include <vector>

#include "data/schema.h"

namespace funnel::data {

struct SparseField {
  std::string name;
  bool multi = false;
  bool weighted = false;
  int dim = 0;
  /// True for a bucketised numeric field (identity vocabulary of boundaries + 2 ids).
  bool bucketized = false;
  /// Index into Schema::categorical or Schema::numeric.
  int source = 0;
};

struct Layout {
  std::vector<std::string> events;
  std::vector<int> event_parent;  // -1 for none
  std::vector<SparseField> sparse;
  std::vector<std::string> dense;
  std::vector<int> dense_source;  // index into Schema::numeric
  bool has_group = false;
  bool has_list = false;
  bool has_position = false;
  bool has_timestamp = false;
  std::vector<std::string> aux;
  /// Per event: index into `aux` of its true P(event | parent), or -1 (Schema::truth_columns).
  std::vector<int> truth_aux;
  /// Per event: index into `aux` of its inherent true P(event | parent) (Schema::
  /// inherent_truth_columns), or -1.
  std::vector<int> inherent_truth_aux;

  /// True when every event has a truth column (the simulator's data).
  bool has_truth() const { return complete(truth_aux); }
  /// True when every event has an inherent truth column too.
  bool has_inherent_truth() const { return complete(inherent_truth_aux); }
  static bool complete(const std::vector<int>& aux_of_event) {
    if (aux_of_event.empty()) return false;
    for (int a : aux_of_event) {
      if (a < 0) return false;
    }
    return true;
  }
  /// The funnel rule: the first event that is 1 while its parent event is 0 (e.g. a
  /// conversion without a click), or -1 when `labels` (one per event) respect the funnel.
  int funnel_violation(const uint8_t* labels) const {
    for (size_t e = 0; e < event_parent.size(); ++e) {
      const int parent = event_parent[e];
      if (labels[e] && parent >= 0 && !labels[parent]) return static_cast<int>(e);
    }
    return -1;
  }
  static Layout from_schema(const Schema& schema);
  size_t num_events() const { return events.size(); }
};

inline Layout Layout::from_schema(const Schema& s) {
  Layout l;
  for (const auto& e : s.labels) {
    l.events.push_back(e.event);
    l.event_parent.push_back(e.parent);
  }
  for (size_t i = 0; i < s.categorical.size(); ++i) {
    const auto& c = s.categorical[i];
    l.sparse.push_back({c.name, c.multi, c.weighted, c.dim, false, static_cast<int>(i)});
  }
  for (size_t i = 0; i < s.numeric.size(); ++i) {
    const auto& n = s.numeric[i];
    if (n.transform == NumericTransform::kBucketize) {
      l.sparse.push_back({n.name, false, false, n.dim, true, static_cast<int>(i)});
    } else {
      l.dense.push_back(n.name);
      l.dense_source.push_back(static_cast<int>(i));
    }
  }
  l.has_group = !s.group_column.empty();
  l.has_list = !s.list_column.empty();
  l.has_position = !s.position_column.empty();
  l.has_timestamp = !s.timestamp_column.empty();
  l.aux = s.aux_columns;
  auto aux_of = [&](const std::vector<std::string>& columns, std::vector<int>& out) {
    for (const std::string& column : columns) {
      int index = -1;
      for (size_t a = 0; a < s.aux_columns.size(); ++a) {
        if (s.aux_columns[a] == column) index = static_cast<int>(a);
      }
      out.push_back(column.empty() ? -1 : index);
    }
  };
  aux_of(s.truth_columns, l.truth_aux);
  aux_of(s.inherent_truth_columns, l.inherent_truth_aux);
  return l;
}

}  // namespace funnel::data
