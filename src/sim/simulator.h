#pragma once
// The funnel simulator (`funnel simulate`): Ali-CCP-shaped impression logs whose true
// probabilities are known, so every model can be measured against the best achievable result
// (docs/simulator.md has the generative model with its equations and every parameter).
//
// Impression (user u, item i, position p) -> features -> latent vectors a_u, b_i -> per funnel
// stage k a hidden representation and a logit:
//   f      = [a_u * b_i, a_u, b_i]                                  (3d, elementwise product)
//   h_k    = tanh~(W_k f + share * U_k h_{parent(k)})   (root: no U term; tanh~ = Pade tanh)
//   z_k    = v_k . h_k
//   logit_k = bias_k + signal * z_k + selection * signal * z_root    (non-root stages)
//   logit_root = bias_root + signal * z_root - position_bias * log(p) [+ list context]
// so a later stage's function is built on the earlier stage's intermediate representation h
// (what hierarchical representation integration can exploit, AutoHERI §3.2.1) and the
// propensity to convert correlates with the propensity to click (selection bias: click-space
// training sees a shifted sample). bias_k is calibrated so that the realised rate hits the
// target (CTR over impressions, each later rate over the rows where its parent happened).
//
// No LibTorch. The rows go into the binary cache directly (sim/cache_writer.h) and, on
// request, into CSV files that the ordinary readers convert into the same cache
// (sim/output.h).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace funnel::sim {

enum class FunnelKind {
  kClickConversion,         // click -> purchase (Ali-CCP)
  kClickArrivalConversion,  // click -> arrival -> conversion (AutoHERI §3.3)
  kEsm2,                    // click -> {DAction | OAction} -> purchase (ESM2 §3)
  kLists,                   // click -> purchase over ranked lists (HEROES §5.4)
};

/// How clicks on the items of a list arise (lists).
enum class ClickModel {
  kLogit,  ///< the click logit carries the position and the list history (the lists preset)
  kPbm,    ///< position-based model (HEROES §5.4): P(c_i) = rho_i^tau P(r_i), lists ordered by
           ///< an initial ranker; relevance free of position and history
};
/// What the label columns hold (click_model pbm).
enum class SimLabels {
  kBehaviour,  ///< the realised clicks and purchases (biased by position)
  kRelevance,  ///< relevance labels r^c ~ P(r^c), purchase = r^c and r^v ~ P(r^v): the same
               ///< lists, features and positions, for evaluating against relevance
};

/// PBM's examination probability at a 1-based position: rho_i^tau, rho of Joachims et al.
/// (2005) as used in unbiased LTR (0.68, 0.61, 0.48, 0.34, 0.28, 0.20, 0.11, 0.10, 0.08, 0.06
/// for positions 1-10); beyond 10 the last ratio continues, rho_i = 0.06 (0.06 / 0.08)^(i - 10).
double pbm_examination(int position, double tau);

struct SimConfig {
  std::string preset = "aliccp-like";
  FunnelKind funnel = FunnelKind::kClickConversion;
  uint64_t rows = 1000000;  ///< impressions in total (all splits)
  uint64_t seed = 1;
  double validation_fraction = 0.1;
  double test_fraction = 0.2;

  // Population (vocabulary sizes of the Ali-CCP-shaped fields).
  uint64_t users = 100000;
  uint64_t items = 200000;
  uint64_t categories = 2000;
  uint64_t shops = 50000;
  uint64_t brands = 20000;
  uint64_t intentions = 300;
  double user_zipf = 1.0;  ///< exponent of user activity (long tail)
  double item_zipf = 1.1;  ///< exponent of item popularity
  int positions = 50;      ///< display positions 1..positions (field 301)
  bool history = false;    ///< multi-valued weighted category history field 109_14

  // Ground truth.
  int latent_dim = 8;
  int hidden = 16;
  double signal = 1.0;         ///< standard deviation of each stage's own logit part
  double share = 1.0;          ///< weight of the parent stage's representation in h_k
  double selection = 0.5;      ///< weight of the click part in later stages' logits
  double position_bias = 0.3;  ///< click logit -= position_bias * log(position)
  double nonlinearity = 1.5;   ///< gain of W_k (how far into tanh's curve f is pushed)

  // Targets (each conditional on the parent event).
  double ctr = 0.04;
  double cvr = 0.015;           ///< purchase | click (click_conversion, lists)
  double arrival_rate = 0.5;    ///< arrival | click (3 stages)
  double vr = 0.03;             ///< conversion | arrival (3 stages)
  double action_rate = 0.15;    ///< DAction (cart or wish) | click (esm2)
  double purchase_after_action = 0.08;     ///< purchase | click, action (esm2)
  double purchase_without_action = 0.004;  ///< purchase | click, no action (esm2)

  // Lists (HEROES §1, §5.4).
  int list_length = 10;
  double excitation = 0.6;  ///< click logit += excitation * (clicks among the 3 items before)
  double inhibition = 1.0;  ///< click logit -= inhibition after a purchase in the list
  ClickModel click_model = ClickModel::kLogit;
  /// click_model pbm: the degree of position bias (tau in P(o_i) = rho_i^tau; 0 = none).
  double tau = 1.0;
  /// click_model pbm: the initial ranker orders a list by signal z_click + ranker_noise N(0, 1)
  /// (a noisy view of the true relevance logit; 0 = the ideal order).
  double ranker_noise = 1.0;
  SimLabels labels = SimLabels::kBehaviour;

  /// Preset by name: aliccp-like, ads-3stage, esm2, lists, lists-pbm (funnel::Error on others).
  static SimConfig preset_named(const std::string& name);
  /// Strict update from JSON ({"rows": 100000, "cvr": 0.02, ...}; unknown keys and invalid
  /// values are errors, and then nothing changes).
  void update(const nlohmann::json& j);
  nlohmann::json to_json() const;
  void validate() const;

