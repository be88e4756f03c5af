#include "model/blocks/sequence.h"

#include <torch/nn/init.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace funnel::model {

PackedLists::PackedLists(const torch::Tensor& list_offsets, int64_t rows, torch::Device device)
    : rows_(rows) {
  FUNNEL_CHECK(list_offsets.defined() && list_offsets.dim() == 1 && list_offsets.size(0) >= 1,
               "list model: the input has no list offsets (a list model reads batches of whole "
               "lists: the data needs a list column, data.list)");
  const torch::Tensor off = list_offsets.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t* o = off.data_ptr<int64_t>();
  lists_ = off.size(0) - 1;
  FUNNEL_CHECK(o[0] == 0 && o[lists_] == rows,
               "list offsets must run from 0 to the batch's " << rows << " rows, got " << o[0]
                                                              << " .. " << o[lists_]);
  std::vector<int64_t> len(static_cast<size_t>(lists_));
  for (int64_t k = 0; k < lists_; ++k) {
    len[k] = o[k + 1] - o[k];
    FUNNEL_CHECK(len[k] >= 0, "list offsets must not decrease (list " << k << ")");
  }
  // Longest first; stable, so equal lengths keep batch order (deterministic).
  std::vector<int64_t> sorted(static_cast<size_t>(lists_));
  std::iota(sorted.begin(), sorted.end(), 0);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](int64_t a, int64_t b) { return len[a] > len[b]; });
  const int64_t T = lists_ == 0 ? 0 : len[sorted[0]];
  active_.assign(static_cast<size_t>(T), 0);
  start_.assign(static_cast<size_t>(T), 0);
  order_host_.reserve(static_cast<size_t>(rows));
  std::vector<int64_t> steps;
  steps.reserve(static_cast<size_t>(rows));
  for (int64_t t = 0; t < T; ++t) {
    start_[t] = static_cast<int64_t>(order_host_.size());
    for (int64_t k : sorted) {
      if (len[k] <= t) break;  // sorted: every later list is as short
      order_host_.push_back(o[k] + t);
      steps.push_back(t);
    }
    active_[t] = static_cast<int64_t>(order_host_.size()) - start_[t];
  }
  std::vector<int64_t> inverse(static_cast<size_t>(rows));
  for (size_t p = 0; p < order_host_.size(); ++p) inverse[order_host_[p]] = static_cast<int64_t>(p);
  const auto to_device = [&](const std::vector<int64_t>& v) {
    return torch::tensor(v, torch::kLong).to(device);
  };
  order_ = to_device(order_host_);
  inverse_ = to_device(inverse);
  step_index_ = to_device(steps);
}

torch::Tensor PackedLists::time_deltas(ListTime time, const torch::Tensor& timestamps,
                                       double time_scale,
                                       const torch::TensorOptions& options) const {
  std::vector<float> dt(static_cast<size_t>(rows_), 0.0f);
  if (time == ListTime::kPosition) {
    for (int64_t t = 1; t < steps(); ++t) {
      std::fill(dt.begin() + start(t), dt.begin() + start(t) + active(t), 1.0f);
    }
  } else {
    FUNNEL_CHECK(timestamps.defined() && timestamps.numel() == rows_,
                 "list model: time = timestamp needs the rows' time stamps (a timestamp column "
                 "in the schema, data.timestamp)");
    FUNNEL_CHECK(time_scale > 0, "list model: time_scale must be > 0");
    const torch::Tensor ts = timestamps.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t* s = ts.data_ptr<int64_t>();
    for (int64_t t = 1; t < steps(); ++t) {
      for (int64_t j = 0; j < active(t); ++j) {
        // Item t of the j-th list follows item t - 1 of the same list.
        const int64_t row = order_host_[start(t) + j], prev = order_host_[start(t - 1) + j];
        FUNNEL_CHECK(s[row] >= s[prev], "list model: time stamps decrease inside a list (row "
                                            << prev << " at " << s[prev] << ", row " << row
                                            << " at " << s[row] << ")");
        dt[start(t) + j] = static_cast<float>(static_cast<double>(s[row] - s[prev]) / time_scale);
      }
    }
  }
  return torch::tensor(dt, torch::kFloat32).to(options).unsqueeze(1);
}

