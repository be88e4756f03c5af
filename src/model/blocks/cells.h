#pragma once
// The recurrent cells of HEROES's sequential baselines (HEROES Table 2), on the interface of
// model/blocks/sequence.h: prepare() projects every gate's input for all items in one GEMM
// (with the one-hot position bias of footnote 3), step() adds the recurrent part. `dt` is the
// time since the list's previous item (0 at its first item; 1 per item with time = position).
//
// - GruCellImpl: the GRU of Cho et al. (2014), the encoder of NARM.
// - TimeLstmCellImpl: Time-LSTM 3 of Zhu et al. (IJCAI 2017, "What to Do Next: Modeling User
//   Behaviors by Time-LSTM", its variant 3, which the paper finds best): two time gates, T1 for
//   the current output (its time weights constrained <= 0, so a longer gap lowers it) and T2
//   for the state carried on, with coupled input and forget gates and peepholes.
// - CtLstmCellImpl: the continuous-time LSTM of the neural Hawkes process (Mei & Eisner,
//   NeurIPS 2017, "The Neural Hawkes Process", §3.1): between items the cell decays exponentially
//   from c towards a target c-bar at a learned rate delta.

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "model/blocks/sequence.h"

namespace funnel::model {

/// r, z, n = W x + b (prepare) and U h + b_h (step), PyTorch's GRU convention:
/// r = sig(.), z = sig(.), n = tanh(W_n x + b_n + r (U_n h + b_hn)), h' = (1 - z) n + z h.
class GruCellImpl : public ProjectedCellImpl {
 public:
  GruCellImpl(int64_t in, int64_t hidden, int64_t positions);

  std::vector<torch::Tensor> initial_state(int64_t n, const torch::TensorOptions& options) override;
  torch::Tensor step(const torch::Tensor& in, const torch::Tensor& dt, int64_t t,
                     std::vector<torch::Tensor>& state) override;

  /// w_input [3H, in], b_input [3H], and [3H, H], [3H]: rows in the order r, z, n.
  torch::Tensor w_hidden, b_hidden;
};

/// Time-LSTM 3 (Zhu et al. 2017), with dt the gap to the previous item:
///   i  = sig(W_i x + U_i h + p_i * c + b_i)
///   T1 = sig(W_1 x + sig(dt * w_t1) + b_1),  w_t1 = -softplus(v_t1) <= 0
///   T2 = sig(W_2 x + sig(dt * w_t2) + b_2)
///   g  = tanh(W_c x + U_c h + b_c)
///   c~ = (1 - i T1) c + i T1 g            (the cell of this item's output)
///   c' = (1 - i) c + i T2 g               (the cell carried to the next item)
///   o  = sig(W_o x + dt * w_to + U_o h + p_o * c~ + b_o),  h' = o tanh(c~)
/// State (h, c'); output h'. The paper's sigma_c, sigma_h are tanh; it keeps w_t1 <= 0 by
/// projection, here it is a reparametrisation (same constraint, no clipping step).
class TimeLstmCellImpl : public ProjectedCellImpl {
 public:
  TimeLstmCellImpl(int64_t in, int64_t hidden, int64_t positions);

  std::vector<torch::Tensor> initial_state(int64_t n, const torch::TensorOptions& options) override;
  torch::Tensor step(const torch::Tensor& in, const torch::Tensor& dt, int64_t t,
                     std::vector<torch::Tensor>& state) override;

  /// w_input [5H, in], b_input [5H]: input rows in the order i, T1, T2, c, o; [3H, H]:
  /// recurrent rows i, c, o.
  torch::Tensor w_hidden;
  /// [H] each: peepholes p_i, p_o; time weights v_t1 (w_t1 = -softplus(v_t1)), w_t2, w_to.
  torch::Tensor peep_i, peep_o, v_t1, w_t2, w_to;
};

/// The continuous-time LSTM (Mei & Eisner 2017, §3.1). Item i at time t_i, the state left
/// by item i-1 at t_{i-1} = t_i - dt:
///   c(t_i) = c-bar + (c - c-bar) exp(-delta dt),   h(t_i) = o tanh(c(t_i))
///   [i, f, z, o, i-bar, f-bar, d] = W x_i + U h(t_i) + b;  z = tanh(.), d = softplus(.),
///   the others sig(.)
///   c' = f c(t_i) + i z,  c-bar' = f-bar c-bar + i-bar z,  delta' = d
/// State (c', c-bar', delta', o'); output h(t_i+) = o' tanh(c') (the state just after item i:
/// the event's own features are in it, as in every cell here). tanh(x) = 2 sig(2x) - 1 is the
/// paper's activation.
class CtLstmCellImpl : public ProjectedCellImpl {
 public:
  CtLstmCellImpl(int64_t in, int64_t hidden, int64_t positions);

  std::vector<torch::Tensor> initial_state(int64_t n, const torch::TensorOptions& options) override;
  torch::Tensor step(const torch::Tensor& in, const torch::Tensor& dt, int64_t t,
                     std::vector<torch::Tensor>& state) override;

  /// w_input [7H, in], b_input [7H], [7H, H]: rows in the order i, f, z, o, i-bar, f-bar, d.
  torch::Tensor w_hidden;
};

}  // namespace funnel::model
