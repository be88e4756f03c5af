#pragma once
// HEROES (Jin et al., CIKM 2022, ../shared/papers/heroes-cikm22.md §3), biased LTR: a
// hierarchical recurrent model over the items of a list, the CTR layer over "observation ->
// click" and the CVR layer over "click -> conversion", each unit carrying an inherent state s~
// (relevance of the item in its context, free of behaviour effects) and a behavioural state s
// (with the excitation or discouragement by the user's previous behaviour, decaying towards the
// inherent state by a Hawkes process).
//
// Per item i, with x_i its encoded feature row and one-hot position (footnote 3), g_{i-1} the
// previous item's boundary, and every gate set [i, f, o, g~] = [sigmoid x3, tanh] of
// W x_i + (top-down state) + b (eq. 15), one weight set per layer and branch:
//
//   CTR layer
//     top-down (eq. 16)   z^c_i = (1 - g_{i-1}) U^c h^c_{i-1} + g_{i-1} U^r h^v_{i-1}
//                         (the inherent branch the same with h~ and its own weights)
//     Hawkes (eq. 11)     s^c(t_i) = s~^c_{i-1} + (s^c_{i-1} - s~^c_{i-1}) exp(-delta_{i-1} dt_i)
//                         delta_i = f(MLP(h^c_i)), f(x) = gamma log(1 + exp(x / gamma))
//     state (eq. 10)      s~^c_i = (1 - g_{i-1}) f~ s~^c_{i-1} + i~ g~~   update <1> / summarize <2>
//                         s^c_i  = (1 - g_{i-1}) f s^c(t_i) + i g~
//     hidden (eq. 12)     h~^c_i = o~ tanh(s~^c_i), h^c_i = o tanh(s^c_i)
//     P(c_i = 1)          sigmoid(w_c h^c_i + b_c) behavioural, sigmoid(w_c h~^c_i + b_c) inherent
//     boundary (eq. 9)    g_i = 1[P(c_i = 1) > 0.5] (straight-through) or P(c_i = 1) (soft)
//   CVR layer
//     top-down (eq. 16)   z^v_i = U^v h^v_{i-1} + W^r h^c_i
//     update <3> (eq. 13) s^v_i' = f s^v_{i-1} + i g~, h^v_i' = o tanh(s^v_i')   (and the inherent)
//     P(v_i = 1 | c_i = 1) = sigmoid(w_v h^v_i' + b_v)
//     carried state       s^v_i = g_i s^v_i' + (1 - g_i) s^v_{i-1}   (copy <4> when g_i = 0, eq. 13-14)
//
// Training on the behavioural relevance (eq. 17-18: pCTR = h^c, pCTCVR = h^c h^v, the generic
// entire-space loss with the conversion weight as alpha); inference on the inherent relevance
// (Algorithm 1, line 9: pCTR = h~^c, pCTCVR = h~^c h~^v), or the behavioural (option `predict`).
//
// Unbiased LTR (HEROES+, §4; objective survival): the same outputs read as hazards, h^c =
// P(r^c = 1) the prior-click relevance (eq. 21) and h^v = P(r^v = 1) the post-click one (eq.
// 22); observation P(o_i = 1) = P(z^c >= i) and click P(c_i = 1) = P(z^v >= i) (eq. 20) follow
// by the survival products of eq. 23-24. Training: L = L_c + alpha L_v (eq. 17) with L_b of eq.
// 28 per layer (model/survival.h), each divided by the batch's items like the generic loss's
// mean; the CVR layer's process advances at the clicked items. Inference ranks by the
// relevance, the inherent hazards (Algorithm 1, line 9), as in the biased model. HEROES+comb is
// the full unit (the Hawkes decay inside the survival model), HEROES+ the unit with `hawkes:
// false` (§4.1: s^c(t_{i-1}) replaced by s^c_{i-1} in eq. 10; §5.2).
//
// Choices the paper leaves open (docs/heroes.md):
// - The CVR prediction of item i is the update branch: P(v | c = 1) conditions on the click,
//   for which the boundary would be 1; the boundary decides only what is carried to item i + 1.
//   (Read literally, eq. 14 copies h^v_{i-1} when g_i = 0, so an item the model does not expect
//   to be clicked would get a CVR that ignores its own features.)
// - The default boundary is soft: with the paper's threshold 0.5 and a click rate of a few
//   percent the hard boundary almost never fires, the CTR layer never summarizes and the CVR
//   layer never updates; Criteo's click rate (§5.1) is about 40 %. `boundary: hard` is the
//   paper's gate with the straight-through gradient of HM-RNN (Chung et al. 2016).
// - The logits also read the item's own encoding (item_readout, default on): without it every
//   per-item signal has to pass through the gates, and the model learns far more slowly than a
//   per-item tower (docs/heroes.md, measured).
// - The behaviour embedding y of eq. 11 is not used (§5.1 leaves it out too), so no label
//   of any item is an input: an item's prediction depends on the features of the items before
//   it and its own, nothing else (tests/model/heroes_test.cc perturbs the labels).
//
// Ablations (Table 2), options of the one model:
// - intra: no recurrence within a layer (no U^c, U^v, no carried cell state, no Hawkes decay),
//   only the connections between the layers: an MLP per item plus the inter-layer links.
// - inter: no connections between the layers (no U^r, W^r; the CTR layer never summarizes and
//   the CVR layer always updates): two independent recurrent layers.
// - unit: a standard LSTM unit in the same hierarchy: no Hawkes decay and no inherent branch
//   (the inherent outputs are the behavioural ones).

