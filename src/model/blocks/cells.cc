#include "model/blocks/cells.h"

#include <torch/nn/functional/activation.h>

namespace funnel::model {

// ---- GRU ----

GruCellImpl::GruCellImpl(int64_t in, int64_t hidden, int64_t positions)
    : ProjectedCellImpl("gru cell", in, hidden, positions) {
  register_input(in, 3 * hidden);
  w_hidden = register_parameter("w_hidden", uniform({3 * hidden, hidden}));
  b_hidden = register_parameter("b_hidden", uniform({3 * hidden}));
  register_position_bias(positions, 3 * hidden);
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
    : ProjectedCellImpl("time-lstm cell", in, hidden, positions) {
  register_input(in, 5 * hidden);
  w_hidden = register_parameter("w_hidden", uniform({3 * hidden, hidden}));
  peep_i = register_parameter("peep_i", uniform({hidden}));
  peep_o = register_parameter("peep_o", uniform({hidden}));
  v_t1 = register_parameter("v_t1", uniform({hidden}));
  w_t2 = register_parameter("w_t2", uniform({hidden}));
  w_to = register_parameter("w_to", uniform({hidden}));
  register_position_bias(positions, 5 * hidden);
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

CtLstmCellImpl::CtLstmCellImpl(int64_t in, int64_t hidden, int64_t positions)
    : ProjectedCellImpl("ct-lstm cell", in, hidden, positions) {
  register_input(in, 7 * hidden);
  w_hidden = register_parameter("w_hidden", uniform({7 * hidden, hidden}));
  register_position_bias(positions, 7 * hidden);
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
  const torch::Tensor c_t = decay_towards(c_bar, c, delta, dt);
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
