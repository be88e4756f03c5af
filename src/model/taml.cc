#include "model/taml.h"

#include <torch/nn/module.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {

TamlOptions TamlOptions::from_json(const nlohmann::json& j, const std::string& path) {
  TamlOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.learners = f.get<int64_t>("learners", o.learners);
  FUNNEL_CHECK(o.learners >= 1, f.path("learners") << ": expected >= 1, got " << o.learners);
  o.learner_towers = read_layer_sizes(f, "learner_towers", o.learner_towers);
  o.experts = read_layer_sizes(f, "experts", o.experts);
  FUNNEL_CHECK(!o.experts.empty(), f.path("experts") << ": expected at least one layer");
  auto count = [&](const char* key, int64_t& n) {
    n = f.get<int64_t>(key, n);
    FUNNEL_CHECK(n >= 0, f.path(key) << ": expected >= 0, got " << n);
  };
  count("general_experts", o.general_experts);
  count("task_experts", o.task_experts);
  count("learner_experts", o.learner_experts);
  o.htakr = f.get<bool>("htakr", o.htakr);
  FUNNEL_CHECK(!o.htakr || o.general_experts + o.task_experts + o.learner_experts > 0,
               f.path("general_experts") << ": with htakr every gate needs at least one expert");
  o.distill_first = read_weight(f, "distill_first", o.distill_first);
  o.distill_later = read_weight(f, "distill_later", o.distill_later);
  o.detach_teacher = f.get<bool>("detach_teacher", o.detach_teacher);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json TamlOptions::to_json() const {
  return {{"learners", learners},
          {"learner_towers", learner_towers},
          {"experts", experts},
          {"general_experts", general_experts},
          {"task_experts", task_experts},
          {"learner_experts", learner_experts},
          {"htakr", htakr},
          {"distill_first", distill_first},
          {"distill_later", distill_later},
          {"detach_teacher", detach_teacher},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

torch::Tensor self_distillation_loss(const std::vector<torch::Tensor>& learner_logits,
                                     bool detach_teacher) {
  FUNNEL_CHECK(!learner_logits.empty(), "self-distillation: no learners");
  torch::Tensor fused = torch::stack(learner_logits, 0).mean(0);
  if (detach_teacher) fused = fused.detach();
  const torch::Tensor p = torch::sigmoid(fused);
  torch::Tensor total;
  for (const torch::Tensor& z : learner_logits) {
    // xent(p, sigmoid(z)) from the logit: log p^l = logsigmoid(z), log(1 - p^l) = logsigmoid(-z).
    const torch::Tensor term = -(p * torch::log_sigmoid(z) + (1.0 - p) * torch::log_sigmoid(-z));
    total = total.defined() ? total + term : term;
  }
  return total.mean();
}

TamlModel::TamlModel(const FunnelSpec& funnel, int64_t input_dim, TamlOptions options)
    : options_(std::move(options)) {
  funnel.validate();
  const MlpOptions expert = MlpOptions(input_dim)
                                .hidden(options_.experts)
                                .dropout(options_.dropout)
                                .activation(options_.activation);
  const size_t T = funnel.num_events();
  const auto L = static_cast<size_t>(options_.learners);
  int64_t width = 0;
  if (options_.htakr) {
    general_ = register_module("general", ExpertGroup(options_.general_experts, expert));
    width = general_->output_dim();
  } else {
    bottom_ = register_module("bottom", Mlp(expert));
    width = bottom_->output_dim();
  }
  const int64_t k = options_.general_experts + options_.task_experts + options_.learner_experts;
  task_.resize(T, nullptr);
  learner_.resize(T);
  gates_.resize(T);
  learners_.resize(T);
  for (size_t t = 0; t < T; ++t) {
    const std::string id = std::to_string(t);
    if (options_.htakr) {
      task_[t] = register_module("task" + id, ExpertGroup(options_.task_experts, expert));
    }
    for (size_t l = 0; l < L; ++l) {
      const std::string tl = id + "_" + std::to_string(l);
      if (options_.htakr) {
        learner_[t].push_back(register_module(
            "learner_experts" + tl, ExpertGroup(options_.learner_experts, expert)));
        gates_[t].push_back(register_module("gate" + tl, Gate(input_dim, k)));
      }
      const MlpOptions learner = MlpOptions(width)
                                     .hidden(options_.learner_towers)
                                     .dropout(options_.dropout)
                                     .activation(options_.activation);
      learners_[t].push_back(register_module("learner" + tl, Tower(learner)));
    }
  }
}

int64_t TamlModel::experts_of(ExpertKind kind) const {
  if (!options_.htakr) return 0;
  switch (kind) {
    case ExpertKind::kGeneral: return options_.general_experts;
    case ExpertKind::kTask: return options_.task_experts;
    case ExpertKind::kLearner: return options_.learner_experts;
  }
  return 0;
}

std::vector<std::vector<torch::Tensor>> TamlModel::learner_inputs(const torch::Tensor& x) {
  std::vector<std::vector<torch::Tensor>> in(num_tasks());
  if (!options_.htakr) {
    const torch::Tensor h = bottom_(x);
    for (size_t t = 0; t < num_tasks(); ++t) in[t].assign(learners_[t].size(), h);
    return in;
  }
  const torch::Tensor general = general_(x);  // [B, G, H]
  for (size_t t = 0; t < num_tasks(); ++t) {
    const torch::Tensor task = task_[t](x);  // [B, T, H]
    for (size_t l = 0; l < learners_[t].size(); ++l) {
      // eq. 1: e^l(x) = [general experts; task t's experts; learner l's experts].
      const torch::Tensor experts = torch::cat({general, task, learner_[t][l](x)}, 1);
      in[t].push_back(gates_[t][l](x, experts));
    }
  }
  return in;
}

std::vector<std::vector<torch::Tensor>> TamlModel::learner_logits(const torch::Tensor& x) {
  const auto in = learner_inputs(x);
  std::vector<std::vector<torch::Tensor>> logits(num_tasks());
  for (size_t t = 0; t < num_tasks(); ++t) {
    for (size_t l = 0; l < learners_[t].size(); ++l) {
      logits[t].push_back(learners_[t][l](in[t][l]));
    }
  }
  return logits;
}

std::vector<std::vector<torch::Tensor>> TamlModel::gate_weights(const torch::Tensor& x) {
  std::vector<std::vector<torch::Tensor>> w(num_tasks());
  if (!options_.htakr) return w;
  for (size_t t = 0; t < num_tasks(); ++t) {
    for (auto& gate : gates_[t]) w[t].push_back(gate->weights(x));
  }
  return w;
}

FunnelOutput TamlModel::forward(const ModelInput& input) {
  const auto logits = learner_logits(input.x);
  FunnelOutput out;
  torch::Tensor kd;
  for (size_t t = 0; t < logits.size(); ++t) {
    // §2.3: the task's logit is the mean of its learners' logits.
    out.add_logit(torch::stack(logits[t], 0).mean(0));
    const double w = t == 0 ? options_.distill_first : options_.distill_later;
    if (w == 0) continue;
    const torch::Tensor term = self_distillation_loss(logits[t], options_.detach_teacher) * w;
    kd = kd.defined() ? kd + term : term;
  }
  out.aux_loss = kd;  // eq. 6: alpha L_kd_ctr + beta L_kd_cvr (undefined when off)
  return out;
}

TamlGateStats::TamlGateStats(const TamlModel& model)
    : general_(model.experts_of(ExpertKind::kGeneral)),
      task_(model.experts_of(ExpertKind::kTask)),
      learner_(model.experts_of(ExpertKind::kLearner)) {
  FUNNEL_CHECK(model.options().htakr, "TAML gate weights: the model has no gates (htakr false)");
  const auto k = static_cast<size_t>(general_ + task_ + learner_);
  sums_.assign(model.num_tasks(), std::vector<std::vector<double>>(
                                      static_cast<size_t>(model.options().learners),
                                      std::vector<double>(k, 0.0)));
}

void TamlGateStats::add(TamlModel& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const auto w = model.gate_weights(x);
  for (size_t t = 0; t < w.size(); ++t) {
    for (size_t l = 0; l < w[t].size(); ++l) {
      const torch::Tensor col = w[t][l].sum(0).to(torch::kCPU, torch::kFloat64).contiguous();
      const double* v = col.data_ptr<double>();
      for (size_t i = 0; i < sums_[t][l].size(); ++i) sums_[t][l][i] += v[i];
    }
  }
  rows_ += static_cast<uint64_t>(x.size(0));
}

nlohmann::json TamlGateStats::to_json(const std::vector<std::string>& events) const {
  FUNNEL_CHECK(events.size() == sums_.size(), "TAML gate weights: " << events.size()
                                                                    << " events for "
                                                                    << sums_.size() << " tasks");
  const double n = rows_ > 0 ? static_cast<double>(rows_) : 1.0;
  const auto G = static_cast<size_t>(general_), T = static_cast<size_t>(task_);
  nlohmann::json tasks = nlohmann::json::array();
  for (size_t t = 0; t < sums_.size(); ++t) {
    nlohmann::json learners = nlohmann::json::array();
    double mg = 0, mt = 0, ml = 0;
    for (size_t l = 0; l < sums_[t].size(); ++l) {
      std::vector<double> experts;
      double g = 0, tk = 0, lr = 0;
      for (size_t i = 0; i < sums_[t][l].size(); ++i) {
        const double v = sums_[t][l][i] / n;
        experts.push_back(v);
        (i < G ? g : i < G + T ? tk : lr) += v;
      }
      learners.push_back({{"learner", l}, {"general", g}, {"task", tk}, {"learner_specific", lr},
                          {"experts", experts}});
      mg += g;
      mt += tk;
      ml += lr;
    }
    const double L = static_cast<double>(sums_[t].size());
    tasks.push_back({{"event", events[t]},
                     {"learners", learners},
                     {"mean", {{"general", mg / L}, {"task", mt / L}, {"learner_specific", ml / L}}}});
  }
  return {{"rows", rows_},
          {"groups", {{"general", general_}, {"task", task_}, {"learner", learner_}}},
          {"tasks", tasks}};
}

}  // namespace funnel::model
