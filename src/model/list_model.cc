#include "model/list_model.h"

#include <cmath>

#include "core/choice.h"
#include "core/error.h"
#include "model/model_options.h"

namespace funnel::model {
namespace {

constexpr Choice<ListTime> kListTimes[] = {{"position", ListTime::kPosition},
                                           {"timestamp", ListTime::kTimestamp}};

}  // namespace

void ListModelOptions::read(JsonFields& f) {
  encoder = read_layer_sizes(f, "encoder", encoder);
  activation = read_activation(f, "activation", activation);
  hidden = f.get_in<int64_t>("hidden", hidden, 1, kMaxWidth);
  positions = f.get_in<int64_t>("positions", positions, 0, 100000);
  time = parse_choice(f.get<std::string>("time", choice_name(time, kListTimes)), kListTimes,
                      f.path("time"));
  time_scale = f.get<double>("time_scale", time_scale);
  FUNNEL_CHECK(time_scale > 0 && std::isfinite(time_scale),
               f.path("time_scale") << ": expected a number > 0, got " << time_scale);
}

void ListModelOptions::write(nlohmann::json& j) const {
  j["encoder"] = encoder;
  j["activation"] = activation_name(activation);
  j["hidden"] = hidden;
  j["positions"] = positions;
  j["time"] = choice_name(time, kListTimes);
  j["time_scale"] = time_scale;
}

ListModel::ListModel(int64_t input_dim, const ListModelOptions& options)
    : list_options_(options) {
  encoder_ = register_module("encoder", Mlp(MlpOptions(input_dim).hidden(options.encoder).activation(options.activation)));
  encoded_dim_ = encoder_->output_dim();
}

ListModel::Packed ListModel::pack(const ModelInput& input) {
  FUNNEL_CHECK(input.has_lists(),
               "list model: the input has no lists (a list model reads batches of whole lists: "
               "the data needs a list column, data.list)");
  PackedLists lists(input.list_offsets, input.rows(), input.x.device());
  torch::Tensor x = encoder_->forward(lists.pack(input.x));
  torch::Tensor dt = lists.time_deltas(list_options_.time, input.timestamps,
                                       list_options_.time_scale, x.options());
  return {std::move(lists), std::move(x), std::move(dt)};
}

}  // namespace funnel::model
