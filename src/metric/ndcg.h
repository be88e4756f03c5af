#pragma once
// Mean NDCG@k over lists (for list-wise models: one list per request or user).
//
//   DCG@k  = sum_{r=0}^{min(k,m)-1} gain(rel at rank r) / log2(r + 2)   (rank 0 = top score)
//   IDCG@k = the same with the list ordered by relevance, NDCG@k = DCG@k / IDCG@k
//   gain(rel) = 2^rel - 1 (Gain::kExponential, Burges et al.) or rel (Gain::kLinear)
//
// The reported value is the plain mean over lists with IDCG@k > 0; lists without any
// relevant row (IDCG = 0) are skipped and counted. NaN when no list is used.
// Ties in score: a run of tied rows gets the mean gain of the run at each rank it covers,
// i.e. the expected DCG under a uniformly random tie break (McSherry & Najork, ECIR 2008),
// so the value never depends on row order. Rows of a list need not be adjacent.
// Throws funnel::Error on k == 0, a NaN score, or a relevance that is negative or not finite.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace funnel::metric {

enum class Gain { kExponential, kLinear };

struct NdcgResult {
  double value = 0;          ///< mean NDCG@k over used lists
  size_t lists_used = 0;     ///< lists with IDCG@k > 0
  size_t lists_skipped = 0;  ///< lists with IDCG@k == 0
};

NdcgResult ndcg(const float* scores, const float* relevance, const uint64_t* lists, size_t n,
                size_t k, Gain gain = Gain::kExponential);
NdcgResult ndcg(const std::vector<float>& scores, const std::vector<float>& relevance,
                const std::vector<uint64_t>& lists, size_t k, Gain gain = Gain::kExponential);
/// NDCG at every k of `ks` (one result per k, in order) with one grouping and one sort per
/// list: the same values as one call per k. k = SIZE_MAX is the whole list.
std::vector<NdcgResult> ndcg(const float* scores, const float* relevance, const uint64_t* lists,
                             size_t n, const std::vector<size_t>& ks,
                             Gain gain = Gain::kExponential);

}  // namespace funnel::metric
