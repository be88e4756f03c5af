#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/rng.h"

namespace funnel::sim {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Config and presets

SimConfig SimConfig::preset_named(const std::string& name) {
  SimConfig c;
  c.preset = name;
  if (name == "aliccp-like") {
    // Ali-CCP's funnel and field set; CTR as in Ali-CCP (~4 %), CVR | click raised from
    // Ali-CCP's ~0.6 % to 1.5 % so that a million impressions hold ~600 conversions.
    return c;
  }
  if (name == "ads-3stage") {
    // AutoHERI §3.3: click -> arrival (landing page) -> conversion.
    c.funnel = FunnelKind::kClickArrivalConversion;
    c.ctr = 0.04;
    c.arrival_rate = 0.5;
    c.vr = 0.04;
    return c;
  }
  if (name == "esm2") {
    // ESM2 §3: click -> DAction (cart or wish) / OAction -> purchase, with category history.
    c.funnel = FunnelKind::kEsm2;
    c.history = true;
    return c;
  }
  if (name == "lists") {
    // HEROES: ranked lists of 10 with position bias and contextual dependence.
    c.funnel = FunnelKind::kLists;
    c.positions = 10;
    c.list_length = 10;
    c.position_bias = 0.5;
    c.ctr = 0.06;
    c.cvr = 0.03;
    return c;
  }
  if (name == "lists-pbm") {
    // HEROES §5.4: lists of 10 ordered by an initial ranker, clicks from the position-based
    // model on position-free relevance, conversions only after clicks. The rates are those of
    // the relevance: mean P(r^c) 15 %, mean P(r^v | r^c) 10 % (the realised CTR is about
    // 0.15 x mean rho^tau, 4.4 % at tau = 1).
    c.funnel = FunnelKind::kLists;
    c.click_model = ClickModel::kPbm;
    c.positions = 10;
    c.list_length = 10;
    c.position_bias = 0;
    c.excitation = 0;
    c.inhibition = 0;
    c.ctr = 0.15;
    c.cvr = 0.10;
    return c;
  }
  throw Error("unknown simulator preset '" + name +
              "' (known: aliccp-like, ads-3stage, esm2, lists, lists-pbm)");
}

double pbm_examination(int position, double tau) {
  // Joachims et al. (2005), eye tracking, as the unbiased LTR literature uses it.
  static constexpr double kRho[10] = {0.68, 0.61, 0.48, 0.34, 0.28, 0.20, 0.11, 0.10, 0.08, 0.06};
  FUNNEL_CHECK(position >= 1, "pbm_examination: position " << position << ", expected >= 1");
  const double rho =
      position <= 10 ? kRho[position - 1] : kRho[9] * std::pow(kRho[9] / kRho[8], position - 10);
  return std::pow(rho, tau);
}

std::vector<std::pair<std::string, std::string>> preset_list() {
  return {
      {"aliccp-like", "click -> purchase, the 18 Ali-CCP fields, CTR 4 %, CVR 1.5 %"},
      {"ads-3stage", "click -> arrival -> conversion (AutoHERI §3.3), AR 50 %, VR 4 %"},
      {"esm2", "click -> cart|wish -> purchase (ESM2), purchase with and without the action"},
      {"lists", "ranked lists of 10: position bias, clicks excite, a purchase inhibits"},
      {"lists-pbm", "lists of 10 ordered by a noisy ranker, position-based-model clicks (tau)"},
  };
}

namespace {

const char* funnel_name(FunnelKind f) {
  switch (f) {
    case FunnelKind::kClickConversion: return "click_conversion";
    case FunnelKind::kClickArrivalConversion: return "click_arrival_conversion";
    case FunnelKind::kEsm2: return "esm2";
    case FunnelKind::kLists: return "lists";
  }
  return "?";
}

FunnelKind parse_funnel(const std::string& s) {
  for (FunnelKind f : {FunnelKind::kClickConversion, FunnelKind::kClickArrivalConversion,
                       FunnelKind::kEsm2, FunnelKind::kLists}) {
    if (s == funnel_name(f)) return f;
  }
  throw Error("simulation.funnel: unknown funnel '" + s +
              "' (known: click_conversion, click_arrival_conversion, esm2, lists)");
}

const char* click_model_name(ClickModel m) { return m == ClickModel::kPbm ? "pbm" : "logit"; }
const char* labels_name(SimLabels l) {
  return l == SimLabels::kRelevance ? "relevance" : "behaviour";
}

}  // namespace

void SimConfig::update(const json& j) {
  SimConfig next = *this;  // all or nothing: a rejected update leaves the config as it was
  next.update_fields(j);
  next.validate();
  *this = next;
}

void SimConfig::update_fields(const json& j) {
  JsonFields o(j, "simulation");
  preset = o.get<std::string>("preset", preset);
  if (o.has("funnel")) funnel = parse_funnel(o.get<std::string>("funnel", ""));
  rows = o.get<uint64_t>("rows", rows);
  seed = o.get<uint64_t>("seed", seed);
  validation_fraction = o.get<double>("validation_fraction", validation_fraction);
  test_fraction = o.get<double>("test_fraction", test_fraction);
  users = o.get<uint64_t>("users", users);
  items = o.get<uint64_t>("items", items);
  categories = o.get<uint64_t>("categories", categories);
  shops = o.get<uint64_t>("shops", shops);
  brands = o.get<uint64_t>("brands", brands);
  intentions = o.get<uint64_t>("intentions", intentions);
  user_zipf = o.get<double>("user_zipf", user_zipf);
  item_zipf = o.get<double>("item_zipf", item_zipf);
  positions = o.get<int>("positions", positions);
  history = o.get<bool>("history", history);
  latent_dim = o.get<int>("latent_dim", latent_dim);
  hidden = o.get<int>("hidden", hidden);
  signal = o.get<double>("signal", signal);
  share = o.get<double>("share", share);
  selection = o.get<double>("selection", selection);
  position_bias = o.get<double>("position_bias", position_bias);
  nonlinearity = o.get<double>("nonlinearity", nonlinearity);
  ctr = o.get<double>("ctr", ctr);
  cvr = o.get<double>("cvr", cvr);
  arrival_rate = o.get<double>("arrival_rate", arrival_rate);
  vr = o.get<double>("vr", vr);
  action_rate = o.get<double>("action_rate", action_rate);
  purchase_after_action = o.get<double>("purchase_after_action", purchase_after_action);
  purchase_without_action = o.get<double>("purchase_without_action", purchase_without_action);
  list_length = o.get<int>("list_length", list_length);
  excitation = o.get<double>("excitation", excitation);
  inhibition = o.get<double>("inhibition", inhibition);
  if (o.has("click_model")) {
    const std::string m = o.get<std::string>("click_model", "");
    FUNNEL_CHECK(m == "logit" || m == "pbm",
                 "simulation.click_model: unknown '" << m << "' (known: logit, pbm)");
    click_model = m == "pbm" ? ClickModel::kPbm : ClickModel::kLogit;
  }
  tau = o.get<double>("tau", tau);
  ranker_noise = o.get<double>("ranker_noise", ranker_noise);
  if (o.has("labels")) {
    const std::string l = o.get<std::string>("labels", "");
    FUNNEL_CHECK(l == "behaviour" || l == "relevance",
                 "simulation.labels: unknown '" << l << "' (known: behaviour, relevance)");
    labels = l == "relevance" ? SimLabels::kRelevance : SimLabels::kBehaviour;
  }
  o.finish();
}

json SimConfig::to_json() const {
  return {{"preset", preset},
          {"funnel", funnel_name(funnel)},
          {"rows", rows},
          {"seed", seed},
          {"validation_fraction", validation_fraction},
          {"test_fraction", test_fraction},
          {"users", users},
          {"items", items},
          {"categories", categories},
          {"shops", shops},
          {"brands", brands},
          {"intentions", intentions},
          {"user_zipf", user_zipf},
          {"item_zipf", item_zipf},
          {"positions", positions},
          {"history", history},
          {"latent_dim", latent_dim},
          {"hidden", hidden},
          {"signal", signal},
          {"share", share},
          {"selection", selection},
          {"position_bias", position_bias},
          {"nonlinearity", nonlinearity},
          {"ctr", ctr},
          {"cvr", cvr},
          {"arrival_rate", arrival_rate},
          {"vr", vr},
          {"action_rate", action_rate},
          {"purchase_after_action", purchase_after_action},
          {"purchase_without_action", purchase_without_action},
          {"list_length", list_length},
          {"excitation", excitation},
          {"inhibition", inhibition},
          {"click_model", click_model_name(click_model)},
          {"tau", tau},
          {"ranker_noise", ranker_noise},
          {"labels", labels_name(labels)}};
}

void SimConfig::validate() const {
  auto rate = [](double v, const char* name) {
    FUNNEL_CHECK(v > 0 && v < 1, "simulation." << name << ": expected a rate in (0, 1), got " << v);
  };
  rate(ctr, "ctr");
  rate(cvr, "cvr");
  rate(arrival_rate, "arrival_rate");
  rate(vr, "vr");
  rate(action_rate, "action_rate");
  rate(purchase_after_action, "purchase_after_action");
  rate(purchase_without_action, "purchase_without_action");
  FUNNEL_CHECK(rows > 0, "simulation.rows: must be > 0");
  FUNNEL_CHECK(validation_fraction >= 0 && test_fraction >= 0 &&
                   validation_fraction + test_fraction < 1,
               "simulation: validation_fraction + test_fraction must be in [0, 1)");
  for (auto [v, name] : {std::pair<uint64_t, const char*>{users, "users"},
                         {items, "items"},
                         {categories, "categories"},
                         {shops, "shops"},
                         {brands, "brands"},
                         {intentions, "intentions"}}) {
    FUNNEL_CHECK(v > 0, "simulation." << name << ": must be > 0");
  }
  FUNNEL_CHECK(positions > 0, "simulation.positions: must be > 0");
  FUNNEL_CHECK(latent_dim > 0 && latent_dim <= 64, "simulation.latent_dim: expected 1..64");
  FUNNEL_CHECK(hidden > 0 && hidden <= 64, "simulation.hidden: expected 1..64");
  FUNNEL_CHECK(list_length > 0, "simulation.list_length: must be > 0");
  FUNNEL_CHECK(funnel != FunnelKind::kLists || list_length <= positions,
               "simulation: list_length must be <= positions");
  FUNNEL_CHECK(signal >= 0 && share >= 0 && position_bias >= 0 && nonlinearity > 0,
               "simulation: signal, share, position_bias must be >= 0, nonlinearity > 0");
  FUNNEL_CHECK(tau >= 0 && std::isfinite(tau),
               "simulation.tau: expected a number >= 0, got " << tau);
  FUNNEL_CHECK(ranker_noise >= 0 && std::isfinite(ranker_noise),
               "simulation.ranker_noise: expected a number >= 0, got " << ranker_noise);
  if (click_model == ClickModel::kPbm) {
    FUNNEL_CHECK(funnel == FunnelKind::kLists,
                 "simulation.click_model: pbm needs the lists funnel, got " << funnel_name(funnel));
    // PBM: a click depends on the position (rho_i^tau) and the relevance only.
    FUNNEL_CHECK(position_bias == 0 && excitation == 0 && inhibition == 0,
                 "simulation.click_model pbm: position_bias, excitation and inhibition must be 0 "
                 "(got "
                     << position_bias << ", " << excitation << ", " << inhibition
                     << "); the position enters through rho^tau");
  } else {
    FUNNEL_CHECK(labels == SimLabels::kBehaviour,
                 "simulation.labels: relevance needs click_model pbm");
  }
}

std::vector<SimEvent> sim_events(FunnelKind funnel) {
  switch (funnel) {
    case FunnelKind::kClickConversion:
      return {{"click", -1, {"click"}, "true_click"},
              {"purchase", 0, {"purchase"}, "true_purchase"}};
    case FunnelKind::kLists:
      return {{"click", -1, {"click"}, "true_click", "inherent_click"},
              {"purchase", 0, {"purchase"}, "true_purchase", "inherent_purchase"}};
    case FunnelKind::kClickArrivalConversion:
      return {{"click", -1, {"click"}, "true_click"},
              {"arrival", 0, {"arrival"}, "true_arrival"},
              {"conversion", 1, {"conversion"}, "true_conversion"}};
    case FunnelKind::kEsm2:
      return {{"click", -1, {"click"}, "true_click"},
              {"action", 0, {"cart", "wish"}, "true_action"},
              {"purchase", 0, {"purchase"}, "true_purchase"}};
  }
  return {};
}

const std::vector<ProfileField>& profile_fields() {
  // Ali-CCP user profile fields with their approximate cardinalities.
  static const std::vector<ProfileField> kFields = {
      {"121", 98}, {"122", 14}, {"124", 3}, {"125", 8},
      {"126", 4},  {"127", 4},  {"128", 3}, {"129", 5}};
  return kFields;
}

std::vector<SimField> sim_fields(const SimConfig& config) {
  std::vector<SimField> f = {{"101", FieldSource::kUser}};
  const auto& pf = profile_fields();
  for (size_t i = 0; i < pf.size(); ++i) {
    f.push_back({pf[i].name, FieldSource::kProfile, static_cast<int>(i)});
  }
  f.insert(f.end(), {{"205", FieldSource::kItem},
                     {"206", FieldSource::kCategory},
                     {"207", FieldSource::kShop},
                     {"210", FieldSource::kIntention},
                     {"216", FieldSource::kBrand},
                     {"508", FieldSource::kUserCategory},
                     {"509", FieldSource::kUserShop},
                     {"702", FieldSource::kUserBrand},
                     {"853", FieldSource::kUserIntention},
                     {"301", FieldSource::kPosition}});
  if (config.history) f.push_back({"109_14", FieldSource::kHistory});
  return f;
}

// ---------------------------------------------------------------------------------------------
// The population and the truth

namespace {

/// Walker's alias method: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& w) {
    const size_t n = w.size();
    prob_.resize(n);
    alias_.resize(n);
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = w[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) prob_[i] = 1.0, alias_[i] = i;
    for (uint32_t i : small) prob_[i] = 1.0, alias_[i] = i;
  }
  uint64_t draw(Rng& rng) const {
    const uint64_t i = rng.below(prob_.size());
    return rng.uniform() < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

/// Zipf weights 1 / (rank + 1)^s over n outcomes, ranks shuffled so that ids carry no order.
std::vector<double> zipf_weights(uint64_t n, double s, Rng& rng) {
  std::vector<double> w(n);
  for (uint64_t r = 0; r < n; ++r) w[r] = std::pow(static_cast<double>(r + 1), -s);
  rng.shuffle(w.begin(), w.end());
  return w;
}

double normal(Rng& rng) {
  // Box-Muller (one of the pair); uniform() < 1 so 1 - u > 0.
  const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

std::vector<float> normals(size_t n, double scale, Rng& rng) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(normal(rng) * scale);
  return v;
}

/// [rows x cols] -> [cols x rows].
std::vector<float> transposed(const std::vector<float>& m, int rows, int cols) {
  std::vector<float> t(m.size());
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      t[static_cast<size_t>(c) * rows + r] = m[static_cast<size_t>(r) * cols + c];
    }
  }
  return t;
}

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// The hidden nonlinearity of the truth: a saturating odd function, tanh's Pade (3,2)
/// approximant x (27 + x^2) / (27 + 9 x^2), equal to +-1 from |x| = 3 on (continuous there).
/// It defines the truth, so its distance from tanh (< 0.03) does not matter; it is ~5x faster
/// than tanhf, which dominated generation.
inline float soft_tanh(float x) {
  const float x2 = x * x;
  const float y = x * (27.0f + x2) / (27.0f + 9.0f * x2);
  // Selects rather than early returns, so that loops over hidden units vectorise.
  return x >= 3.0f ? 1.0f : (x <= -3.0f ? -1.0f : y);
}

