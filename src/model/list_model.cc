#include "model/list_model.h"

#include <cmath>

#include "core/choice.h"
#include "core/error.h"
#include "model/model_options.h"

namespace funnel::model {
namespace {

constexpr Choice<ListTime> kListTimes[] = {{"position", ListTime::kPosition},
                                           {"timestamp", ListTime::kTimestamp}};
constexpr Choice<ListFeedback> kFeedback[] = {{"none", ListFeedback::kNone},
                                              {"observed", ListFeedback::kObserved}};

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
  feedback = parse_choice(f.get<std::string>("feedback", choice_name(feedback, kFeedback)),
                          kFeedback, f.path("feedback"));
}

void ListModelOptions::write(nlohmann::json& j) const {
  j["encoder"] = encoder;
  j["activation"] = activation_name(activation);
  j["hidden"] = hidden;
  j["positions"] = positions;
  j["time"] = choice_name(time, kListTimes);
  j["time_scale"] = time_scale;
  j["feedback"] = choice_name(feedback, kFeedback);
}

ListModel::ListModel(int64_t input_dim, int64_t events, const ListModelOptions& options)
    : list_options_(options), events_(events) {
  const int64_t in = input_dim + (reads_feedback() ? events : 0);
  encoder_ = register_module(
      "encoder", Mlp(MlpOptions(in).hidden(options.encoder).activation(options.activation)));
  encoded_dim_ = encoder_->output_dim();
}

ListModel::Packed ListModel::pack(const ModelInput& input) {
  FUNNEL_CHECK(input.has_lists(),
               "list model: the input has no lists (a list model reads batches of whole lists: "
               "the data needs a list column, data.list)");
  PackedLists lists(input.list_offsets, input.rows(), input.x.device());
  torch::Tensor rows = input.x;
  if (reads_feedback() && input.rows() > 0) {
    // Item i reads the labels of item i-1 of its list (rows of a list are consecutive, in list
    // order): the feedback shifted down one row, zeroed at every list's first row.
    FUNNEL_CHECK(input.feedback.defined() && input.feedback.size(0) == input.rows() &&
                     input.feedback.size(1) == events_,
                 "list model: feedback: observed needs the rows' labels (ModelInput::feedback, "
                 "[rows, " << events_ << "])");
    torch::Tensor prev = torch::cat(
        {input.feedback.new_zeros({1, events_}), input.feedback.narrow(0, 0, input.rows() - 1)});
    torch::Tensor first = input.list_offsets.narrow(0, 0, input.list_offsets.size(0) - 1);
    first = first.masked_select(first < input.rows());  // an empty last list starts at `rows`
    prev = prev.index_fill(0, first.to(torch::kLong), 0.0);
    rows = torch::cat({rows, prev}, 1);
  }
  torch::Tensor x = encoder_->forward(lists.pack(rows));
  torch::Tensor dt = lists.time_deltas(list_options_.time, input.timestamps,
                                       list_options_.time_scale, x.options());
  return {std::move(lists), std::move(x), std::move(dt)};
}

}  // namespace funnel::model
