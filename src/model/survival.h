#pragma once
// Discrete-time survival analysis over the items of a list (HEROES §4, eq. 19-28, after DRSR,
// Jin et al. SIGIR 2020, and DRSA, Ren et al. AAAI 2019): per layer a hazard h_i, the
// probability that the behaviour happens at item i given that it has not happened before it.
//
//   P(z >= i) = prod_{tau < i} (1 - h_tau)                  eq. 23 (observation / click, eq. 20)
//   P(z = i)  = h_i prod_{tau < i} (1 - h_tau)              eq. 24
//   L_pdf       = - sum_{occurrences j} [log h_j + sum_{tau < j} log(1 - h_tau)]        eq. 25
//   L_occur     = - sum_{occurrences} log[1 - prod_{tau in window} (1 - h_tau)]          eq. 26
//   L_non-occur = - sum_{censored items tau} log(1 - h_tau)                              eq. 27
//   L_b = L_pdf + beta (L_occur + L_non-occur)                                           eq. 28
//
// Everything is computed in log space: log h = logsigmoid(logit), log(1 - h) =
// logsigmoid(-logit), and the products are cumulative sums of log(1 - h) in double precision,
// so that a list of hundreds of items with hazards near 0 or 1 gives finite values and
// gradients (tests/model/survival_test.cc).
//
// The paper writes one behaviour z per list; a list can hold several clicks. Two readings, an
// option (SurvivalSegments):
// - renewal (default): the process restarts after every occurrence (eq. 21-22's "given that z
//   is larger than the last boundary", HEROES's summarize-and-reinitialise). Each occurrence j
//   closes a segment [s, j]: its PDF term is h_j times the survival since s, its CDF window is
//   [s, j] (DRSA's uncensored CDF loss; with one occurrence at the end of a list it is eq. 26
//   exactly). The items after the last occurrence are censored (eq. 27).
// - first: only the first occurrence of a list counts (z = the first click); the items after it
//   are not steps of the process (they belong to no term of eq. 25 or 27), and eq. 26's window is
//   the whole list, tau <= I, as written.
//
// `step` marks the rows that are steps of the process: every item for the CTR layer; for the
// CVR layer the clicked items (a user "keeps clicking until she purchases", §4.1, so the
// conversion process advances only at clicks).

#include <torch/types.h>

namespace funnel::model {

enum class SurvivalSegments { kRenewal, kFirst };

/// Eq. 23-24 over whole lists, no occurrences known (what a model predicts before the list is
/// shown): per row log P(z >= i) and log P(z = i), per list log P(z > I).
struct SurvivalProbs {
  torch::Tensor log_survival;  ///< [rows] log P(z >= i) = sum_{tau < i} log(1 - h_tau)
  torch::Tensor log_pdf;       ///< [rows] log P(z = i) = log h_i + log P(z >= i)
  torch::Tensor log_tail;      ///< [lists] log P(z > I) = sum_{tau <= I} log(1 - h_tau)
};

/// `log_h`, `log_1mh` [rows] in row order (the rows of a list consecutive, list_offsets
/// [lists + 1] int64 CSR offsets, 0 first and rows last). Results in the inputs' dtype.
SurvivalProbs survival_probs(const torch::Tensor& log_h, const torch::Tensor& log_1mh,
                             const torch::Tensor& list_offsets);

/// The three sums of eq. 25-27 over a batch of lists (not normalised), scalars in the inputs'
/// dtype.
struct SurvivalTerms {
  torch::Tensor pdf, occur, non_occur;
  /// L_b of eq. 28.
  torch::Tensor total(double beta) const { return pdf + beta * (occur + non_occur); }
};

/// `occurred` [rows] 0/1: the behaviour happened at the row; `step` [rows] 0/1: the row is a
/// step of the process (an occurrence where step = 0 is ignored). Throws funnel::Error on
/// shapes that do not match or offsets that do not cover the rows.
SurvivalTerms survival_terms(const torch::Tensor& log_h, const torch::Tensor& log_1mh,
                             const torch::Tensor& occurred, const torch::Tensor& step,
                             const torch::Tensor& list_offsets, SurvivalSegments segments);

}  // namespace funnel::model