/// h = tanh~(W f + share U hp) for 16 hidden units (the default `hidden`), with Wt, Ut the
/// transposed weights (hp = nullptr at the root). Vectorised across the units: each unit's sums
/// still add their terms in the order k = 0, 1, ..., with a separate multiply and add (this
/// file is compiled with -ffp-contract=off), so the values are those of plain scalar dot
/// products, bit for bit, on every target. A chain of dependent adds per unit was the
/// generator's bottleneck; the AVX-512 clone does a whole layer in one register.
__attribute__((target_clones("avx512f", "default"))) void hidden16(
    const float* Wt, const float* Ut, const float* f, int F, const float* hp, float sh,
    float* h) {
  using F16 = float __attribute__((vector_size(64)));
  F16 acc = {}, w;
  for (int k = 0; k < F; ++k) {
    std::memcpy(&w, Wt + 16 * k, sizeof w);
    acc += w * (F16{} + f[k]);
  }
  if (hp != nullptr) {
    F16 t = {};
    for (int k = 0; k < 16; ++k) {
      std::memcpy(&w, Ut + 16 * k, sizeof w);
      t += w * (F16{} + hp[k]);
    }
    acc += (F16{} + sh) * t;
  }
  // soft_tanh, lane by lane.
  const F16 x2 = acc * acc;
  const F16 y = acc * (27.0f + x2) / (27.0f + 9.0f * x2);
  const F16 one = F16{} + 1.0f;
  const F16 out = acc >= 3.0f ? one : (acc <= -3.0f ? -one : y);
  std::memcpy(h, &out, sizeof out);
}

