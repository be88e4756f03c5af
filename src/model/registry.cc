// The single registry table of models (STYLE.md rule 6): adding a model is one file plus one
// line here. `--help`, config validation and bundle loading read this table.

#include <torch/nn/module.h>

#include <nlohmann/json.hpp>

#include "core/choice.h"
#include "core/error.h"
#include "model/aitm.h"
#include "model/autoheri.h"
#include "model/dbmtl.h"
#include "model/dcmt.h"
#include "model/dnn.h"
#include "model/dnn_os.h"
#include "model/escm2.h"
#include "model/esm2.h"
#include "model/esmm.h"
#include "model/heroes.h"
#include "model/mmoe.h"
#include "model/model.h"
#include "model/model_config.h"
#include "model/multi_dr.h"
#include "model/ple.h"
#include "model/sequence_model.h"
#include "model/shared_bottom.h"
#include "model/taml.h"

namespace funnel::model {
namespace {

/// The entry of a model built as Model(funnel, input_dim, Options) from Options::from_json.
template <typename Options, typename Model>
ModelEntry entry(const char* name, const char* summary, bool per_task_embeddings = false) {
  return {name, summary,
          [](const nlohmann::json& options, const std::string& path) {
            return ModelOptions::of(Options::from_json(options, path));
          },
          [](const FunnelSpec& funnel, int64_t input_dim,
             const ModelOptions& options) -> std::shared_ptr<FunnelModel> {
            return std::make_shared<Model>(funnel, input_dim, options.as<Options>());
          },
          per_task_embeddings};
}

/// Marks the entries whose towers read ModelInput::task(e): per-task embeddings.
constexpr bool kPerTask = true;

const ModelEntry& find_entry(const std::string& name, const std::string& path) {
  for (const ModelEntry& e : model_registry()) {
    if (name == e.name) return e;
  }
  throw Error(path + ": unknown model '" + name + "' (known: " + choice_list(model_names()) + ")");
}

/// What every model needs of its inputs, checked before anything is built.
void check_model_inputs(const std::string& name, const FunnelSpec& funnel, int64_t input_dim) {
  funnel.validate();
  FUNNEL_CHECK(input_dim > 0, "model '" << name << "': input width must be > 0, got " << input_dim);
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> kModels = {
      entry<EsmmOptions, EsmmModel>(
          "esmm",
          "ESMM: one MLP tower per event on shared embeddings, entire-space products, trained on "
          "CTR + CTCVR (+ ...) losses over all impressions",
          kPerTask),
      entry<SharedBottomOptions, SharedBottomModel>(
          "shared_bottom",
          "Shared-Bottom: one shared MLP, then a small tower per event; trained like ESMM"),
      entry<EsmmOptions, DnnModel>(
          "dnn",
          "DNN: ESMM's towers trained in click space (each later event only on rows where its "
          "parent happened)",
          kPerTask),
      entry<AutoHeriOptions, AutoHeriModel>(
          "autoheri",
          "AutoHERI: ESMM's towers plus integration edges from preceding to succeeding towers' "
          "layers (eq. 1); alpha searched (funnel search) or a fixed architecture (--arch)",
          kPerTask),
      entry<TamlOptions, TamlModel>(
          "taml",
          "TAML: general, task and learner experts mixed by one gate per learner (HTAKR), several "
          "learners per task averaged, self-distillation from the fused score; as ESMM"),
      entry<EsmmOptions, Esm2Model>(
          "esm2",
          "ESM2: four sub-networks y1..y4 over click -> action -> purchase, pCVR = y2 y3 + (1 - "
          "y2) y4 (eq. 1-4), entire-space CTR, CTAVR and CTCVR losses (eq. 8-11)"),
      entry<MmoeOptions, MmoeModel>(
          "mmoe", "MMoE: shared experts, a softmax gate and a tower per event; trained like ESMM"),
      entry<PleOptions, PleModel>(
          "ple",
          "PLE: stacked CGC layers of shared and per-event experts with gates; trained like ESMM"),
      entry<AitmOptions, AitmModel>(
          "aitm",
          "AITM: per-event towers, attention over [transferred parent info, own representation], "
          "behavioural expectation calibrator; pCVR = pCTCVR / pCTR"),
      entry<DbmtlOptions, DbmtlModel>(
          "dbmtl",
          "DBMTL: shared bottom, per-event towers, relation networks conditioning each event on "
          "its parent's output; pCVR = pCTCVR / pCTR"),
      entry<MultiDrOptions, MultiDrModel>(
          "multi_dr",
          "Multi-DR: CTR and CVR towers plus an imputation tower, doubly robust CVR loss over "
          "the entire space with propensity pCTR"),
      entry<DnnOsOptions, DnnOsModel>(
          "dnn_os",
          "DNN-OS: the click-space DNN with positive conversion rows over-sampled (as loss "
          "weights)",
          kPerTask),
      entry<DcmtOptions, DcmtModel>(
          "dcmt",
          "DCMT: CTR tower and twin factual/counterfactual CVR towers, IPS-weighted factual and "
          "counterfactual (label 1 - y) losses, regulariser r + r* ~ 1; pCVR = factual tower"),
      entry<Escm2Options, Escm2IpsModel>(
          "escm2_ips",
          "ESCM2-IPS: ESMM's losses plus an inverse-propensity-weighted counterfactual CVR risk "
          "over the entire space, propensity pCTR",
          kPerTask),
      entry<Escm2Options, Escm2DrModel>(
          "escm2_dr",
          "ESCM2-DR: ESMM's losses plus a doubly robust counterfactual CVR risk with an "
          "imputation tower (Multi-DR's terms added, not replacing CTCVR)"),
      entry<HeroesOptions, HeroesModel>(
          "heroes",
          "HEROES: hierarchical recurrent model over each list, a CTR and a CVR layer of units "
          "with inherent and Hawkes-decayed behavioural states; reads whole lists"),
      entry<LstmOptions, SequenceModel>(
          "lstm",
          "LSTM: one LSTM over each list, a linear head per event on its hidden state (HEROES "
          "Table 2 baseline); reads whole lists"),
      entry<TimeLstmOptions, SequenceModel>(
          "time_lstm",
          "Time-LSTM: an LSTM whose time gates read the gap to the list's previous item "
          "(Time-LSTM 3, HEROES Table 2 baseline); reads whole lists"),
      entry<NhpOptions, SequenceModel>(
          "nhp",
          "NHP: the continuous-time LSTM of the neural Hawkes process, its cell decaying between "
          "items (HEROES Table 2 baseline); reads whole lists"),
      entry<DupnOptions, SequenceModel>(
          "dupn",
          "DUPN: an LSTM over each list with attention over the items so far queried by the "
          "item, a head per task (HEROES Table 2 baseline); reads whole lists"),
      entry<NarmOptions, SequenceModel>(
          "narm",
          "NARM: a GRU over each list, its state and an attention over the states so far, a "
          "bilinear decoder with the item (HEROES Table 2 baseline); reads whole lists"),
  };
  return kModels;
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const ModelEntry& e : model_registry()) names.emplace_back(e.name);
  return names;
}

std::vector<std::string> per_task_model_names() {
  std::vector<std::string> names;
  for (const ModelEntry& e : model_registry()) {
    if (e.per_task_embeddings) names.emplace_back(e.name);
  }
  return names;
}

void check_embedding_sharing(const std::string& name, EmbeddingSharing sharing,
                             const std::string& path) {
  if (sharing == EmbeddingSharing::kShared) return;
  if (find_entry(name, "model").per_task_embeddings) return;
  throw Error(path + ": per_task embeddings need a model with one tower per event reading its " +
              "own input (" + choice_list(per_task_model_names()) + "); model '" + name +
              "' supports only shared");
}

bool is_model_name(const std::string& name) {
  for (const ModelEntry& e : model_registry()) {
    if (name == e.name) return true;
  }
  return false;
}

ModelConfig parse_model_options(const std::string& name, const nlohmann::json& options,
                                const std::string& path) {
  const ModelEntry& e = find_entry(name, path);
  return {e.name, e.parse(options, path)};
}

ModelConfig parse_model_config(const nlohmann::json& section, const std::string& path) {
  FUNNEL_CHECK(section.is_object(),
               path << ": expected a JSON object {\"name\": ..., options}, got " << section.dump());
  const std::string name_path = path.empty() ? "name" : path + ".name";
  FUNNEL_CHECK(section.contains("name"), name_path << ": required key is missing (one of "
                                                   << choice_list(model_names()) << ")");
  const nlohmann::json& name = section.at("name");
  FUNNEL_CHECK(name.is_string(), name_path << ": expected a string, got " << name.dump());
  nlohmann::json options = section;
  options.erase("name");
  // The options sit beside "name", so their messages carry the section's own path.
  const ModelEntry& e = find_entry(name.get<std::string>(), name_path);
  return {e.name, e.parse(options, path)};
}

std::shared_ptr<FunnelModel> make_model(const ModelConfig& config, const FunnelSpec& funnel,
                                        int64_t input_dim) {
  check_model_inputs(config.name, funnel, input_dim);
  return find_entry(config.name, "model").make(funnel, input_dim, config.options);
}

std::shared_ptr<FunnelModel> make_model(const std::string& name, const FunnelSpec& funnel,
                                        int64_t input_dim, const nlohmann::json& options) {
  // The funnel and the width are checked before the options are parsed, as they always were.
  check_model_inputs(name, funnel, input_dim);
  return make_model(parse_model_options(name, options), funnel, input_dim);
}

}  // namespace funnel::model
