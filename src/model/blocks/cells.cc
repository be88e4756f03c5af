#include "model/blocks/cells.h"

#include <torch/nn/functional/activation.h>

#include <cmath>

#include "core/error.h"

namespace funnel::model {
namespace {

/// U(-1/sqrt(H), 1/sqrt(H)), PyTorch's initialisation of recurrent weights.
torch::Tensor uniform(std::vector<int64_t> shape, int64_t hidden) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden));
  return torch::empty(shape).uniform_(-bound, bound);
}

void check_sizes(const char* what, int64_t in, int64_t hidden, int64_t positions) {
  FUNNEL_CHECK(in > 0 && hidden > 0 && positions >= 0, what << ": bad sizes (in " << in
                                                            << ", hidden " << hidden
                                                            << ", positions " << positions << ")");
}

}  // namespace

// ---- GRU ----

GruCellImpl::GruCellImpl(int64_t in, int64_t hidden, int64_t positions) : hidden_(hidden) {
  check_sizes("gru cell", in, hidden, positions);
  w_input = register_parameter("w_input", uniform({3 * hidden, in}, hidden));
  b_input = register_parameter("b_input", uniform({3 * hidden}, hidden));
  w_hidden = register_parameter("w_hidden", uniform({3 * hidden, hidden}, hidden));
  b_hidden = register_parameter("b_hidden", uniform({3 * hidden}, hidden));
  if (positions > 0) {
    position_bias_ = register_parameter("position_bias", torch::zeros({positions, 3 * hidden}));
  }
}

torch::Tensor GruCellImpl::prepare(const torch::Tensor& x, const PackedLists& lists) {
  return project_inputs(x, w_input, b_input, position_bias_, lists);
}

std::vector<torch::Tensor> GruCellImpl::initial_state(int64_t n,
                                                      const torch::TensorOptions& options) {
  return {torch::zeros({n, hidden_}, options)};
}

torch::Tensor GruCellImpl::step(const torch::Tensor& in, const torch::Tensor& /*dt*/, int64_t /*t*/,
                                std::vector<torch::Tensor>& state) {
  const torch::Tensor& h = state[0];
  const auto a = in.chunk(3, 1);
  const auto u = torch::addmm(b_hidden, h, w_hidden.t()).chunk(3, 1);
  const torch::Tensor r = torch::sigmoid(a[0] + u[0]);
  const torch::Tensor z = torch::sigmoid(a[1] + u[1]);
  const torch::Tensor n = torch::tanh(a[2] + r * u[2]);
  torch::Tensor next = n + z * (h - n);  // (1 - z) n + z h
  state = {next};
  return next;
}

// ---- Time-LSTM 3 ----

TimeLstmCellImpl::TimeLstmCellImpl(int64_t in, int64_t hidden, int64_t positions)
    : hidden_(hidden) {
  check_sizes("time-lstm cell", in, hidden, positions);
  w_input = register_parameter("w_input", uniform({5 * hidden, in}, hidden));
  b_input = register_parameter("b_input", uniform({5 * hidden}, hidden));
  w_hidden = register_parameter("w_hidden", uniform({3 * hidden, hidden}, hidden));
  peep_i = register_parameter("peep_i", uniform({hidden}, hidden));
  peep_o = register_parameter("peep_o", uniform({hidden}, hidden));
  v_t1 = register_parameter("v_t1", uniform({hidden}, hidden));
  w_t2 = register_parameter("w_t2", uniform({hidden}, hidden));
  w_to = register_parameter("w_to", uniform({hidden}, hidden));
  if (positions > 0) {
    position_bias_ = register_parameter("position_bias", torch::zeros({positions, 5 * hidden}));
  }
}

torch::Tensor TimeLstmCellImpl::prepare(const torch::Tensor& x, const PackedLists& lists) {
  return project_inputs(x, w_input, b_input, position_bias_, lists);
}

std::vector<torch::Tensor> TimeLstmCellImpl::initial_state(int64_t n,
                                                           const torch::TensorOptions& options) {
  return {torch::zeros({n, hidden_}, options), torch::zeros({n, hidden_}, options)};
}

