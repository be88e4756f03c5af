#include "model/blocks/list_attention.h"

#include <limits>
#include <vector>

#include "core/error.h"

namespace funnel::model {

ListAttentionImpl::ListAttentionImpl(int64_t query, int64_t key, int64_t dim, AttentionScore act)
    : act_(act) {
  FUNNEL_CHECK(query > 0 && key > 0 && dim > 0, "list attention: bad sizes");
  query_proj = register_module("query", torch::nn::Linear(query, dim));
  key_proj =
      register_module("key", torch::nn::Linear(torch::nn::LinearOptions(key, dim).bias(false)));
  score = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(dim, 1).bias(false)));
}

torch::Tensor ListAttentionImpl::forward(const torch::Tensor& q, const torch::Tensor& k,
                                         const PackedLists& lists, torch::Tensor* weights) {
  const int64_t T = lists.steps(), N = lists.lists(), rows = lists.rows();
  FUNNEL_CHECK(q.size(0) == rows && k.size(0) == rows,
               "list attention: " << q.size(0) << " queries and " << k.size(0) << " keys for "
                                  << rows << " items");
  if (rows == 0) return k.new_zeros({0, k.size(1)});
  // Packed row (step t, list n) <-> padded slot t * N + n; the slots past a list's end read a
  // zero row appended at `rows`.
  std::vector<int64_t> to_padded(static_cast<size_t>(T * N), rows), to_packed;
  to_packed.reserve(static_cast<size_t>(rows));
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t n = 0; n < lists.active(t); ++n) {
      to_padded[static_cast<size_t>(t * N + n)] = lists.start(t) + n;
      to_packed.push_back(t * N + n);
    }
  }
  const torch::Tensor pad_idx = torch::tensor(to_padded, torch::kLong).to(q.device());
  const torch::Tensor pack_idx = torch::tensor(to_packed, torch::kLong).to(q.device());
  auto pad = [&](const torch::Tensor& x) {
    return torch::cat({x, x.new_zeros({1, x.size(1)})}).index_select(0, pad_idx).view({T, N, -1});
  };
  const torch::Tensor kp = pad(k);                      // [T(j), N, key]
  const torch::Tensor aq = pad(query_proj(q));          // [T(i), N, dim]
  const torch::Tensor bk = pad(key_proj(k));            // [T(j), N, dim]
  torch::Tensor e = aq.unsqueeze(1) + bk.unsqueeze(0);  // [i, j, N, dim]
  e = act_ == AttentionScore::kTanh ? torch::tanh(e) : torch::sigmoid(e);
  torch::Tensor s = score(e).squeeze(-1);  // [i, j, N]
  // j <= i and j inside its list (a slot past its list's end reads the zero row `rows`; j = 0
  // always is inside: no row is all masked).
  const torch::Tensor key_ok = pad_idx.view({1, T, N}) < rows;
  const torch::Tensor causal =
      torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(q.device()))
          .tril()
          .unsqueeze(-1);
  const torch::Tensor mask = key_ok.logical_and(causal);
  s = s.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  const torch::Tensor alpha = torch::softmax(s, 1);
  if (weights != nullptr) *weights = alpha;
  const torch::Tensor out = torch::einsum("ijn,jnd->ind", {alpha, kp});  // [T(i), N, key]
  return out.reshape({T * N, -1}).index_select(0, pack_idx);
}

}  // namespace funnel::model