/// One funnel stage of the truth: a hidden layer on the features (and on the parent stage's
/// hidden layer), a readout, a calibrated bias.
struct Stage {
  int parent = -1;             ///< parent stage (its h feeds this one)
  bool given_parent_no = false;  ///< conditioned on the parent NOT happening (ESM2 OAction)
  std::vector<float> Wt, Ut, v;  ///< W [H x F], U [H x H] transposed ([F x H], [H x H]); [H]
  double z_mean = 0;  ///< mean of v . h over impressions (subtracted: z has mean 0, sd 1)
  double bias = 0;
  double target = 0;
};

}  // namespace

struct Simulator::Impl {
  int d = 0, H = 0, F = 0;
  std::unique_ptr<AliasTable> user_draw, item_draw;
  std::vector<uint16_t> profile;        // users x 8
  std::vector<uint32_t> hist_cat;       // users x kHistoryLength
  std::vector<uint8_t> hist_count;      // users x kHistoryLength
  std::vector<float> user_vec, item_vec;  // users x d, items x d
  std::vector<uint32_t> item_cat, item_shop, item_brand, cat_intention;
  std::vector<Stage> stages;
  std::vector<double> position_term;  // per position (1-based): -position_bias * log(p)

  /// Per-row scratch: features and hidden layers of every stage.
  struct Eval {
    float f[3 * 64];
    float h[4][64];
    double z[4];
  };

