#include "model/funnel_spec.h"

#include "core/error.h"

namespace funnel::model {

FunnelSpec FunnelSpec::from_layout(const data::Layout& layout) {
  FunnelSpec spec;
  spec.events = layout.events;
  spec.parents = layout.event_parent;
  return spec;
}

void FunnelSpec::validate() const {
  FUNNEL_CHECK(!events.empty(), "funnel: no events");
  FUNNEL_CHECK(parents.size() == events.size(),
               "funnel: " << parents.size() << " parents for " << events.size() << " events");
  check_parents(parents, events.size());
}

void check_parents(const std::vector<int>& parents, size_t num_events) {
  FUNNEL_CHECK(parents.size() == num_events,
               "funnel: " << parents.size() << " event parents for " << num_events << " events");
  for (size_t e = 0; e < parents.size(); ++e) {
    FUNNEL_CHECK(parents[e] >= -1 && parents[e] < static_cast<int>(e),
                 "funnel: event " << e << " has parent " << parents[e]
                                  << ", expected -1 (none) or an earlier event in [0, " << e
                                  << ")");
  }
}

}  // namespace funnel::model
