#include "model/funnel_output.h"

#include <limits>

#include "core/error.h"

namespace funnel::model {

void FunnelOutput::add_logit(const torch::Tensor& logit) {
  FUNNEL_CHECK(logit.dim() == 1,
               "FunnelOutput::add_logit: expected a [B] logit, got shape " << logit.sizes());
  FUNNEL_CHECK(cond_log_p.empty() || logit.size(0) == cond_log_p.front().size(0),
               "FunnelOutput::add_logit: event " << cond_log_p.size() << " has " << logit.size(0)
                                                 << " rows, event 0 has "
                                                 << cond_log_p.front().size(0));
  // log sigmoid(z) and log(1 - sigmoid(z)) = log sigmoid(-z): both exact for any |z|.
  cond_log_p.push_back(torch::log_sigmoid(logit));
  cond_log_q.push_back(torch::log_sigmoid(-logit));
}

torch::Tensor log1mexp(const torch::Tensor& x) {
  // The smallest normal float keeps -expm1 > 0 in float and double alike.
  const double tiny = std::numeric_limits<float>::min();
  const torch::Tensor xc = x.clamp_max(-tiny);
  const double ln2 = 0.6931471805599453;
  // Both branches are evaluated; each is finite on the whole clamped range, so torch::where's
  // backward never multiplies a zero by an infinite local derivative.
  const torch::Tensor near_zero = torch::log(-torch::expm1(xc.clamp_min(-ln2)));
  const torch::Tensor far = torch::log1p(-torch::exp(xc.clamp_max(-ln2)));
  return torch::where(xc > -ln2, near_zero, far);
}

std::vector<torch::Tensor> entire_space_log_p(const FunnelOutput& out,
                                              const std::vector<int>& parents) {
  check_parents(parents, out.num_events());
  std::vector<torch::Tensor> log_p(out.num_events());
  for (size_t e = 0; e < out.num_events(); ++e) {
    log_p[e] = parents[e] < 0 ? out.cond_log_p[e] : out.cond_log_p[e] + log_p[parents[e]];
  }
  return log_p;
}

}  // namespace funnel::model
