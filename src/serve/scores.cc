#include "serve/scores.h"

#include <cmath>

#include "metric/funnel_metrics.h"

namespace funnel::serve {

std::vector<std::string> score_names(const model::FunnelSpec& f) {
  std::vector<std::string> cols = {"pctr"};
  const size_t E = f.events.size();
  if (E >= 2) {
    cols.push_back("pcvr");
    cols.push_back("pctcvr");
  }
  for (size_t e = 1; e + 1 < E; ++e) {
    cols.push_back("p_" + f.events[e]);
    cols.push_back("p_" + f.events[e] + "_given_" + f.events[f.parents[e]]);
  }
  return cols;
}

void score_values(const model::FunnelSpec& f, const model::BatchScores& s, size_t i,
                  std::vector<double>& out) {
  const size_t E = f.events.size(), n = s.size;
  auto lp = [&](size_t e) { return static_cast<double>(s.log_p[e * n + i]); };
  out.clear();
  out.push_back(std::exp(lp(0)));
  if (E >= 2) {
    out.push_back(metric::capped_conditional(lp(E - 1), lp(0)));
    out.push_back(std::exp(lp(E - 1)));
  }
  for (size_t e = 1; e + 1 < E; ++e) {
    out.push_back(std::exp(lp(e)));
    out.push_back(metric::capped_conditional(lp(e), lp(static_cast<size_t>(f.parents[e]))));
  }
}

}  // namespace funnel::serve