#include <torch/nn/modules/linear.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "model/blocks/sequence.h"
#include "model/funnel_output.h"
#include "model/funnel_spec.h"
#include "model/list_model.h"
#include "model/survival.h"

namespace funnel::model {

enum class HeroesVariant { kFull, kIntra, kInter, kUnit };
enum class HeroesBoundary { kSoft, kHard };
enum class HeroesPredict { kInherent, kBehavioural };
/// The training objective: the biased LTR loss of §3.3 (eq. 17-18) or the survival loss of §4
/// (HEROES+, eq. 19-28; model/survival.h).
enum class HeroesObjective { kPointwise, kSurvival };

struct HeroesOptions {
  ListModelOptions list;
  HeroesVariant variant = HeroesVariant::kFull;
  HeroesBoundary boundary = HeroesBoundary::kSoft;
  /// What eval mode returns (training always uses the behavioural relevance).
  HeroesPredict predict = HeroesPredict::kInherent;
  /// f(x) = gamma log(1 + exp(x / gamma)) of the decay rate (eq. 11, gamma = 5 in §5.1).
  double gamma = 5.0;
  /// The logits read the item's encoding too: logit = w h + u x_i + b (a linear term of the
  /// item, computed for all items in prepare()'s GEMM). Off: the paper's readout of h alone.
  bool item_readout = true;
  /// The Hawkes decay of eq. 11 in the CTR layer's behavioural branch (variants full, inter).
  /// Off: s^c(t_{i-1}) replaced by s^c_{i-1} in eq. 10, the unit of HEROES+ (§4.1, §5.2);
  /// HEROES+comb keeps it.
  bool hawkes = true;
  /// pointwise: eq. 17-18 on pCTR = h^c, pCTCVR = h^c h^v. survival: eq. 17 over the survival
  /// losses L_b (eq. 28) of the two layers, the hazards being h^c (every item a step) and h^v
  /// (the clicked items the steps).
  HeroesObjective objective = HeroesObjective::kPointwise;
  /// beta of eq. 28 (objective survival): the weight of the CDF losses.
  double beta = 1.0;
  /// objective survival: how a list with several occurrences is read (model/survival.h).
  SurvivalSegments segments = SurvivalSegments::kRenewal;

  /// Strict parse: the list model keys plus variant (full, intra, inter, unit), boundary
  /// (soft, hard), predict (inherent, behavioural), gamma (> 0), item_readout, hawkes,
  /// objective (pointwise, survival), beta (>= 0), segments (renewal, first); beta and segments
  /// other than their defaults only with objective survival.
  static HeroesOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  nlohmann::json to_json() const;
};

/// The two-layer hierarchy of one item as a recurrent cell (model/blocks/sequence.h). Its
/// outputs per item: [logit P(c) behavioural, logit P(v | c) behavioural, the same two inherent,
/// the boundary g_i].
class HeroesCellImpl : public ProjectedCellImpl {
 public:
  HeroesCellImpl(int64_t in, const HeroesOptions& options);

  std::vector<torch::Tensor> initial_state(int64_t n, const torch::TensorOptions& options) override;
  torch::Tensor step(const torch::Tensor& in, const torch::Tensor& dt, int64_t t,
                     std::vector<torch::Tensor>& state) override;

  /// The state parts, in order (each [n, H] except the boundary [n, 1]).
  enum Part { kSc, kScI, kHc, kHcI, kDelta, kSv, kSvI, kHv, kHvI, kBoundary, kParts };
  /// The decay rate's f (eq. 11).
  static torch::Tensor decay_rate(const torch::Tensor& x, double gamma);

  /// Per branch (0 = CTR behavioural, 1 = CTR inherent, 2 = CVR behavioural, 3 = CVR
  /// inherent): input weights w_input [16H (+2 with item_readout), in] and bias b_input (the
  /// four branches' 4H rows, then the item terms of the click and CVR logits), top-down weights
  /// [4H, 2H] over [own layer's h, other layer's h] (eq. 16); gate rows in the order i, f, o, g~.
  std::vector<torch::Tensor> w_top;
  torch::nn::Linear delta{nullptr};            // eq. 11's MLP (one layer)
  torch::nn::Linear head_c{nullptr}, head_v{nullptr};

 private:
  HeroesOptions options_;
};

class HeroesModel : public ListModel {
 public:
  /// The funnel must be click -> conversion (two events, the second's parent the first).
  HeroesModel(const FunnelSpec& funnel, int64_t input_dim, HeroesOptions options = HeroesOptions());

  FunnelOutput forward(const ModelInput& input) override;

  /// Every output of the cell per item in row order, [rows, 5] (see HeroesCellImpl).
  torch::Tensor forward_all(const ModelInput& input);
  HeroesCellImpl& cell() { return *cell_; }
  const HeroesOptions& options() const { return options_; }

 private:
  HeroesOptions options_;
  std::shared_ptr<HeroesCellImpl> cell_;
};

}  // namespace funnel::model
