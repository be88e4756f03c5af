#pragma once
// The funnels the model tests build models for.

#include "model/funnel_spec.h"

namespace funnel::model::testing {

inline FunnelSpec two_events() { return {{"click", "conversion"}, {-1, 0}}; }
/// click -> arrival -> conversion (AutoHERI's Ads funnel).
inline FunnelSpec chain() { return {{"click", "arrival", "conversion"}, {-1, 0, 1}}; }
/// click -> action -> purchase, purchase possible without the action (ESM2).
inline FunnelSpec esm2_graph() { return {{"click", "action", "purchase"}, {-1, 0, 0}}; }

}  // namespace funnel::model::testing
