#include "model/survival.h"

#include "core/error.h"
#include "model/funnel_output.h"

namespace funnel::model {
namespace {

/// The lists of a batch by row: the list of each row and the flag of each list's first row.
struct RowLists {
  torch::Tensor list;      // [rows] int64
  torch::Tensor first;     // [rows] bool
  torch::Tensor nonempty;  // [rows] int64: the row's list among the non-empty lists
  int64_t lists = 0;
};

RowLists row_lists(const torch::Tensor& offsets_in, int64_t rows, torch::Device device) {
  FUNNEL_CHECK(offsets_in.defined() && offsets_in.dim() == 1 && offsets_in.size(0) >= 1,
               "survival: list offsets must be a 1-d tensor [lists + 1]");
  const torch::Tensor off = offsets_in.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t* o = off.data_ptr<int64_t>();
  const int64_t n = off.size(0) - 1;
  FUNNEL_CHECK(o[0] == 0 && o[n] == rows, "survival: list offsets run from "
                                              << o[0] << " to " << o[n] << ", expected 0 to "
                                              << rows << " (the rows)");
  for (int64_t k = 0; k < n; ++k) {
    FUNNEL_CHECK(o[k] <= o[k + 1], "survival: list offsets decrease at list "
                                       << k << " (" << o[k] << " > " << o[k + 1] << ")");
  }
  RowLists r;
  r.lists = n;
  const torch::Tensor lengths = (off.narrow(0, 1, n) - off.narrow(0, 0, n)).to(device);
  r.list = torch::repeat_interleave(torch::arange(n, torch::dtype(torch::kLong).device(device)),
                                    lengths);
  torch::Tensor starts = off.narrow(0, 0, n);
  starts = starts.masked_select(starts < rows).to(device);  // empty lists start at a later row
  r.first =
      torch::zeros({rows}, torch::dtype(torch::kBool).device(device)).index_fill(0, starts, true);
  r.nonempty = r.first.to(torch::kLong).cumsum(0) - 1;
  return r;
}

/// Sums of `x` [rows] within segments, exclusive of the row itself: segments start where
/// `start` [rows] (bool, true at row 0) is set, `segment` [rows] = cumsum(start) - 1.
/// Cumulative sums in x's dtype (double here).
torch::Tensor segment_exclusive_sums(const torch::Tensor& x, const torch::Tensor& start,
                                     const torch::Tensor& segment) {
  const torch::Tensor exclusive = x.cumsum(0) - x;
  const torch::Tensor base = exclusive.index_select(0, start.nonzero().squeeze(1));
  return exclusive - base.index_select(0, segment);
}

void check_rows(const torch::Tensor& t, int64_t rows, const char* what) {
  FUNNEL_CHECK(t.defined() && t.dim() == 1 && t.size(0) == rows,
               "survival: " << what << " must be [" << rows << "], got "
                            << (t.defined() ? t.sizes() : torch::IntArrayRef{}));
}

}  // namespace

SurvivalProbs survival_probs(const torch::Tensor& log_h, const torch::Tensor& log_1mh,
                             const torch::Tensor& list_offsets) {
  FUNNEL_CHECK(log_h.defined() && log_h.dim() == 1, "survival: log h must be [rows]");
  const int64_t rows = log_h.size(0);
  check_rows(log_1mh, rows, "log(1 - h)");
  const RowLists rl = row_lists(list_offsets, rows, log_h.device());
  const torch::Tensor a = log_1mh.to(torch::kFloat64);
  SurvivalProbs p;
  // eq. 23: log P(z >= i) = sum_{tau < i} log(1 - h_tau), within the list.
  const torch::Tensor log_s = rows == 0 ? a : segment_exclusive_sums(a, rl.first, rl.nonempty);
  p.log_survival = log_s.to(log_h.scalar_type());
  p.log_pdf = (log_h.to(torch::kFloat64) + log_s).to(log_h.scalar_type());  // eq. 24
  p.log_tail =
      torch::zeros({rl.lists}, a.options()).index_add(0, rl.list, a).to(log_h.scalar_type());
  return p;
}

SurvivalTerms survival_terms(const torch::Tensor& log_h, const torch::Tensor& log_1mh,
                             const torch::Tensor& occurred, const torch::Tensor& step,
                             const torch::Tensor& list_offsets, SurvivalSegments segments) {
  FUNNEL_CHECK(log_h.defined() && log_h.dim() == 1, "survival: log h must be [rows]");
  const int64_t rows = log_h.size(0);
  check_rows(log_1mh, rows, "log(1 - h)");
  check_rows(occurred, rows, "the occurrences");
  check_rows(step, rows, "the step mask");
  const auto out_type = log_h.scalar_type();
  SurvivalTerms t;
  if (rows == 0) {
    t.pdf = t.occur = t.non_occur = log_h.sum();
    return t;
  }
  const RowLists rl = row_lists(list_offsets, rows, log_h.device());
  const torch::Tensor lh = log_h.to(torch::kFloat64);
  const torch::Tensor on = (step > 0.5).to(torch::kFloat64);
  const torch::Tensor a = on * log_1mh.to(torch::kFloat64);           // log(1 - h) of the steps
  const torch::Tensor o = on * (occurred > 0.5).to(torch::kFloat64);  // occurrences at steps

  torch::Tensor start = rl.first, active = torch::ones_like(o);
  if (segments == SurvivalSegments::kRenewal) {
    // A new segment after every occurrence (within the list).
    const torch::Tensor prev = torch::cat({o.new_zeros({1}), o.narrow(0, 0, rows - 1)});
    start = rl.first.logical_or(prev > 0.5);
  } else {
    // Only the first occurrence of a list: the rows after it are no steps.
    active = (segment_exclusive_sums(o, rl.first, rl.nonempty) < 0.5).to(torch::kFloat64);
  }
  const torch::Tensor segment = start.to(torch::kLong).cumsum(0) - 1;
  const int64_t num_segments = segment[rows - 1].item<int64_t>() + 1;
  const torch::Tensor a_on = a * active, o_on = o * active;
  const torch::Tensor log_s = segment_exclusive_sums(a_on, start, segment);  // eq. 23

  // eq. 25: the PDF of every occurrence, log h_j + log P(z >= j).
  const torch::Tensor at = o_on > 0.5;
  t.pdf = -torch::where(at, lh + log_s, torch::zeros_like(lh)).sum();
  // eq. 27: the censored steps (a segment that ends without an occurrence).
  const torch::Tensor seg_occ =
      torch::zeros({num_segments}, o.options()).index_add(0, segment, o_on);
  const torch::Tensor censored = seg_occ.index_select(0, segment) < 0.5;
  t.non_occur = -torch::where(censored, a_on, torch::zeros_like(a_on)).sum();
  // eq. 26: log[1 - prod_{window} (1 - h)] = log1mexp(sum of log(1 - h) over the window).
  if (segments == SurvivalSegments::kRenewal) {
    // The window of occurrence j is its segment up to j: log P(z >= j) + log(1 - h_j).
    const torch::Tensor window = torch::where(at, log_s + a_on, -torch::ones_like(lh));
    t.occur = -torch::where(at, log1mexp(window), torch::zeros_like(lh)).sum();
  } else {
    // The whole list, tau <= I (eq. 26 as written), for the lists with an occurrence.
    const torch::Tensor total = torch::zeros({rl.lists}, a.options()).index_add(0, rl.list, a);
    const torch::Tensor any = torch::zeros({rl.lists}, a.options()).index_add(0, rl.list, o) > 0.5;
    const torch::Tensor window = torch::where(any, total, -torch::ones_like(total));
    t.occur = -torch::where(any, log1mexp(window), torch::zeros_like(total)).sum();
  }
  t.pdf = t.pdf.to(out_type);
  t.occur = t.occur.to(out_type);
  t.non_occur = t.non_occur.to(out_type);
  return t;
}

}  // namespace funnel::model