  void features(uint64_t u, uint64_t i, Eval& e) const {
    const float* a = &user_vec[u * d];
    const float* b = &item_vec[i * d];
    for (int k = 0; k < d; ++k) {
      e.f[k] = a[k] * b[k];
      e.f[d + k] = a[k];
      e.f[2 * d + k] = b[k];
    }
  }

  /// z_k = v_k . tanh(W_k f + share U_k h_parent) for every stage.
  void stage_scores(Eval& e, double share) const {
    const float sh = static_cast<float>(share);
    for (size_t s = 0; s < stages.size(); ++s) {
      const Stage& st = stages[s];
      const float* hp = st.parent >= 0 ? e.h[st.parent] : nullptr;
      if (H == 16) {
        hidden16(st.Wt.data(), st.Ut.data(), e.f, F, hp, sh, e.h[s]);
      } else {
        hidden_layer(st, e.f, hp, sh, e.h[s]);
      }
      double z = 0;
      for (int j = 0; j < H; ++j) z += st.v[j] * e.h[s][j];
      e.z[s] = z - st.z_mean;
    }
  }

  /// hidden16() for any width: the same sums in the same order, vectorised by the compiler.
  void hidden_layer(const Stage& st, const float* f, const float* hp, float sh, float* h) const {
    float acc[64], t[64];
    for (int j = 0; j < H; ++j) acc[j] = 0.0f;
    for (int k = 0; k < F; ++k) {
      const float fk = f[k];
      const float* w = &st.Wt[static_cast<size_t>(k) * H];
      for (int j = 0; j < H; ++j) acc[j] += w[j] * fk;
    }
    if (hp != nullptr) {
      for (int j = 0; j < H; ++j) t[j] = 0.0f;
      for (int k = 0; k < H; ++k) {
        const float hk = hp[k];
        const float* u = &st.Ut[static_cast<size_t>(k) * H];
        for (int j = 0; j < H; ++j) t[j] += u[j] * hk;
      }
      for (int j = 0; j < H; ++j) acc[j] += sh * t[j];
    }
    for (int j = 0; j < H; ++j) h[j] = soft_tanh(acc[j]);
  }
};