 private:
  void update_fields(const nlohmann::json& j);
};

/// The preset names with one-line descriptions.
std::vector<std::pair<std::string, std::string>> preset_list();

/// The events of the config's funnel, in order, with parents (-1 for the root) and, per event,
/// the label columns (ESM2's action is the OR of cart and wish).
struct SimEvent {
  std::string event;
  int parent;
  std::vector<std::string> columns;
  std::string truth_column;  ///< true P(event | parent, features[, list history])
  /// Lists: the inherent true P(event | parent, features), without the list history's effect
  /// (HEROES's inherent relevance; truth_column is the behavioural one); "" otherwise.
  std::string inherent_column;
};
std::vector<SimEvent> sim_events(FunnelKind funnel);

/// One generated impression.
struct SimRow {
  enum Split : uint8_t { kTrain, kValidation, kTest };
  Split split = kTrain;
  uint64_t user = 0, item = 0;
  uint64_t category = 0, shop = 0, brand = 0, intention = 0;
  uint32_t position = 1;
  uint64_t list = 0;       ///< list / session id (lists)
  int64_t timestamp = 0;   ///< seconds (lists)
  /// Label columns in the order of sim_events()' columns (ESM2: click, cart, wish, purchase).
  uint8_t label_columns[4] = {0, 0, 0, 0};
  /// Per event: true P(event | parent).
  float truth[3] = {0, 0, 0};
  /// Lists, per event: the inherent true P(event | parent), as `truth` without the effect of
  /// the list's earlier clicks and purchases (equal to it at a list's first item). With
  /// click_model pbm: the relevance P(r^c), P(r^v) (no position, no history).
  float inherent[3] = {0, 0, 0};
};

struct Calibration {
  /// Per stage bias (the root stage first).
  std::vector<double> bias;
  /// Per event: the realised rate of the calibration sample (as targeted) and the target.
  std::vector<double> rate, target;
};

class Simulator {
 public:
  /// Builds the population and the truth functions and calibrates the biases (deterministic
  /// by config.seed).
  explicit Simulator(const SimConfig& config);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  /// Generates config.rows impressions in order, handing them to `sink` in batches of up to
  /// `batch` rows (rows of one list come together). The same config gives the same rows.
  void generate_batches(const std::function<void(const SimRow* rows, size_t n)>& sink,
                        size_t batch = 4096) const;
  /// The same rows one at a time.
  void generate(const std::function<void(const SimRow&, const Simulator&)>& sink) const;

  const SimConfig& config() const { return config_; }
  const Calibration& calibration() const { return calibration_; }
  const std::vector<SimEvent>& events() const { return events_; }
  /// Profile field values of a user (the 8 Ali-CCP profile fields 121..129).
  const uint16_t* profile(uint64_t user) const;
  /// Category history of a user (history = true): categories and weights, `history_length`.
  static constexpr int kHistoryLength = 5;
  const uint32_t* history_categories(uint64_t user) const;
  const uint8_t* history_counts(uint64_t user) const;
  /// Per item its category, shop and brand; per category its intention node.
  const uint32_t* item_categories() const;
  const uint32_t* item_shops() const;
  const uint32_t* item_brands() const;
  const uint32_t* category_intentions() const;

  struct Impl;

 private:
  SimConfig config_;
  std::vector<SimEvent> events_;
  Calibration calibration_;
  Impl* impl_;
};

/// Profile field names and cardinalities (Ali-CCP 121..129).
struct ProfileField {
  const char* name;
  uint16_t cardinality;
};
const std::vector<ProfileField>& profile_fields();

/// Where the value of a feature column comes from.
enum class FieldSource : uint8_t {
  kUser,            // 101
  kProfile,         // 121..129 (SimField::profile names which)
  kItem,            // 205
  kCategory,        // 206
  kShop,            // 207
  kIntention,       // 210
  kBrand,           // 216
  kUserCategory,    // 508: user x category
  kUserShop,        // 509
  kUserBrand,       // 702
  kUserIntention,   // 853
  kPosition,        // 301
  kHistory,         // 109_14: the user's category history, weighted by counts (multi-valued)
};

/// One categorical feature column of the simulated data (the Ali-CCP field names).
struct SimField {
  std::string name;
  FieldSource source;
  int profile = -1;  ///< kProfile: index into profile_fields()
};

/// The feature columns of a config, in the order of the CSV header and of the experiment
/// config's "categorical" list: the 18 single-valued Ali-CCP fields, then 109_14 with history.
std::vector<SimField> sim_fields(const SimConfig& config);

/// The value (id) of a single-valued field in a row, as the CSV writes it.
inline uint64_t field_value(const SimField& f, const SimRow& r, const Simulator& sim) {
  const SimConfig& c = sim.config();
  switch (f.source) {
    case FieldSource::kUser: return r.user;
    case FieldSource::kProfile: return sim.profile(r.user)[f.profile];
    case FieldSource::kItem: return r.item;
    case FieldSource::kCategory: return r.category;
    case FieldSource::kShop: return r.shop;
    case FieldSource::kIntention: return r.intention;
    case FieldSource::kBrand: return r.brand;
    case FieldSource::kUserCategory: return r.user * c.categories + r.category;
    case FieldSource::kUserShop: return r.user * c.shops + r.shop;
    case FieldSource::kUserBrand: return r.user * c.brands + r.brand;
    case FieldSource::kUserIntention: return r.user * c.intentions + r.intention;
    case FieldSource::kPosition: return r.position;
    case FieldSource::kHistory: break;
  }
  return 0;
}

}  // namespace funnel::sim
