#include "train/funnel_loss.h"


#include <cmath>

#include "core/error.h"

namespace funnel::train {

torch::Tensor batch_labels(const data::Batch& batch) {
  return torch::from_blob(const_cast<float*>(batch.labels.data()),
                          {static_cast<int64_t>(batch.num_events), static_cast<int64_t>(batch.size)},
                          torch::kFloat32);
}

std::vector<double> default_event_weights(size_t num_events) {
  // AutoHERI §4.1.2: lambda = 5 (eq. 2); lambda1 = 1, lambda2 = 5 (eq. 4). The last event is
  // the rare one the losses exist for (conversion), hence the larger weight.
  std::vector<double> w(num_events, 1.0);
  if (num_events >= 2) w.back() = 5.0;
  return w;
}

FunnelLoss::FunnelLoss(const model::FunnelSpec& funnel, FunnelLossOptions options)
    : parents_(funnel.parents), options_(std::move(options)) {
  funnel.validate();
  weights_ = options_.weights.empty() ? default_event_weights(parents_.size()) : options_.weights;
  FUNNEL_CHECK(weights_.size() == parents_.size(), "funnel loss: " << weights_.size()
                                                                   << " event weights for "
                                                                   << parents_.size() << " events");
  for (size_t e = 0; e < weights_.size(); ++e) {
    FUNNEL_CHECK(weights_[e] >= 0.0 && std::isfinite(weights_[e]),
                 "funnel loss: weight of event " << e << " is " << weights_[e]
                                                 << ", expected a finite value >= 0");
  }
}

FunnelLossValue FunnelLoss::compute(const model::FunnelOutput& out, const torch::Tensor& labels,
                                    model::TrainingSpace space) const {
  const size_t num_events = parents_.size();
  FUNNEL_CHECK(out.num_events() == num_events && out.cond_log_q.size() == num_events,
               "funnel loss: model output has " << out.num_events() << " events (and "
                                                << out.cond_log_q.size()
                                                << " complements), the funnel has " << num_events);
  const torch::Tensor& first = out.cond_log_p[0];
  const int64_t rows = first.size(0);
  FUNNEL_CHECK(rows > 0, "funnel loss: empty batch");
  FUNNEL_CHECK(labels.dim() == 2 && labels.size(0) == static_cast<int64_t>(num_events) &&
                   labels.size(1) == rows,
               "funnel loss: labels have shape " << labels.sizes() << ", expected [" << num_events
                                                 << ", " << rows << "]");
  const torch::Tensor y = labels.to(first.device(), first.scalar_type());

  std::vector<torch::Tensor> terms(num_events);
  if (space == model::TrainingSpace::kEntireSpace) {
    // carry[e]: the log P(e) that e's children build on; for the first event optionally
    // detached (AutoHERI footnote 1: no CTCVR-loss gradient into the CTR network).
    std::vector<torch::Tensor> carry(num_events);
    for (size_t e = 0; e < num_events; ++e) {
      const int parent = parents_[e];
      torch::Tensor log_p, log_q;
      if (parent < 0) {
        log_p = out.cond_log_p[e];
        log_q = out.cond_log_q[e];
      } else {
        // AutoHERI eq. 2 / 4: P(e) = P(parent) x P(e | parent), here a sum of logs.
        log_p = out.cond_log_p[e] + carry[parent];
        log_q = model::log1mexp(log_p);
      }
      carry[e] = (e == 0 && options_.stop_ctcvr_grad_to_ctr) ? log_p.detach() : log_p;
      terms[e] = -(y[e] * log_p + (1.0 - y[e]) * log_q).mean();
    }
  } else {
    // Click space: the conditional of a later event is only observed where its parent
    // happened (the sample selection ESMM removes).
    for (size_t e = 0; e < num_events; ++e) {
      const torch::Tensor nll = -(y[e] * out.cond_log_p[e] + (1.0 - y[e]) * out.cond_log_q[e]);
      const int parent = parents_[e];
      if (parent < 0) {
        terms[e] = nll.mean();
      } else {
        const torch::Tensor mask = (y[parent] > 0.5).to(nll.scalar_type());
        terms[e] = (nll * mask).sum() / mask.sum().clamp_min(1.0);
      }
    }
  }

  if (out.event_losses) {
    // The model's own label-dependent terms replace the generic ones (FunnelOutput::event_losses).
    const std::vector<torch::Tensor> own = out.event_losses(y);
    FUNNEL_CHECK(own.size() == num_events, "funnel loss: the model's event_losses returned "
                                               << own.size() << " terms for " << num_events
                                               << " events");
    for (size_t e = 0; e < num_events; ++e) {
      if (own[e].defined()) terms[e] = own[e].reshape({}).to(first.scalar_type());
    }
  }
  torch::Tensor total = terms[0] * weights_[0];
  for (size_t e = 1; e < num_events; ++e) total = total + terms[e] * weights_[e];
  std::vector<torch::Tensor> reported(terms);
  if (out.aux_loss.defined()) {
    total = total + out.aux_loss;
    reported.push_back(out.aux_loss.reshape({}).to(total.scalar_type()));
  }

  FunnelLossValue value;
  value.total = total;
  // One transfer for every reported number.
  const torch::Tensor host =
      torch::stack(reported).detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* h = host.data_ptr<double>();
  value.per_event.assign(h, h + num_events);
  if (out.aux_loss.defined()) value.aux = h[num_events];
  return value;
}

}  // namespace funnel::train