torch::Tensor run_lists(RecurrentCellImpl& cell, const PackedLists& lists,
                        const torch::Tensor& x_packed, const torch::Tensor& dt) {
  const torch::Tensor in = cell.prepare(x_packed, lists);
  std::vector<torch::Tensor> state = cell.initial_state(lists.steps() > 0 ? lists.active(0) : 0,
                                                        in.options());
  std::vector<torch::Tensor> outputs;
  outputs.reserve(static_cast<size_t>(lists.steps()));
  for (int64_t t = 0; t < lists.steps(); ++t) {
    const int64_t n = lists.active(t);
    for (auto& s : state) {
      if (s.size(0) != n) s = s.narrow(0, 0, n);  // finished lists leave the end
    }
    outputs.push_back(cell.step(lists.step(in, t), lists.step(dt, t), t, state));
  }
  if (outputs.empty()) return in.new_zeros({0, 0});
  return torch::cat(outputs, 0);
}

torch::Tensor project_inputs(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                             const torch::Tensor& position_bias, const PackedLists& lists) {
  torch::Tensor g = torch::addmm(b, x, w.t());
  if (!position_bias.defined()) return g;
  return g + position_bias.index_select(
                 0, lists.step_index().clamp_max(position_bias.size(0) - 1));
}

ProjectedCellImpl::ProjectedCellImpl(const char* what, int64_t in, int64_t hidden,
                                     int64_t positions)
    : hidden_(hidden) {
  FUNNEL_CHECK(in > 0 && hidden > 0 && positions >= 0,
               what << ": bad sizes (in " << in << ", hidden " << hidden << ", positions "
                    << positions << ")");
}

torch::Tensor ProjectedCellImpl::uniform(std::vector<int64_t> shape) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_));
  return torch::empty(shape).uniform_(-bound, bound);
}

void ProjectedCellImpl::register_input(int64_t in, int64_t width) {
  w_input = register_parameter("w_input", uniform({width, in}));
  b_input = register_parameter("b_input", uniform({width}));
}

void ProjectedCellImpl::register_position_bias(int64_t positions, int64_t width) {
  if (positions > 0) {
    position_bias_ = register_parameter("position_bias", torch::zeros({positions, width}));
  }
}

torch::Tensor ProjectedCellImpl::prepare(const torch::Tensor& x, const PackedLists& lists) {
  return project_inputs(x, w_input, b_input, position_bias_, lists);
}

LstmCellImpl::LstmCellImpl(int64_t in, int64_t hidden, int64_t positions)
    : ProjectedCellImpl("lstm cell", in, hidden, positions) {
  register_input(in, 4 * hidden);
  w_hidden = register_parameter("w_hidden", uniform({4 * hidden, hidden}));
  register_position_bias(positions, 4 * hidden);
}

std::vector<torch::Tensor> LstmCellImpl::initial_state(int64_t n,
                                                       const torch::TensorOptions& options) {
  return {torch::zeros({n, hidden_}, options), torch::zeros({n, hidden_}, options)};
}

torch::Tensor LstmCellImpl::step(const torch::Tensor& in, const torch::Tensor& /*dt*/,
                                 int64_t /*t*/, std::vector<torch::Tensor>& state) {
  const torch::Tensor gates = torch::addmm(in, state[0], w_hidden.t());
  const auto c = gates.chunk(4, 1);
  const torch::Tensor cell = torch::sigmoid(c[1]) * state[1] + torch::sigmoid(c[0]) * torch::tanh(c[2]);
  const torch::Tensor h = torch::sigmoid(c[3]) * torch::tanh(cell);
  state = {h, cell};
  return h;
}

}  // namespace funnel::model
