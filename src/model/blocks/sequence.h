#pragma once
// Recurrent models over the lists of a batch (HEROES and its sequential baselines): one layout
// of the lists by step, one cell interface, one runner.
//
// PackedLists orders a batch's rows step-major with the lists sorted longest first (the
// layout of PyTorch's PackedSequence): step t holds item t of the active[t] lists that are
// longer than t, and those lists are always the first active[t] of the sorted order. A step
// therefore works on a prefix of the state rows, nothing is padded, and an item's output
// depends only on the items before it and itself in its own list: no label, no later item and
// no other list reaches it by construction.
//
//   rows (CSR lists) --pack--> packed rows --cell.prepare (all items: one GEMM)-->
//   step 0 .. T-1: cell.step(prefix of the state) --> packed outputs --unpack--> rows

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace funnel::model {

/// How a list model measures the time between two items of a list (HEROES eq. 11).
enum class ListTime {
  kPosition,   ///< t_i ~ i (HEROES §3.1): one unit per item
  kTimestamp,  ///< the rows' time stamps (ModelInput::timestamps), divided by a time scale
};

class PackedLists {
 public:
  /// The lists of `rows` rows: `list_offsets` [num_lists + 1] int64 (any device), 0 first,
  /// `rows` last, non-decreasing. Throws funnel::Error otherwise. `device` is where the index
  /// tensors live (the rows' device).
  PackedLists(const torch::Tensor& list_offsets, int64_t rows, torch::Device device);

  int64_t rows() const { return rows_; }
  int64_t lists() const { return lists_; }
  /// The longest list's length.
  int64_t steps() const { return static_cast<int64_t>(active_.size()); }
  /// Lists longer than t (a prefix of the sorted lists).
  int64_t active(int64_t t) const { return active_[static_cast<size_t>(t)]; }
  /// First packed row of step t.
  int64_t start(int64_t t) const { return start_[static_cast<size_t>(t)]; }

  /// Rows [rows, ...] -> packed order.
  torch::Tensor pack(const torch::Tensor& rows) const { return rows.index_select(0, order_); }
  /// Packed [rows, ...] -> row order.
  torch::Tensor unpack(const torch::Tensor& packed) const {
    return packed.index_select(0, inverse_);
  }
  /// The packed rows of step t: [active(t), ...].
  torch::Tensor step(const torch::Tensor& packed, int64_t t) const {
    return packed.narrow(0, start(t), active(t));
  }
  /// [rows] int64, packed: the step (0-based index in its list) of each packed row.
  const torch::Tensor& step_index() const { return step_index_; }
  /// [rows, 1] float, packed: time since the previous item of the list (0 at a list's first
  /// item). kPosition: 1; kTimestamp: the time stamp difference / time_scale (>= 0; time
  /// stamps that decrease in a list are an error). `timestamps` [rows] int64 in row order.
  torch::Tensor time_deltas(ListTime time, const torch::Tensor& timestamps, double time_scale,
                            const torch::TensorOptions& options) const;

 private:
  int64_t rows_ = 0, lists_ = 0;
  std::vector<int64_t> active_, start_;
  std::vector<int64_t> order_host_;  // packed position -> row
  torch::Tensor order_, inverse_, step_index_;
};

/// One recurrent step function over items of lists: an LSTM cell, the whole HEROES hierarchy
/// of one item, ... The runner calls prepare() once for all items and step() once per step.
class RecurrentCellImpl : public torch::nn::Module {
 public:
  /// Work that needs no recurrence, for all items at once in packed order (the input
  /// projection of every gate in one GEMM). `x` [rows, in], returns [rows, k].
  virtual torch::Tensor prepare(const torch::Tensor& x, const PackedLists& lists) = 0;
  /// The state of n lists before their first item.
  virtual std::vector<torch::Tensor> initial_state(int64_t n,
                                                   const torch::TensorOptions& options) = 0;
  /// Step t of the first in.size(0) lists: `in` = prepare()'s rows of the step, `dt` [n, 1]
  /// the time since each list's previous item; `state` holds exactly those n rows and is
  /// replaced by the state after the step. Returns the step's outputs [n, out].
  virtual torch::Tensor step(const torch::Tensor& in, const torch::Tensor& dt, int64_t t,
                             std::vector<torch::Tensor>& state) = 0;
};

/// Runs `cell` over every list: prepare(x_packed), then the steps; returns the outputs of all
/// items in packed order [rows, out] (PackedLists::unpack for row order). `dt` packed [rows, 1].
torch::Tensor run_lists(RecurrentCellImpl& cell, const PackedLists& lists,
                        const torch::Tensor& x_packed, const torch::Tensor& dt);

/// The input projection of a cell's gates for all packed items, x w^T + b, plus the per-step
/// learned bias rows of `position_bias` [positions, width] when defined (the one-hot position
/// of footnote 3 times its weights; steps beyond the last share the last).
torch::Tensor project_inputs(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                             const torch::Tensor& position_bias, const PackedLists& lists);

/// A cell whose gates read the item through one input projection: prepare() is x W^T + b plus
/// the per-step position bias (project_inputs), for every gate at once. The LSTM, GRU,
/// Time-LSTM, continuous-time LSTM and HEROES cells all are such cells.
class ProjectedCellImpl : public RecurrentCellImpl {
 public:
  torch::Tensor prepare(const torch::Tensor& x, const PackedLists& lists) override;

  /// [width, in], [width]: the input projection of every gate's rows.
  torch::Tensor w_input, b_input;

 protected:
  /// `what` names the cell in the error on bad sizes.
  ProjectedCellImpl(const char* what, int64_t in, int64_t hidden, int64_t positions);
  /// U(-1/sqrt(H), 1/sqrt(H)) of `shape`: PyTorch's initialisation of recurrent weights.
  torch::Tensor uniform(std::vector<int64_t> shape) const;
  /// Registers w_input [width, in] and b_input [width]; first, before the cell's other weights.
  void register_input(int64_t in, int64_t width);
  /// Registers the position bias [positions, width] (zeros) when positions > 0; after the
  /// cell's other weights, so that every cell keeps its parameter order.
  void register_position_bias(int64_t positions, int64_t width);

  int64_t hidden_;

 private:
  torch::Tensor position_bias_;  // [positions, width] or undefined
};

/// A state decayed over a gap `dt` from `from` towards `target` at `rate`:
/// target + (from - target) exp(-rate dt) (the continuous-time cell of Mei & Eisner 2017,
/// HEROES eq. 11).
inline torch::Tensor decay_towards(const torch::Tensor& target, const torch::Tensor& from,
                                   const torch::Tensor& rate, const torch::Tensor& dt) {
  return target + (from - target) * torch::exp(-rate * dt);
}

/// The standard LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate): gates
/// [i, f, g, o] = W x + b (prepare, one GEMM over all items) + U h (per step), c = f c + i g,
/// h = o tanh(c). Output h. `positions` > 0 adds a learned per-step bias to the gates: a
/// one-hot position concatenated to the input (HEROES footnote 3), steps beyond the last
/// sharing the last.
class LstmCellImpl : public ProjectedCellImpl {
 public:
  LstmCellImpl(int64_t in, int64_t hidden, int64_t positions);

  std::vector<torch::Tensor> initial_state(int64_t n, const torch::TensorOptions& options) override;
  torch::Tensor step(const torch::Tensor& in, const torch::Tensor& dt, int64_t t,
                     std::vector<torch::Tensor>& state) override;

  int64_t hidden() const { return hidden_; }
  /// w_input [4H, in], b_input [4H], w_hidden [4H, H]: the gate weights, rows in the order
  /// i, f, g, o.
  torch::Tensor w_hidden;
};

}  // namespace funnel::model
