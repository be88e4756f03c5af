#include "train/trainer_options.h"

#include <nlohmann/json.hpp>

#include "core/choice.h"
#include "core/error.h"
#include "core/json_fields.h"
#include "metric/funnel_metrics.h"

namespace funnel::train {
namespace {

constexpr Choice<EmbeddingReset> kResets[] = {{"none", EmbeddingReset::kNone},
                                              {"epoch", EmbeddingReset::kEpoch}};

}  // namespace

const char* embedding_reset_name(EmbeddingReset reset) { return choice_name(reset, kResets); }

TrainerOptions TrainerOptions::from_json(const nlohmann::json& j, const std::string& path) {
  TrainerOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.batch_size = f.get_in<size_t>("batch_size", o.batch_size, 1, size_t{1} << 24);
  o.list_batches = f.get<bool>("list_batches", o.list_batches);
  o.lists_per_batch = f.get_in<size_t>("lists_per_batch", o.lists_per_batch, 0, size_t{1} << 24);
  o.epochs = f.get_in<int>("epochs", o.epochs, 1, 100000);
  o.lr = f.get_in<double>("lr", o.lr, 1e-12, 100.0);
  o.weight_decay = f.get_in<double>("weight_decay", o.weight_decay, 0.0, 100.0);
  o.seed = f.get<uint64_t>("seed", o.seed);
  o.threads = f.get_in<int>("threads", o.threads, 1, 1024);
  o.eval_every_steps =
      f.get_in<int64_t>("eval_every_steps", o.eval_every_steps, 0, int64_t{1} << 40);
  o.log_loss_every = f.get_in<int64_t>("log_loss_every", o.log_loss_every, 0, int64_t{1} << 40);
  o.early_stop_metric = f.get<std::string>("early_stop_metric", o.early_stop_metric);
  o.patience = f.get_in<int>("patience", o.patience, 0, 1000000);
  o.max_steps = f.get_in<int64_t>("max_steps", o.max_steps, 0, int64_t{1} << 40);
  o.restore_best = f.get<bool>("restore_best", o.restore_best);
  o.loss.weights = f.get<std::vector<double>>("loss_weights", {});
  o.loss.stop_ctcvr_grad_to_ctr = f.get<bool>("stop_ctcvr_grad_to_ctr", false);
  o.embedding_reset = parse_choice(f.get<std::string>("embedding_reset", "none"), kResets,
                                   f.path("embedding_reset"));
  o.embedding_lr_scale = f.get_in<double>("embedding_lr_scale", o.embedding_lr_scale, 0.0, 1e6);
  f.finish();
  FUNNEL_CHECK(!(o.embedding_reset == EmbeddingReset::kEpoch && o.embedding_lr_scale == 0),
               f.path("embedding_lr_scale")
                   << ": 0 (frozen) with " << f.path("embedding_reset")
                   << " = epoch would freeze freshly drawn tables; choose one of the two");
  metric::parse_metric_path(o.early_stop_metric, f.path("early_stop_metric"));
  return o;
}

nlohmann::json TrainerOptions::to_json() const {
  return {{"batch_size", batch_size},
          {"list_batches", list_batches},
          {"lists_per_batch", lists_per_batch},
          {"epochs", epochs},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"seed", seed},
          {"threads", threads},
          {"eval_every_steps", eval_every_steps},
          {"log_loss_every", log_loss_every},
          {"early_stop_metric", early_stop_metric},
          {"patience", patience},
          {"max_steps", max_steps},
          {"restore_best", restore_best},
          {"loss_weights", loss.weights},
          {"stop_ctcvr_grad_to_ctr", loss.stop_ctcvr_grad_to_ctr},
          {"embedding_reset", embedding_reset_name(embedding_reset)},
          {"embedding_lr_scale", embedding_lr_scale}};
}

}  // namespace funnel::train
