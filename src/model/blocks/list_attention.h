#pragma once
// Causal additive attention over the items of each list (the attention readouts of DUPN and
// NARM, HEROES Table 2 baselines): item i attends to the items j <= i of its own list,
//
//   e_ij = v^T act(A q_i + B k_j),  alpha_ij = softmax_{j <= i}(e_ij),  out_i = sum_j alpha_ij k_j
//
// (Bahdanau et al. 2015's additive score; NARM, Li et al. CIKM 2017, eq. 7-8 with act =
// sigmoid; DUPN, Ni et al. KDD 2018, its attention net over the LSTM's states with act =
// tanh). Keys are the values (the recurrent states). Later items and other lists never reach
// out_i: the mask is j <= i within a list.
//
// The lists are laid out padded, [steps, lists], from the packed order (model/blocks/
// sequence.h), so the work is steps^2 x lists x dim: fine for lists of tens of items, heavy
// for lists of thousands (chunking is not done).

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

#include "model/blocks/sequence.h"

namespace funnel::model {

/// The nonlinearity of the additive score: tanh (Bahdanau, DUPN) or sigmoid (NARM).
enum class AttentionScore { kTanh, kSigmoid };

class ListAttentionImpl : public torch::nn::Module {
 public:
  /// query, key: widths of q_i and k_j; dim: the width of A q and B k.
  ListAttentionImpl(int64_t query, int64_t key, int64_t dim, AttentionScore act);

  /// q [rows, query], k [rows, key], packed (PackedLists order) -> [rows, key], packed.
  /// With `weights` non-null, also the attention weights padded, [steps (i), steps (j), lists],
  /// zero where j > i or j is beyond its list.
  torch::Tensor forward(const torch::Tensor& q, const torch::Tensor& k, const PackedLists& lists,
                        torch::Tensor* weights = nullptr);

  torch::nn::Linear query_proj{nullptr}, key_proj{nullptr}, score{nullptr};

 private:
  AttentionScore act_;
};
TORCH_MODULE(ListAttention);

}  // namespace funnel::model
