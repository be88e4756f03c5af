#pragma once
// The funnel a model is built for and how the trainer treats it: plain structs without
// LibTorch, so that architecture files, configs and plots need no tensor headers.

#include <cstddef>
#include <string>
#include <vector>

#include "data/layout.h"

namespace funnel::model {

/// The funnel a model is built for (from the data schema).
struct FunnelSpec {
  std::vector<std::string> events;  // e.g. click, purchase
  std::vector<int> parents;         // per event, -1 for the first

  /// The events and parents of a data layout.
  static FunnelSpec from_layout(const data::Layout& layout);
  size_t num_events() const { return events.size(); }
  /// Throws funnel::Error unless there is at least one event, one parent per event, and
  /// every parent is -1 or an earlier event.
  void validate() const;
};

/// How the trainer must treat a model. Everything else goes through FunnelOutput.
enum class TrainingSpace {
  /// Every event's loss over all impressions (ESMM and the entire-space family).
  kEntireSpace,
  /// Click-space baseline (DNN): the first event on all impressions, each later event's
  /// conditional only on rows where its parent event happened.
  kClickSpace,
};

/// Throws funnel::Error unless parents.size() == num_events and every parent is in [-1, e).
void check_parents(const std::vector<int>& parents, size_t num_events);

}  // namespace funnel::model
