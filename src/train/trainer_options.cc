#include "train/trainer_options.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
#include "metric/funnel_metrics.h"

namespace funnel::train {

TrainerOptions TrainerOptions::from_json(const nlohmann::json& j, const std::string& path) {
  TrainerOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.batch_size = f.get<size_t>("batch_size", o.batch_size);
  o.epochs = f.get<int>("epochs", o.epochs);
  o.lr = f.get<double>("lr", o.lr);
  o.weight_decay = f.get<double>("weight_decay", o.weight_decay);
  o.seed = f.get<uint64_t>("seed", o.seed);
  o.threads = f.get<int>("threads", o.threads);
  o.eval_every_steps = f.get<int64_t>("eval_every_steps", o.eval_every_steps);
  o.early_stop_metric = f.get<std::string>("early_stop_metric", o.early_stop_metric);
  o.patience = f.get<int>("patience", o.patience);
  o.max_steps = f.get<int64_t>("max_steps", o.max_steps);
  o.loss.weights = f.get<std::vector<double>>("loss_weights", {});
  o.loss.stop_ctcvr_grad_to_ctr = f.get<bool>("stop_ctcvr_grad_to_ctr", false);
  f.finish();
  FUNNEL_CHECK(o.batch_size > 0, f.path("batch_size") << ": must be > 0");
  FUNNEL_CHECK(o.epochs > 0, f.path("epochs") << ": must be > 0");
  FUNNEL_CHECK(o.lr > 0, f.path("lr") << ": must be > 0");
  FUNNEL_CHECK(o.weight_decay >= 0, f.path("weight_decay") << ": must be >= 0");
  FUNNEL_CHECK(o.threads > 0, f.path("threads") << ": must be > 0");
  FUNNEL_CHECK(o.eval_every_steps >= 0, f.path("eval_every_steps") << ": must be >= 0");
  FUNNEL_CHECK(o.patience >= 0, f.path("patience") << ": must be >= 0");
  FUNNEL_CHECK(o.max_steps >= 0, f.path("max_steps") << ": must be >= 0");
  metric::parse_metric_path(o.early_stop_metric, f.path("early_stop_metric"));
  return o;
}

nlohmann::json TrainerOptions::to_json() const {
  return {{"batch_size", batch_size},
          {"epochs", epochs},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"seed", seed},
          {"threads", threads},
          {"eval_every_steps", eval_every_steps},
          {"early_stop_metric", early_stop_metric},
          {"patience", patience},
          {"max_steps", max_steps},
          {"loss_weights", loss.weights},
          {"stop_ctcvr_grad_to_ctr", loss.stop_ctcvr_grad_to_ctr}};
}

}  // namespace funnel::train