namespace {

/// The stages of each funnel: parents among stages; ESM2 has two purchase stages (after the
/// action, and without it).
std::vector<Stage> make_stages(const SimConfig& c) {
  std::vector<Stage> s;
  auto add = [&](int parent, bool no, double target) {
    Stage st;
    st.parent = parent;
    st.given_parent_no = no;
    st.target = target;
    s.push_back(st);
  };
  add(-1, false, c.ctr);
  switch (c.funnel) {
    case FunnelKind::kClickConversion:
    case FunnelKind::kLists:
      add(0, false, c.cvr);
      break;
    case FunnelKind::kClickArrivalConversion:
      add(0, false, c.arrival_rate);
      add(1, false, c.vr);
      break;
    case FunnelKind::kEsm2:
      add(0, false, c.action_rate);
      add(1, false, c.purchase_after_action);  // DAction -> purchase
      add(1, true, c.purchase_without_action);  // OAction -> purchase
      break;
  }
  return s;
}

}  // namespace

Simulator::Simulator(const SimConfig& config)
    : config_(config), events_(sim_events(config.funnel)), impl_(new Impl) {
  config_.validate();
  Impl& m = *impl_;
  const SimConfig& c = config_;
  m.d = c.latent_dim;
  m.H = c.hidden;
  m.F = 3 * m.d;
  // Independent streams for each part, so that e.g. changing `rows` keeps the population.
  Rng pop(c.seed * 0x9E3779B97F4A7C15ULL + 1), truth(c.seed * 0x9E3779B97F4A7C15ULL + 2);

  m.user_draw = std::make_unique<AliasTable>(zipf_weights(c.users, c.user_zipf, pop));
  m.item_draw = std::make_unique<AliasTable>(zipf_weights(c.items, c.item_zipf, pop));
  // Items belong to Zipf-popular categories, shops and brands; categories to intentions.
  const AliasTable cat_draw(zipf_weights(c.categories, 1.0, pop));
  const AliasTable shop_draw(zipf_weights(c.shops, 1.0, pop));
  const AliasTable brand_draw(zipf_weights(c.brands, 1.0, pop));
  m.cat_intention.resize(c.categories);
  for (auto& x : m.cat_intention) x = static_cast<uint32_t>(pop.below(c.intentions));
  m.item_cat.resize(c.items);
  m.item_shop.resize(c.items);
  m.item_brand.resize(c.items);
  for (uint64_t i = 0; i < c.items; ++i) {
    m.item_cat[i] = static_cast<uint32_t>(cat_draw.draw(pop));
    m.item_shop[i] = static_cast<uint32_t>(shop_draw.draw(pop));
    m.item_brand[i] = static_cast<uint32_t>(brand_draw.draw(pop));
  }
  const int d = m.d;
  // Latent vectors: an item is its category, brand and shop plus its own part; a user is the
  // sum of their profile values' vectors (and history) plus their own part. So the feature
  // fields explain most of the latent structure and the ids the rest.
  const std::vector<float> cat_vec = normals(c.categories * d, 0.7, pop);
  const std::vector<float> brand_vec = normals(c.brands * d, 0.5, pop);
  const std::vector<float> shop_vec = normals(c.shops * d, 0.3, pop);
  m.item_vec = normals(c.items * d, 0.5, pop);
  for (uint64_t i = 0; i < c.items; ++i) {
    for (int k = 0; k < d; ++k) {
      m.item_vec[i * d + k] += cat_vec[m.item_cat[i] * d + k] + brand_vec[m.item_brand[i] * d + k] +
                               shop_vec[m.item_shop[i] * d + k];
    }
  }
  const auto& pf = profile_fields();
  std::vector<std::vector<float>> profile_vec;
  std::vector<std::unique_ptr<AliasTable>> profile_draw;
  for (const auto& f : pf) {
    profile_vec.push_back(normals(static_cast<size_t>(f.cardinality) * d, 0.35, pop));
    profile_draw.push_back(std::make_unique<AliasTable>(zipf_weights(f.cardinality, 0.8, pop)));
  }
  m.profile.resize(c.users * pf.size());
  m.user_vec = normals(c.users * d, 0.6, pop);
  if (c.history) {
    m.hist_cat.resize(c.users * kHistoryLength);
    m.hist_count.resize(c.users * kHistoryLength);
  }
  for (uint64_t u = 0; u < c.users; ++u) {
    float* a = &m.user_vec[u * d];
    for (size_t f = 0; f < pf.size(); ++f) {
      const auto v = static_cast<uint16_t>(profile_draw[f]->draw(pop));
      m.profile[u * pf.size() + f] = v;
      for (int k = 0; k < d; ++k) a[k] += profile_vec[f][v * d + k];
    }
    if (c.history) {
      // Categories of items the user looked at before, with counts; the user leans towards
      // them (half their mean category vector joins the user's latent vector).
      for (int h = 0; h < kHistoryLength; ++h) {
        const uint32_t cat = m.item_cat[m.item_draw->draw(pop)];
        const auto count = static_cast<uint8_t>(1 + pop.below(5));
        m.hist_cat[u * kHistoryLength + h] = cat;
        m.hist_count[u * kHistoryLength + h] = count;
        for (int k = 0; k < d; ++k) a[k] += 0.5f / kHistoryLength * 2 * cat_vec[cat * d + k];
      }
    }
  }
  m.position_term.assign(static_cast<size_t>(c.positions) + 1, 0.0);
  for (int p = 1; p <= c.positions; ++p) m.position_term[p] = -c.position_bias * std::log(p);

  // Truth functions. Feature scale: f has roughly unit-variance parts; W gain `nonlinearity`.
  m.stages = make_stages(c);
  const int H = m.H, F = m.F;
  for (Stage& st : m.stages) {
    const std::vector<float> W = normals(static_cast<size_t>(H) * F,
                                         c.nonlinearity / std::sqrt(static_cast<double>(F)), truth);
    const std::vector<float> U =
        normals(static_cast<size_t>(H) * H, 1.5 / std::sqrt(static_cast<double>(H)), truth);
    st.Wt = transposed(W, H, F);
    st.Ut = transposed(U, H, H);
    st.v = normals(H, 1.0, truth);
  }
  // Normalise each readout so that z_k has unit standard deviation over impressions: `signal`
  // is then the standard deviation of each stage's own logit part.
  Rng cal_rng(c.seed * 0x9E3779B97F4A7C15ULL + 3);
  const size_t n_cal = 40000;
  struct CalRow {
    double z[4];
    double pos;
    double u_click, u_next;
  };
  std::vector<CalRow> cal(n_cal);
  Impl::Eval e;
  for (size_t r = 0; r < n_cal; ++r) {
    const uint64_t u = m.user_draw->draw(cal_rng), i = m.item_draw->draw(cal_rng);
    const int p = c.funnel == FunnelKind::kLists ? static_cast<int>(r % c.list_length) + 1
                                                  : static_cast<int>(1 + cal_rng.below(c.positions));
    m.features(u, i, e);
    m.stage_scores(e, c.share);
    for (size_t s = 0; s < m.stages.size(); ++s) cal[r].z[s] = e.z[s];
    cal[r].pos = m.position_term[p];
    cal[r].u_click = cal_rng.uniform();
    cal[r].u_next = cal_rng.uniform();
  }
  for (size_t s = 0; s < m.stages.size(); ++s) {
    double sum = 0, sq = 0;
    for (const CalRow& row : cal) sum += row.z[s], sq += row.z[s] * row.z[s];
    const double mean = sum / n_cal, sd = std::sqrt(std::max(sq / n_cal - mean * mean, 1e-12));
    for (auto& x : m.stages[s].v) x = static_cast<float>(x / sd);
    for (CalRow& row : cal) row.z[s] = (row.z[s] - mean) / sd;
    m.stages[s].z_mean = mean / sd;
  }

  // Calibration: bisection on each stage's bias so that the expected rate of the calibration
  // sample equals the target: E[w_s sigmoid(logit_s)] / E[w_s], w_s = probability of reaching
  // the stage's condition (1 for the root; P(click) for the first later stage, ...).
  const size_t S = m.stages.size();
  auto logit = [&](const CalRow& row, size_t s, double bias, double context) {
    double l = bias + c.signal * row.z[s];
    if (s == 0) {
      l += row.pos + context;
    } else {
      l += c.selection * c.signal * row.z[0];
    }
    return l;
  };
  // Lists: the click probability of a row depends on the clicks and purchases before it in its
  // list (realised with the row's fixed uniforms, so the rate is a deterministic function of
  // the biases).
  auto list_context = [&](int clicks_recent, bool purchased) {
    return c.excitation * clicks_recent - (purchased ? c.inhibition : 0.0);
  };
  auto expected_rates = [&](std::vector<double>& rate) {
    std::vector<double> num(S, 0), den(S, 0);
    const int L = c.list_length;
    int recent[3] = {0, 0, 0};
    bool purchased = false;
    for (size_t r = 0; r < n_cal; ++r) {
      double ctx = 0;
      if (c.funnel == FunnelKind::kLists) {
        if (r % L == 0) recent[0] = recent[1] = recent[2] = 0, purchased = false;
        ctx = list_context(recent[0] + recent[1] + recent[2], purchased);
      }
      double p[4] = {0, 0, 0, 0}, w[4] = {0, 0, 0, 0};
      for (size_t s = 0; s < S; ++s) {
        p[s] = sigmoid(logit(cal[r], s, m.stages[s].bias, ctx));
        const Stage& st = m.stages[s];
        w[s] = st.parent < 0 ? 1.0 : w[st.parent] * (st.given_parent_no ? 1 - p[st.parent] : p[st.parent]);
        num[s] += w[s] * p[s];
        den[s] += w[s];
      }
      if (c.funnel == FunnelKind::kLists) {
        const bool click = cal[r].u_click < p[0];
        const bool buy = click && cal[r].u_next < p[1];
        recent[2] = recent[1];
        recent[1] = recent[0];
        recent[0] = click;
        purchased = purchased || buy;
      }
    }
    rate.resize(S);
    for (size_t s = 0; s < S; ++s) rate[s] = num[s] / den[s];
  };
  std::vector<double> rate;
  if (c.funnel == FunnelKind::kLists) {
    for (int round = 0; round < 3; ++round) {  // list stages interact
      for (size_t s = 0; s < S; ++s) {
        double lo = -40, hi = 40;
        for (int it = 0; it < 50; ++it) {
          m.stages[s].bias = 0.5 * (lo + hi);
          expected_rates(rate);
          (rate[s] < m.stages[s].target ? lo : hi) = m.stages[s].bias;
        }
      }
    }
  } else {
    // Without list dynamics a stage's rate depends only on its own bias and on its
    // ancestors' probabilities, fixed by the time it is bisected: each row's reach weight and
    // logit terms are computed once, and a step evaluates one sigmoid per row. The sums are
    // those expected_rates() forms (same terms, same order), so the biases are too.
    std::vector<double> reach(n_cal), own(n_cal), rest(n_cal);
    // w_s of expected_rates(): the probability of reaching the stage's condition.
    auto reach_of = [](const Stage& st, const double* w, const double* p) {
      if (st.parent < 0) return 1.0;
      return w[st.parent] * (st.given_parent_no ? 1 - p[st.parent] : p[st.parent]);
    };
    for (size_t s = 0; s < S; ++s) {
      for (size_t r = 0; r < n_cal; ++r) {
        double p[4] = {0, 0, 0, 0}, w[4] = {0, 0, 0, 0};
        for (size_t t = 0; t < s; ++t) {
          p[t] = sigmoid(logit(cal[r], t, m.stages[t].bias, 0.0));
          const Stage& st = m.stages[t];
          w[t] = reach_of(st, w, p);
        }
        reach[r] = reach_of(m.stages[s], w, p);
        // logit() = (bias + own) + rest.
        own[r] = c.signal * cal[r].z[s];
        rest[r] = s == 0 ? cal[r].pos + 0.0 : c.selection * c.signal * cal[r].z[0];
      }
      double lo = -40, hi = 40;
      for (int it = 0; it < 50; ++it) {
        const double bias = m.stages[s].bias = 0.5 * (lo + hi);
        double num = 0, den = 0;
        for (size_t r = 0; r < n_cal; ++r) {
          double l = bias + own[r];
          l += rest[r];
          num += reach[r] * sigmoid(l);
          den += reach[r];
        }
        (num / den < m.stages[s].target ? lo : hi) = bias;
      }
    }
  }
  expected_rates(rate);
  for (size_t s = 0; s < S; ++s) {
    calibration_.bias.push_back(m.stages[s].bias);
    calibration_.rate.push_back(rate[s]);
    calibration_.target.push_back(m.stages[s].target);
  }
}

