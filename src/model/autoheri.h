#pragma once
// AutoHERI (Wei et al., CIKM 2021): entire-space CVR model with hierarchical representation
// integration. One MLP tower per funnel event over the shared input row (§3.1); integration
// edges from the layers of preceding towers into the layers of succeeding ones (eq. 1):
//
//   h_s^j = ReLU(W_j h_s^{j-1} + b_j) + sum over edges (t -> s), layers i of  a_ij U_ij h_t^i
//
// i.e. eq. 1's Trans([ReLU(W_j h_s^{j-1} + b_j); a_1j h_t^1; ...; a_Lj h_t^L]) with the block on
// the tower's own representation fixed to the identity (blocks/integration_edge.h), so a = 0
// gives exactly the plain towers of ESMM. a_ij is
//   - "search": alpha_ij = sigmoid(theta_ij), the relaxed Bernoulli means of §3.2.2, with the
//     entropy regulariser  w * sum_ij (-a log a - (1 - a) log(1 - a))  in FunnelOutput::aux_loss;
//   - "fixed":  z_ij in {0, 1} from an architecture (AutoHeriArch); z = 0 connections are
//     removed (no U_ij, no compute).
// Tower e gives the logit of P(e | parent(e)); the loss forms the entire-space products
// (eq. 2 and 4, train/funnel_loss.h). Parameters are named like ESMM's ("tower<e>.mlp...",
// "tower<e>.head...") plus "edge<t>_<s>.u<i>_<j>.weight" and, in search mode,
// "alpha<t>_<s>" ([L, L] logits).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/autoheri_arch.h"
#include "model/blocks/integration_edge.h"
#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

enum class AlphaMode { kSearch, kFixed };

struct AutoHeriOptions {
  /// Hidden widths of every tower (AutoHERI §4.1.2, Ali-CCP).
  std::vector<int64_t> towers = {200, 80, 20};
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;
  /// Which edge groups are candidates (autoheri_arch.h).
  IntegrationScheme scheme = IntegrationScheme::kHierarchical;
  /// Hierarchical only: also connect every tower from its non-parent ancestors (CTR -> VR).
  bool skip = false;
  /// search: continuous alpha (architecture parameters); fixed: binary z from `arch`.
  AlphaMode alpha = AlphaMode::kSearch;
  /// Search mode: initial alpha of every connection, in (0, 1).
  double alpha_init = 0.5;
  /// Search mode: weight of the entropy regulariser in aux_loss (0 = off).
  double entropy_weight = 0.01;
  /// Initial U_ij of the integration edges: true = zeros (the network starts as the plain
  /// towers and every connection grows from the data), false = LibTorch's Linear default.
  bool edge_zero_init = false;
  /// Fixed mode: the architecture; its towers, scheme and skip replace the keys above.
  std::optional<AutoHeriArch> arch;

  /// Strict parse of {"towers", "dropout", "activation", "scheme", "skip", "alpha",
  /// "alpha_init", "entropy_weight", "edge_init", "arch"} (all optional but "arch" with
  /// "alpha": "fixed").
  static AutoHeriOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved: "alpha" is "search" or "fixed", "edge_init" "zero" or
  /// "default"; "arch" is the architecture's JSON in fixed mode (whose towers, scheme and skip
  /// are then written) and null otherwise.
  nlohmann::json to_json() const;
  /// These options in fixed mode with `arch`: towers, scheme and skip taken from it, every
  /// other field kept (retraining a searched architecture with the search's settings).
  AutoHeriOptions with_arch(const AutoHeriArch& arch) const;
};

class AutoHeriModel : public FunnelModel {
 public:
  AutoHeriModel(const FunnelSpec& funnel, int64_t input_dim,
                AutoHeriOptions options = AutoHeriOptions());

  FunnelOutput forward(const ModelInput& input) override;

  /// Architecture parameters: the alpha logits, one [L, L] tensor per edge group (search
  /// mode; empty in fixed mode). Optimised by the search driver's own Adam (§3.2.2, eq. 3).
  std::vector<torch::Tensor> arch_parameters() const { return alpha_logits_; }
  /// Every other parameter (Theta): towers, heads, integration maps U_ij.
  std::vector<torch::Tensor> weight_parameters() const;
  /// alpha of edge group k ([L, L], sigmoid of the logits, on the model's device); undefined
  /// in fixed mode.
  torch::Tensor alpha(size_t k) const;
  /// sum over candidate connections of -a log a - (1 - a) log(1 - a) (unweighted; 0 in fixed
  /// mode). Computed from the logits, finite for any of them.
  torch::Tensor entropy() const;
  /// The current architecture: alpha (search mode) with z derived by `derive`, or the fixed z.
  AutoHeriArch arch(const DeriveOptions& derive = DeriveOptions()) const;

  const std::vector<ArchEdge>& edges() const { return edges_; }
  size_t num_events() const { return towers_.size(); }
  Tower& tower(size_t e) { return towers_.at(e); }
  IntegrationEdge& edge(size_t k) { return edge_modules_.at(k); }
  const AutoHeriOptions& options() const { return options_; }
  const FunnelSpec& funnel() const { return funnel_; }

 private:
  FunnelSpec funnel_;
  AutoHeriOptions options_;
  std::vector<ArchEdge> edges_;  // candidate groups; z filled in fixed mode
  std::vector<Tower> towers_;
  std::vector<IntegrationEdge> edge_modules_;
  std::vector<torch::Tensor> alpha_logits_;
  std::vector<torch::Tensor> candidate_masks_;  // [L, L] float, 1 on candidates (buffers)
};

/// Copies into `to` every parameter of `from` with the same name (shapes must match), and
/// checks that each of `to`'s parameters was found: retraining a fixed architecture from the
/// searched weights (a fixed model's parameters are a subset of the search model's).
void copy_weights_by_name(const torch::nn::Module& from, torch::nn::Module& to);

}  // namespace funnel::model