torch::Tensor TimeLstmCellImpl::step(const torch::Tensor& in, const torch::Tensor& dt,
                                     int64_t /*t*/, std::vector<torch::Tensor>& state) {
  const torch::Tensor &h = state[0], &c = state[1];
  const auto a = in.chunk(5, 1);                          // i, T1, T2, c, o
  const auto u = torch::mm(h, w_hidden.t()).chunk(3, 1);  // i, c, o
  const torch::Tensor w_t1 = -torch::nn::functional::softplus(v_t1);
  const torch::Tensor i = torch::sigmoid(a[0] + u[0] + peep_i * c);
  const torch::Tensor t1 = torch::sigmoid(a[1] + torch::sigmoid(dt * w_t1));
  const torch::Tensor t2 = torch::sigmoid(a[2] + torch::sigmoid(dt * w_t2));
  const torch::Tensor g = torch::tanh(a[3] + u[1]);
  const torch::Tensor it1 = i * t1;
  const torch::Tensor c_out = c + it1 * (g - c);      // (1 - i T1) c + i T1 g
  const torch::Tensor c_next = c + i * (t2 * g - c);  // (1 - i) c + i T2 g
  const torch::Tensor o = torch::sigmoid(a[4] + dt * w_to + u[2] + peep_o * c_out);
  torch::Tensor out = o * torch::tanh(c_out);
  state = {out, c_next};
  return out;
}

// ---- continuous-time LSTM (neural Hawkes process) ----

CtLstmCellImpl::CtLstmCellImpl(int64_t in, int64_t hidden, int64_t positions) : hidden_(hidden) {
  check_sizes("ct-lstm cell", in, hidden, positions);
  w_input = register_parameter("w_input", uniform({7 * hidden, in}, hidden));
  b_input = register_parameter("b_input", uniform({7 * hidden}, hidden));
  w_hidden = register_parameter("w_hidden", uniform({7 * hidden, hidden}, hidden));
  if (positions > 0) {
    position_bias_ = register_parameter("position_bias", torch::zeros({positions, 7 * hidden}));
  }
}

torch::Tensor CtLstmCellImpl::prepare(const torch::Tensor& x, const PackedLists& lists) {
  return project_inputs(x, w_input, b_input, position_bias_, lists);
}

std::vector<torch::Tensor> CtLstmCellImpl::initial_state(int64_t n,
                                                         const torch::TensorOptions& options) {
  // c, c-bar, delta, o: h(t) = 0 before the first item.
  std::vector<torch::Tensor> s;
  for (int k = 0; k < 4; ++k) s.push_back(torch::zeros({n, hidden_}, options));
  return s;
}

torch::Tensor CtLstmCellImpl::step(const torch::Tensor& in, const torch::Tensor& dt, int64_t /*t*/,
                                   std::vector<torch::Tensor>& state) {
  const torch::Tensor &c = state[0], &c_bar = state[1], &delta = state[2], &o_prev = state[3];
  // The state decayed over the gap to this item: c(t_i), h(t_i).
  const torch::Tensor c_t = c_bar + (c - c_bar) * torch::exp(-delta * dt);
  const torch::Tensor h_t = o_prev * torch::tanh(c_t);
  const auto a = torch::addmm(in, h_t, w_hidden.t()).chunk(7, 1);
  const torch::Tensor i = torch::sigmoid(a[0]), f = torch::sigmoid(a[1]), z = torch::tanh(a[2]),
                      o = torch::sigmoid(a[3]), i_bar = torch::sigmoid(a[4]),
                      f_bar = torch::sigmoid(a[5]);
  torch::Tensor d = torch::nn::functional::softplus(a[6]);
  torch::Tensor c_next = f * c_t + i * z;
  torch::Tensor c_bar_next = f_bar * c_bar + i_bar * z;
  torch::Tensor out = o * torch::tanh(c_next);
  state = {c_next, c_bar_next, d, o};
  return out;
}

}  // namespace funnel::model
