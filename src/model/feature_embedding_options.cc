#include "model/feature_embedding_options.h"

#include <nlohmann/json.hpp>
#include <variant>

#include "core/choice.h"
#include "core/error.h"
#include "core/json_fields.h"

namespace funnel::model {
namespace {

constexpr Choice<embed::Pooling> kPoolings[] = {{"sum", embed::Pooling::kSum},
                                                {"mean", embed::Pooling::kMean}};

constexpr Choice<EmbeddingSharing> kSharings[] = {{"shared", EmbeddingSharing::kShared},
                                                  {"per_task", EmbeddingSharing::kPerTask}};

}  // namespace

const char* embedding_sharing_name(EmbeddingSharing sharing) {
  return choice_name(sharing, kSharings);
}

FeatureEmbeddingOptions FeatureEmbeddingOptions::from_json(const nlohmann::json& j,
                                                           const std::string& path) {
  FeatureEmbeddingOptions o;
  std::string optimizer = "adam";
  double lr = 0.005, weight_decay = 0.0;
  if (!j.is_null()) {
    JsonFields f(j, path);
    o.embedding_dim = f.get<uint32_t>("dim", o.embedding_dim);
    FUNNEL_CHECK(o.embedding_dim > 0, f.path("dim") << ": must be > 0");
    optimizer = f.get<std::string>("optimizer", optimizer);
    check_choice(optimizer, embed::optimizer_names(), f.path("optimizer"));
    lr = f.get<double>("lr", lr);
    FUNNEL_CHECK(lr > 0, f.path("lr") << ": must be > 0");
    weight_decay = f.get<double>("weight_decay", weight_decay);
    FUNNEL_CHECK(weight_decay >= 0, f.path("weight_decay") << ": must be >= 0");
    o.table.pooling =
        parse_choice(f.get<std::string>("pooling", "sum"), kPoolings, f.path("pooling"));
    o.table.init_scale = f.get<double>("init_scale", o.table.init_scale);
    o.sharing = parse_choice(f.get<std::string>("sharing", "shared"), kSharings, f.path("sharing"));
    o.frequency_weight_decay =
        f.get_in<double>("frequency_weight_decay", o.frequency_weight_decay, 0.0, 1e6);
    FUNNEL_CHECK(o.frequency_weight_decay == 0 || optimizer == "adam",
                 f.path("frequency_weight_decay")
                     << ": needs the per-row step counts of optimizer adam, got optimizer '"
                     << optimizer << "'");
    f.finish();
  }
  // The optimizer registry (embed/optimizer.h) gives the kind's defaults; the section sets the
  // learning rate and weight decay every kind has.
  o.table.optimizer = embed::optimizer_options_from_name(optimizer);
  std::visit(
      [&](auto& opt) {
        opt.lr = lr;
        opt.weight_decay = weight_decay;
      },
      o.table.optimizer);
  return o;
}

nlohmann::json FeatureEmbeddingOptions::to_json() const {
  nlohmann::json j = {{"dim", embedding_dim},
                      {"optimizer", embed::optimizer_name(embed::optimizer_kind(table.optimizer))},
                      {"pooling", choice_name(table.pooling, kPoolings)},
                      {"init_scale", table.init_scale},
                      {"sharing", embedding_sharing_name(sharing)},
                      {"frequency_weight_decay", frequency_weight_decay}};
  std::visit(
      [&](const auto& opt) {
        j["lr"] = opt.lr;
        j["weight_decay"] = opt.weight_decay;
      },
      table.optimizer);
  return j;
}

}  // namespace funnel::model