Simulator::~Simulator() { delete impl_; }

const uint16_t* Simulator::profile(uint64_t user) const {
  return &impl_->profile[user * profile_fields().size()];
}
const uint32_t* Simulator::history_categories(uint64_t user) const {
  return &impl_->hist_cat[user * kHistoryLength];
}
const uint8_t* Simulator::history_counts(uint64_t user) const {
  return &impl_->hist_count[user * kHistoryLength];
}

const uint32_t* Simulator::item_categories() const { return impl_->item_cat.data(); }
const uint32_t* Simulator::item_shops() const { return impl_->item_shop.data(); }
const uint32_t* Simulator::item_brands() const { return impl_->item_brand.data(); }
const uint32_t* Simulator::category_intentions() const { return impl_->cat_intention.data(); }

void Simulator::generate(const std::function<void(const SimRow&, const Simulator&)>& sink) const {
  generate_batches([&](const SimRow* rows, size_t n) {
    for (size_t i = 0; i < n; ++i) sink(rows[i], *this);
  });
}

void Simulator::generate_batches(const std::function<void(const SimRow*, size_t)>& sink,
                                 size_t batch) const {
  FUNNEL_CHECK(batch > 0, "generate_batches: batch must be > 0");
  const Impl& m = *impl_;
  const SimConfig& c = config_;
  Rng rng(c.seed * 0x9E3779B97F4A7C15ULL + 4);
  Impl::Eval e;
  std::vector<SimRow> rows(batch);
  size_t filled = 0;
  const bool lists = c.funnel == FunnelKind::kLists;
  const uint64_t L = lists ? static_cast<uint64_t>(c.list_length) : 1;
  int recent[3] = {0, 0, 0};
  bool purchased = false;
  uint64_t user = 0;
  int64_t clock = 1500000000;
  SimRow::Split split = SimRow::kTrain;
  auto pick_split = [&] {
    const double u = rng.uniform();
    return u < c.test_fraction                           ? SimRow::kTest
           : u < c.test_fraction + c.validation_fraction ? SimRow::kValidation
                                                         : SimRow::kTrain;
  };
  // click_model pbm: a list's items are drawn first and ordered by the initial ranker.
  const bool pbm = c.click_model == ClickModel::kPbm;
  struct Ranked {
    uint64_t item;
    double z[4], score;
  };
  std::vector<Ranked> ranked(pbm ? L : 0);
  for (uint64_t r = 0; r < c.rows; ++r) {
    const uint64_t in_list = r % L;
    if (in_list == 0) {
      // A new list (lists) or a single impression: user and split.
      user = m.user_draw->draw(rng);
      split = pick_split();
      recent[0] = recent[1] = recent[2] = 0;
      purchased = false;
      clock += static_cast<int64_t>(1 + rng.below(120));
      if (pbm) {
        // HEROES §5.4's initial ranker, here a noisy view of the relevance logit (a stand-in
        // for the paper's Rank SVM on 1 % of the data): the list is shown in its order.
        for (Ranked& x : ranked) {
          x.item = m.item_draw->draw(rng);
          m.features(user, x.item, e);
          m.stage_scores(e, c.share);
          std::copy(e.z, e.z + 4, x.z);
          x.score = c.signal * x.z[0] + c.ranker_noise * normal(rng);
        }
        std::stable_sort(ranked.begin(), ranked.end(),
                         [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
      }
    }
    const uint64_t item = pbm ? ranked[in_list].item : m.item_draw->draw(rng);
    SimRow& row = rows[filled];
    row.split = split;
    row.user = user;
    row.item = item;
    row.category = m.item_cat[item];
    row.shop = m.item_shop[item];
    row.brand = m.item_brand[item];
    row.intention = m.cat_intention[row.category];
    row.position = lists ? static_cast<uint32_t>(in_list + 1)
                         : static_cast<uint32_t>(1 + rng.below(static_cast<uint64_t>(c.positions)));
    row.list = lists ? r / L : r;
    clock += lists ? static_cast<int64_t>(2 + rng.below(30)) : 0;
    row.timestamp = clock;

    if (pbm) {
      std::copy(ranked[in_list].z, ranked[in_list].z + 4, e.z);
    } else {
      m.features(user, item, e);
      m.stage_scores(e, c.share);
    }
    double p[4];
    double inherent_click = 0;
    for (size_t s = 0; s < m.stages.size(); ++s) {
      double l = m.stages[s].bias + c.signal * e.z[s];
      if (s == 0) {
        l += m.position_term[row.position];
        // The list history moves only the click: without it, the inherent probability.
        if (lists) inherent_click = sigmoid(l);
        if (lists) l += c.excitation * (recent[0] + recent[1] + recent[2]) - (purchased ? c.inhibition : 0.0);
      } else {
        l += c.selection * c.signal * e.z[0];
      }
      p[s] = sigmoid(l);
    }
    std::memset(row.label_columns, 0, sizeof(row.label_columns));
    if (pbm) {
      // PBM (HEROES §5.4): observed with rho_i^tau, relevant with P(r^c) (p[0], no position or
      // history term here), clicked if both; a purchase only after a click, with P(r^v).
      // The same draws for either label set, so both caches hold the same lists.
      const double examine = pbm_examination(static_cast<int>(row.position), c.tau);
      const bool observed = rng.uniform() < examine;
      const bool relevant = rng.uniform() < p[0];
      const bool satisfied = rng.uniform() < p[1];
      const bool relevance = c.labels == SimLabels::kRelevance;
      const bool click = relevant && (relevance || observed);
      row.label_columns[0] = click;
      row.label_columns[1] = click && satisfied;
      row.truth[0] = static_cast<float>(relevance ? p[0] : examine * p[0]);
      row.truth[1] = static_cast<float>(p[1]);
      row.inherent[0] = static_cast<float>(p[0]);
      row.inherent[1] = static_cast<float>(p[1]);
      if (++filled == batch) {
        sink(rows.data(), filled);
        filled = 0;
      }
      continue;
    }
    const bool click = rng.uniform() < p[0];
    row.label_columns[0] = click;
    row.truth[0] = static_cast<float>(p[0]);
    switch (c.funnel) {
      case FunnelKind::kClickConversion:
      case FunnelKind::kLists: {
        const bool buy = click && rng.uniform() < p[1];
        row.label_columns[1] = buy;
        row.truth[1] = static_cast<float>(p[1]);
        if (lists) {
          row.inherent[0] = static_cast<float>(inherent_click);
          row.inherent[1] = row.truth[1];  // P(purchase | click) has no list history term
          recent[2] = recent[1];
          recent[1] = recent[0];
          recent[0] = click;
          purchased = purchased || buy;
        }
        break;
      }
      case FunnelKind::kClickArrivalConversion: {
        const bool arrive = click && rng.uniform() < p[1];
        row.label_columns[1] = arrive;
        row.label_columns[2] = arrive && rng.uniform() < p[2];
        row.truth[1] = static_cast<float>(p[1]);
        row.truth[2] = static_cast<float>(p[2]);
        break;
      }
      case FunnelKind::kEsm2: {
        // ESM2 eq. 1-4: purchase | click = y2 y3 + (1 - y2) y4.
        const bool action = click && rng.uniform() < p[1];
        const double u = rng.uniform();
        // The action is a cart, a wish, or both (ESM2 §3.1: DAction = cart OR wish).
        row.label_columns[1] = action && u < 0.8;               // cart
        row.label_columns[2] = action && (u >= 0.5);            // wish
        row.label_columns[3] = click && rng.uniform() < (action ? p[2] : p[3]);  // purchase
        row.truth[1] = static_cast<float>(p[1]);
        row.truth[2] = static_cast<float>(p[1] * p[2] + (1 - p[1]) * p[3]);
        break;
      }
    }
    if (++filled == batch) {
      sink(rows.data(), filled);
      filled = 0;
    }
  }
  if (filled > 0) sink(rows.data(), filled);
}

}  // namespace funnel::sim
