#include "model/sequence_model.h"

#include <torch/nn/modules/linear.h>

#include "core/json_fields.h"
#include "model/blocks/cells.h"

namespace funnel::model {

void SequenceModelOptions::read(const nlohmann::json& j, const std::string& path) {
  if (j.is_null()) return;
  JsonFields f(j, path);
  list.read(f);
  item_readout = f.get<bool>("item_readout", item_readout);
  if (readout != SequenceReadout::kState) {
    attention = f.get_in<int64_t>("attention", attention, 1, 1 << 16);
  }
  f.finish();
}

nlohmann::json SequenceModelOptions::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  list.write(j);
  j["item_readout"] = item_readout;
  if (readout != SequenceReadout::kState) j["attention"] = attention;
  return j;
}

namespace {

std::shared_ptr<RecurrentCellImpl> make_cell(SequenceCell kind, int64_t in, int64_t hidden,
                                             int64_t positions) {
  switch (kind) {
    case SequenceCell::kLstm:
      return std::make_shared<LstmCellImpl>(in, hidden, positions);
    case SequenceCell::kTimeLstm:
      return std::make_shared<TimeLstmCellImpl>(in, hidden, positions);
    case SequenceCell::kCtLstm:
      return std::make_shared<CtLstmCellImpl>(in, hidden, positions);
    case SequenceCell::kGru:
      return std::make_shared<GruCellImpl>(in, hidden, positions);
  }
  return nullptr;
}

}  // namespace

SequenceModel::SequenceModel(const FunnelSpec& funnel, int64_t input_dim,
                             SequenceModelOptions options)
    : ListModel(input_dim, static_cast<int64_t>(funnel.num_events()), options.list),
      options_(std::move(options)),
      events_(static_cast<int64_t>(funnel.num_events())) {
  funnel.validate();
  const int64_t H = options_.list.hidden;
  cell_ =
      register_module("cell", make_cell(options_.cell, encoded_dim(), H, options_.list.positions));
  int64_t readout = H;
  if (options_.readout == SequenceReadout::kAttention) {
    attention_ = register_module(
        "attention", ListAttention(encoded_dim(), H, options_.attention, AttentionScore::kTanh));
    readout = 2 * H;
  } else if (options_.readout == SequenceReadout::kNarm) {
    attention_ = register_module("attention",
                                 ListAttention(H, H, options_.attention, AttentionScore::kSigmoid));
    readout = 2 * H;
    bilinear_ = register_module(
        "bilinear",
        torch::nn::Linear(torch::nn::LinearOptions(readout, events_ * encoded_dim()).bias(false)));
  }
  heads_ = register_module("heads", torch::nn::Linear(readout, events_));
  if (options_.item_readout) {
    item_heads_ = register_module(
        "item_heads",
        torch::nn::Linear(torch::nn::LinearOptions(encoded_dim(), events_).bias(false)));
  }
}

FunnelOutput SequenceModel::forward(const ModelInput& input) {
  const Packed p = pack(input);
  const torch::Tensor h = run_lists(*cell_, p.lists, p.x, p.dt);
  torch::Tensor r = h;
  if (options_.readout == SequenceReadout::kAttention) {
    r = torch::cat({h, attention_->forward(p.x, h, p.lists)}, 1);
  } else if (options_.readout == SequenceReadout::kNarm) {
    r = torch::cat({h, attention_->forward(h, h, p.lists)}, 1);
  }
  torch::Tensor packed = heads_(r);
  if (bilinear_) {
    // x_i^T B_e c_i for every event e: [rows, E, enc] . [rows, 1, enc].
    packed = packed + (bilinear_(r).view({r.size(0), events_, -1}) * p.x.unsqueeze(1)).sum(-1);
  }
  if (options_.item_readout) packed = packed + item_heads_(p.x);
  const torch::Tensor logits = p.lists.unpack(packed);
  FunnelOutput out;
  for (int64_t e = 0; e < logits.size(1); ++e) out.add_logit(logits.select(1, e));
  return out;
}

}  // namespace funnel::model
