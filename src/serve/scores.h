#pragma once
// What a scoring answer holds, the same for `funnel predict` (a CSV column each) and the
// server (a JSON key each): pctr, pcvr (the last event given the first), pctcvr, and for the
// events in between their entire-space probability and the conditional on their parent.

#include <string>
#include <vector>

#include "model/evaluator.h"
#include "model/funnel_spec.h"

namespace funnel::serve {

/// The names, in order: pctr, pcvr, pctcvr, then p_<event>, p_<event>_given_<parent>.
std::vector<std::string> score_names(const model::FunnelSpec& funnel);

/// The values of row `i` of `scores`, in score_names order, into `out` (cleared first).
void score_values(const model::FunnelSpec& funnel, const model::BatchScores& scores, size_t i,
                  std::vector<double>& out);

}  // namespace funnel::serve
