// End to end: text -> cache -> ESMM / DNN training -> evaluation, on generated data whose
// true probabilities are known, so thresholds can be stated against the best achievable AUC.

#include "train/trainer.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include <string>

#include "../common/error_of.h"
#include "core/file.h"
#include "core/rng.h"
#include "data/converter.h"
#include "data/loader.h"
#include "embed/lazy_adam.h"
#include "metric/auc.h"
#include "model/evaluator.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "test_util.h"
#include "train/embedding_schedule.h"

namespace funnel::train {
namespace {

using funnel::testing::error_of;
using nlohmann::json;
using testing::sigmoid;

struct Generated {
  std::string dir;
  double oracle_ctr_auc = 0, oracle_cvr_auc = 0;
};

/// 30 k impressions: user and item effects drive clicks; conversion given click depends on
/// other user and item effects plus the click propensity (selection bias). Returns the AUC
/// of the true probabilities on the validation-like tail (the best any model can do).
Generated generate(const std::string& dir) {
  make_dirs(dir);
  Rng rng(7);
  const int users = 300, items = 400, n = 30000;
  std::vector<double> ua(users), uc(users), ib(items), id(items);
  for (auto& v : ua) v = 1.2 * (rng.uniform() * 2 - 1);
  for (auto& v : uc) v = 1.2 * (rng.uniform() * 2 - 1);
  for (auto& v : ib) v = 1.2 * (rng.uniform() * 2 - 1);
  for (auto& v : id) v = 1.2 * (rng.uniform() * 2 - 1);
  std::string csv = "click,buy,user,item,ctx\n";
  std::vector<float> pc, yc, pv, yv;
  for (int i = 0; i < n; ++i) {
    const int u = static_cast<int>(rng.below(users)), it = static_cast<int>(rng.below(items));
    const double click_logit = ua[u] + ib[it] - 1.5;
    const double p_click = sigmoid(click_logit);
    const double p_conv = sigmoid(uc[u] + id[it] + 0.5 * click_logit - 0.5);
    const int click = rng.uniform() < p_click, buy = click && rng.uniform() < p_conv;
    csv += std::to_string(click) + "," + std::to_string(buy) + ",u" + std::to_string(u) + ",i" +
           std::to_string(it) + ",c" + std::to_string(rng.below(5)) + "\n";
    pc.push_back(static_cast<float>(p_click));
    yc.push_back(static_cast<float>(click));
    if (click) {
      pv.push_back(static_cast<float>(p_conv));
      yv.push_back(static_cast<float>(buy));
    }
  }
  write_text_file_atomic(join_path(dir, "data.csv"), csv);
  nlohmann::json data = {{"train", {join_path(dir, "data.csv")}},
                         {"validation_ratio", 0.2},
                         {"labels", {"click", "buy"}},
                         {"categorical", {"user", "item", "ctx"}},
                         {"group", "user"}};
  data::ConvertOptions co;
  co.progress = false;
  data::convert_to_cache(data::parse_data_config(data, ""), join_path(dir, "cache"), co);
  return {dir, metric::auc(pc, yc), metric::auc(pv, yv)};
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_ = new Generated(generate(join_path(::testing::TempDir(),
                                          "funnel_trainer_" + std::to_string(::getpid()))));
    cache_ = new data::Cache(join_path(g_->dir, "cache"));
  }
  static void TearDownTestSuite() {
    delete cache_;
    remove_all(g_->dir);
    delete g_;
  }

  struct Run {
    std::shared_ptr<model::FunnelModel> net;
    std::shared_ptr<model::FeatureEmbedding> emb;
    std::unique_ptr<Trainer> trainer;
  };

  static model::FeatureEmbeddingOptions embedding_options(uint64_t seed) {
    model::FeatureEmbeddingOptions eo;
    eo.embedding_dim = 8;
    eo.table.seed = seed;
    embed::AdamOptions adam;
    adam.lr = 0.02;
    eo.table.optimizer = adam;
    return eo;
  }

  static Run make(const std::string& name, TrainerOptions o,
                  model::EmbeddingSharing sharing = model::EmbeddingSharing::kShared) {
    torch::manual_seed(o.seed);
    model::FeatureEmbeddingOptions eo = embedding_options(o.seed);
    eo.sharing = sharing;
    Run r;
    r.emb = std::make_shared<model::FeatureEmbedding>(cache_->layout(), cache_->vocab_sizes(), eo);
    const model::FunnelSpec funnel{cache_->layout().events, cache_->layout().event_parent};
    r.net = model::make_model(name, funnel, r.emb->tower_input_dim(), {{"towers", {32, 16}}});
    o.progress = false;
    r.trainer = std::make_unique<Trainer>(*cache_, r.net, r.emb, o);
    return r;
  }

  static TrainerOptions quick() {
    TrainerOptions o;
    o.batch_size = 256;
    o.epochs = 3;
    o.lr = 0.01;
    o.patience = 0;
    return o;
  }

  static Generated* g_;
  static data::Cache* cache_;
};
Generated* TrainerTest::g_ = nullptr;
data::Cache* TrainerTest::cache_ = nullptr;

// Thresholds: a model must capture at least half of the achievable lift over random,
// AUC >= 0.5 + (oracle - 0.5) / 2, on held-out rows. The oracle (true probabilities) is
// ~0.74 for CTR and ~0.70 for CVR here; 3 epochs over 24 k rows reach most of it.
TEST_F(TrainerTest, EsmmLearnsBothEvents) {
  Run r = make("esmm", quick());
  const TrainResult res = r.trainer->fit("train", "validation");
  const auto& v = res.best_validation;
  const double ctr = v["ctr"]["auc"], cvr = v["cvr"]["auc"];
  EXPECT_GT(ctr, 0.5 + (g_->oracle_ctr_auc - 0.5) / 2) << "oracle " << g_->oracle_ctr_auc;
  EXPECT_GT(cvr, 0.5 + (g_->oracle_cvr_auc - 0.5) / 2) << "oracle " << g_->oracle_cvr_auc;
  EXPECT_LT(ctr, g_->oracle_ctr_auc + 0.03);  // cannot beat the truth (up to sampling noise)
  EXPECT_EQ(res.log.size(), 3u);
  EXPECT_GT(res.samples, 0u);
  // GAUC by user exists and top-k entries are there.
  EXPECT_TRUE(v["ctr"].contains("gauc"));
  EXPECT_TRUE(v["ctcvr"].contains("top_k"));
}

TEST_F(TrainerTest, DnnTrainsInClickSpace) {
  Run r = make("dnn", quick());
  const TrainResult res = r.trainer->fit("train", "validation");
  const double ctr = res.best_validation["ctr"]["auc"];
  const double cvr = res.best_validation["cvr"]["auc"];
  EXPECT_GT(ctr, 0.5 + (g_->oracle_ctr_auc - 0.5) / 2);
  EXPECT_GT(cvr, 0.55);
}

TEST_F(TrainerTest, SameSeedOneThreadIsDeterministic) {
  TrainerOptions o = quick();
  o.epochs = 1;
  o.max_steps = 30;
  Run a = make("esmm", o), b = make("esmm", o);
  a.trainer->fit("train", "");
  b.trainer->fit("train", "");
  const metric::FunnelPredictions pa = a.trainer->predict("validation");
  const metric::FunnelPredictions pb = b.trainer->predict("validation");
  EXPECT_EQ(pa.log_p, pb.log_p);
  o.seed = 2;
  Run c = make("esmm", o);
  c.trainer->fit("train", "");
  EXPECT_NE(pa.log_p, c.trainer->predict("validation").log_p);
}

TEST_F(TrainerTest, CheckpointRoundTripGivesIdenticalPredictions) {
  TrainerOptions o = quick();
  o.epochs = 1;
  o.max_steps = 20;
  Run a = make("esmm", o);
  a.trainer->fit("train", "");
  const std::string dir = join_path(g_->dir, "ckpt");
  a.trainer->save_checkpoint(dir);
  o.seed = 99;  // different initial weights, overwritten by the load
  Run b = make("esmm", o);
  b.trainer->load_checkpoint(dir);
  EXPECT_EQ(a.trainer->predict("validation").log_p, b.trainer->predict("validation").log_p);
}

// loss.jsonl: a line per log_loss_every steps with the mean loss of those steps. With 24 steps
// and windows of 4, the windows' mean is the epoch's mean loss that log.jsonl holds.
TEST_F(TrainerTest, LossLogHoldsTheMeanOfEachWindow) {
  TrainerOptions o = quick();
  o.epochs = 1;
  o.max_steps = 24;
  o.log_loss_every = 4;
  Run r = make("esmm", o);
  const std::string run = join_path(g_->dir, "run_loss");
  const TrainResult res = r.trainer->fit("train", "", run);
  std::istringstream lines(read_text_file(join_path(run, "loss.jsonl")));
  std::vector<nlohmann::json> loss;
  for (std::string line; std::getline(lines, line);) loss.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(loss.size(), 6u);
  double sum = 0;
  for (size_t k = 0; k < loss.size(); ++k) {
    EXPECT_EQ(loss[k]["step"], 4 * static_cast<int>(k + 1));
    EXPECT_EQ(loss[k]["epoch"], 1);
    sum += loss[k]["loss"].get<double>();
  }
  ASSERT_EQ(res.log.size(), 1u);
  EXPECT_NEAR(sum / 6, res.log[0]["train_loss"].get<double>(), 1e-9);
  // 0 writes none.
  o.log_loss_every = 0;
  Run quiet = make("esmm", o);
  const std::string run0 = join_path(g_->dir, "run_loss0");
  quiet.trainer->fit("train", "", run0);
  EXPECT_FALSE(path_exists(join_path(run0, "loss.jsonl")));
}

TEST_F(TrainerTest, EarlyStoppingStopsAndKeepsTheBest) {
  TrainerOptions o = quick();
  o.epochs = 6;
  o.lr = 0.05;
  o.early_stop_metric = "ctr.nll";
  o.patience = 1;
  Run r = make("esmm", o);
  const std::string run = join_path(g_->dir, "run_es");
  const TrainResult res = r.trainer->fit("train", "validation", run);
  // The log has one line per evaluation; the best metrics are the minimum NLL seen.
  double best = 1e9;
  for (const auto& e : res.log) best = std::min(best, e["validation"]["ctr"]["nll"].get<double>());
  EXPECT_DOUBLE_EQ(res.best_validation["ctr"]["nll"].get<double>(), best);
  EXPECT_TRUE(path_exists(join_path(run, "checkpoint/best/dense.pt")));
  EXPECT_TRUE(path_exists(join_path(run, "log.jsonl")));
  // After fit the trainer holds the best state.
  EXPECT_NEAR(r.trainer->evaluate("validation")["ctr"]["nll"].get<double>(), best, 1e-6);
}

TEST_F(TrainerTest, ResumedRunEqualsAnUninterruptedOne) {
  TrainerOptions o = quick();
  o.epochs = 3;
  o.patience = 0;  // never stop early: all three epochs run in both
  Run whole = make("esmm", o);
  const TrainResult rw = whole.trainer->fit("train", "validation", join_path(g_->dir, "run_whole"));

  // The same run, interrupted after its first epoch, then resumed by a new process-like
  // trainer (fresh weights from another seed, overwritten by the checkpoint).
  const std::string run = join_path(g_->dir, "run_resumed");
  TrainerOptions first = o;
  first.epochs = 1;
  Run part = make("esmm", first);
  part.trainer->fit("train", "validation", run);
  TrainerOptions other_init = o;
  other_init.seed = 7;  // only the initial weights; the shuffle seed must match the run's
  Run cont = make("esmm", other_init);
  o.progress = false;
  Trainer resumed(*cache_, cont.net, cont.emb, o);
  resumed.resume(run);
  const TrainResult rr = resumed.fit("train", "validation", run);

  EXPECT_EQ(rr.steps, rw.steps);
  EXPECT_EQ(rr.samples, rw.samples);
  EXPECT_EQ(rr.best_validation.dump(), rw.best_validation.dump());
  EXPECT_EQ(whole.trainer->predict("validation").log_p, resumed.predict("validation").log_p);
  // One log line per epoch over both parts, epochs numbered on.
  std::istringstream log(read_text_file(join_path(run, "log.jsonl")));
  std::vector<int> epochs;
  for (std::string line; std::getline(log, line);) {
    epochs.push_back(nlohmann::json::parse(line).at("epoch").get<int>());
  }
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3}));  // counted from 1, as in the progress line
  // Resuming a finished run trains no further.
  Trainer done(*cache_, cont.net, cont.emb, o);
  done.resume(run);
  EXPECT_EQ(done.fit("train", "validation", run).steps, rw.steps);
}

/// ESMM's towers, but the output turns NaN from the `bad_from`-th forward pass on.
class PoisonedModel : public model::FunnelModel {
 public:
  PoisonedModel(std::shared_ptr<model::FunnelModel> inner, int bad_from)
      : inner_(register_module("inner", std::move(inner))), bad_from_(bad_from) {}
  model::FunnelOutput forward(const model::ModelInput& input) override {
    model::FunnelOutput out = inner_->forward(input);
    if (is_training() && ++calls_ > bad_from_) {
      out.cond_log_p[0] = out.cond_log_p[0] * std::numeric_limits<float>::quiet_NaN();
    }
    return out;
  }

 private:
  std::shared_ptr<model::FunnelModel> inner_;
  int bad_from_;
  int calls_ = 0;
};

TEST_F(TrainerTest, NanLossStopsWithTheStepAndKeepsTheLastCheckpoint) {
  TrainerOptions o = quick();
  o.epochs = 2;
  Run r = make("esmm", o);
  const int64_t steps_per_epoch =
      (cache_->split("train").rows() + o.batch_size - 1) / o.batch_size;
  auto poisoned = std::make_shared<PoisonedModel>(r.net, steps_per_epoch + 3);
  o.progress = false;
  Trainer t(*cache_, poisoned, r.emb, o);
  const std::string run = join_path(g_->dir, "run_nan");
  try {
    t.fit("train", "validation", run);
    FAIL() << "expected TrainingDiverged";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.step(), steps_per_epoch + 3);
    EXPECT_NE(std::string(e.what()).find("step " + std::to_string(steps_per_epoch + 3)),
              std::string::npos)
        << e.what();
  }
  // The checkpoint of the first epoch is intact and loads.
  const std::string last = join_path(run, "checkpoint/last");
  ASSERT_TRUE(path_exists(join_path(last, "dense.pt")));
  Run fresh = make("esmm", o);
  Trainer again(*cache_, std::make_shared<PoisonedModel>(fresh.net, 1 << 30), fresh.emb, o);
  again.load_checkpoint(last);
  const auto p = again.predict("validation");
  // A checkpoint of a different architecture is a clear error.
  EXPECT_THROW(fresh.trainer->load_checkpoint(last), Error);
  for (float v : p.log_p) ASSERT_TRUE(std::isfinite(v));
}

/// Records what the loop shows its hooks; checks, around every step, that the parameters the
/// loop does not train get no gradient and do not move, and that the trained ones do.
class SpyHook : public TrainerHook {
 public:
  SpyHook(std::vector<torch::Tensor> trained, std::vector<torch::Tensor> frozen)
      : trained_(std::move(trained)), frozen_(std::move(frozen)) {}
  void on_fit_start() override { calls.push_back("start"); }
  void after_backward(const data::Batch& batch, const torch::Tensor& x) override {
    calls.push_back("backward");
    EXPECT_TRUE(x.grad().defined());
    EXPECT_EQ(x.size(0), static_cast<int64_t>(batch.size));
    for (const auto& p : frozen_) {
      EXPECT_FALSE(p.requires_grad());
      EXPECT_FALSE(p.grad().defined() && p.grad().abs().sum().item<double>() > 0);
    }
    for (const auto& p : trained_) EXPECT_TRUE(p.grad().defined());
    before_ = snapshot();
  }
  void after_step(int64_t step) override {
    calls.push_back("step " + std::to_string(step));
    const auto after = snapshot();
    for (size_t i = 0; i < frozen_.size(); ++i) EXPECT_TRUE(torch::equal(before_[i], after[i]));
    bool moved = false;
    for (size_t i = frozen_.size(); i < after.size(); ++i) {
      moved |= !torch::equal(before_[i], after[i]);
    }
    EXPECT_TRUE(moved);
    for (const auto& p : frozen_) EXPECT_TRUE(p.requires_grad());  // unfrozen after the step
  }
  void on_log(nlohmann::json& entry) override {
    calls.push_back("log");
    entry["spy"] = true;
  }
  void on_fit_end(int64_t step) override { calls.push_back("end " + std::to_string(step)); }

  std::vector<std::string> calls;

 private:
  std::vector<torch::Tensor> snapshot() const {
    std::vector<torch::Tensor> out;
    for (const auto* list : {&frozen_, &trained_}) {
      for (const auto& p : *list) out.push_back(p.detach().clone());
    }
    return out;
  }
  std::vector<torch::Tensor> trained_, frozen_;
  std::vector<torch::Tensor> before_;
};

TEST_F(TrainerTest, HooksSeeEveryStepAndUntrainedParametersStayFixed) {
  TrainerOptions o = quick();
  o.epochs = 1;
  o.max_steps = 3;
  Run r = make("esmm", o);
  // Train only the first tower: the second must neither get a gradient nor move.
  std::vector<torch::Tensor> trained, frozen;
  for (const auto& item : r.net->named_parameters()) {
    (item.key().rfind("tower0.", 0) == 0 ? trained : frozen).push_back(item.value());
  }
  ASSERT_FALSE(trained.empty());
  ASSERT_FALSE(frozen.empty());
  o.progress = false;
  Trainer t(*cache_, r.net, r.emb, o, trained);
  SpyHook spy(trained, frozen);
  t.add_hook(&spy);
  const TrainResult res = t.fit("train", "validation");
  EXPECT_EQ(res.steps, 3);
  EXPECT_EQ(spy.calls, (std::vector<std::string>{"start", "backward", "step 1", "backward",
                                                 "step 2", "backward", "step 3", "log",
                                                 "end 3"}));
  ASSERT_EQ(res.log.size(), 1u);
  EXPECT_EQ(res.log[0]["spy"], true);
  EXPECT_EQ(res.last_validation, res.log[0]["validation"]);
}

// ---- Multi-epoch embedding remedies (train.embedding_reset, train.embedding_lr_scale).

/// Copies of every dense parameter and of the dense Adam's state (exp_avg, exp_avg_sq, step).
std::vector<torch::Tensor> dense_state(model::FunnelModel& net, const Trainer& trainer) {
  std::vector<torch::Tensor> out;
  for (const auto& p : net.parameters()) out.push_back(p.detach().clone());
  const torch::optim::Optimizer& opt = trainer.dense_optimizer();
  for (const auto& group : opt.param_groups()) {
    for (const auto& p : group.params()) {
      const auto it = opt.state().find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      EXPECT_NE(it, opt.state().end()) << "a dense parameter without Adam state";
      if (it == opt.state().end()) continue;
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
      out.push_back(s.exp_avg().clone());
      out.push_back(s.exp_avg_sq().clone());
      out.push_back(torch::tensor(static_cast<int64_t>(s.step())));
    }
  }
  return out;
}

bool all_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

/// Whether every weight of `a` equals `b`'s bitwise, table by table.
bool same_tables(const model::FeatureEmbedding& a, const model::FeatureEmbedding& b) {
  if (a.num_tables() != b.num_tables()) return false;
  for (size_t t = 0; t < a.num_tables(); ++t) {
    const auto& x = a.table(t);
    if (std::memcmp(x.data(), b.table(t).data(), x.num_rows() * x.dim() * sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

/// Rows of all tables whose lazy Adam state (moments, step) is not the fresh one.
size_t rows_with_adam_state(const model::FeatureEmbedding& e) {
  size_t n = 0;
  for (size_t t = 0; t < e.num_tables(); ++t) {
    const auto& adam = dynamic_cast<const embed::LazyAdam&>(e.table(t).optimizer());
    for (uint64_t r = 0; r < e.table(t).num_rows(); ++r) {
      bool fresh = adam.step(r) == 0;
      for (uint32_t d = 0; d < e.table(t).dim(); ++d) {
        fresh = fresh && adam.first_moment(r)[d] == 0 && adam.second_moment(r)[d] == 0;
      }
      n += !fresh;
    }
  }
  return n;
}

/// Snapshots the trainer at the end of each epoch (its log line) and checks, at the start of
/// the next one (after the embedding schedule, the first hook), what changed.
class EpochBoundaryProbe : public TrainerHook {
 public:
  EpochBoundaryProbe(model::FunnelModel& net, model::FeatureEmbedding& emb, const Trainer& t)
      : net_(net), emb_(emb), trainer_(t) {}
  void on_log(nlohmann::json&) override {
    dense_before = dense_state(net_, trainer_);
    tables_before = std::make_unique<std::stringstream>();
    emb_.save(*tables_before, /*with_optimizer_state=*/true);
  }
  void on_epoch_start(int epoch) override {
    if (epoch == 0) return;
    ++boundaries;
    dense_after = dense_state(net_, trainer_);
    lr_after.clear();
    for (size_t t = 0; t < emb_.num_tables(); ++t) {
      lr_after.push_back(std::get<embed::AdamOptions>(emb_.table(t).optimizer().options()).lr);
    }
    check(epoch);
  }
  std::function<void(int)> check = [](int) {};
  int boundaries = 0;
  std::vector<torch::Tensor> dense_before, dense_after;
  std::unique_ptr<std::stringstream> tables_before;
  std::vector<double> lr_after;

 private:
  model::FunnelModel& net_;
  model::FeatureEmbedding& emb_;
  const Trainer& trainer_;
};

// MEDA: at each epoch boundary every table and its optimizer state are exactly a fresh
// draw's (the same as a new FeatureEmbedding seeded with the schedule's seed), and the dense
// weights and their Adam state are exactly what the last step left.
TEST_F(TrainerTest, EmbeddingResetRedrawsTablesAndKeepsTheDenseNetworks) {
  for (const auto sharing : {model::EmbeddingSharing::kShared, model::EmbeddingSharing::kPerTask}) {
    TrainerOptions o = quick();
    o.epochs = 3;
    o.embedding_reset = EmbeddingReset::kEpoch;
    Run r = make("esmm", o, sharing);
    EpochBoundaryProbe probe(*r.net, *r.emb, *r.trainer);
    probe.check = [&](int epoch) {
      // Epoch `epoch` - 1 trained the tables: they held Adam state and were no fresh draw.
      model::FeatureEmbeddingOptions eo = embedding_options(o.seed);
      eo.sharing = sharing;
      model::FeatureEmbedding trained(cache_->layout(), cache_->vocab_sizes(), eo);
      probe.tables_before->seekg(0);
      trained.load(*probe.tables_before);
      EXPECT_GT(rows_with_adam_state(trained), 100u);
      eo.table.seed = EmbeddingSchedule::reset_seed(o.seed, epoch);
      const model::FeatureEmbedding fresh(cache_->layout(), cache_->vocab_sizes(), eo);
      EXPECT_FALSE(same_tables(trained, fresh));
      // Now: every row of every table is the fresh draw, every moment and step count zero.
      EXPECT_TRUE(same_tables(*r.emb, fresh)) << "epoch " << epoch;
      EXPECT_EQ(rows_with_adam_state(*r.emb), 0u) << "epoch " << epoch;
      // The draws differ between boundaries (a fresh draw each epoch, not the first one).
      eo.table.seed = o.seed;
      EXPECT_FALSE(same_tables(
          *r.emb, model::FeatureEmbedding(cache_->layout(), cache_->vocab_sizes(), eo)));
      // Nothing else changed: dense weights and their Adam state bitwise, the tables' lr.
      EXPECT_TRUE(all_equal(probe.dense_before, probe.dense_after)) << "epoch " << epoch;
      for (double lr : probe.lr_after) EXPECT_EQ(lr, 0.02);
    };
    r.trainer->add_hook(&probe);
    r.trainer->fit("train", "validation");
    EXPECT_EQ(probe.boundaries, 2);
  }
}

// embedding_lr_scale: the first epoch at embedding.lr, the later ones at lr x scale; the dense
// side untouched by the switch. Scale 0 freezes the tables: no row, moment or step moves in
// the later epochs while the dense weights train on.
TEST_F(TrainerTest, EmbeddingLrScaleSlowsOrFreezesTheTablesAfterTheFirstEpoch) {
  TrainerOptions o = quick();
  o.epochs = 2;
  o.embedding_lr_scale = 0.25;
  Run r = make("esmm", o);
  EpochBoundaryProbe probe(*r.net, *r.emb, *r.trainer);
  std::string tables_at_boundary;
  probe.check = [&](int) {
    for (double lr : probe.lr_after) EXPECT_DOUBLE_EQ(lr, 0.25 * 0.02);
    EXPECT_TRUE(all_equal(probe.dense_before, probe.dense_after));
    // The rows and their state are kept: only the rate changed.
    std::stringstream now;
    r.emb->save(now, /*with_optimizer_state=*/true);
    std::stringstream reference;
    {
      model::FeatureEmbedding e(cache_->layout(), cache_->vocab_sizes(), embedding_options(1));
      probe.tables_before->seekg(0);
      e.load(*probe.tables_before);
      e.set_lr_scale(0.25);  // saved streams record the current rate
      e.save(reference, /*with_optimizer_state=*/true);
    }
    EXPECT_EQ(now.str(), reference.str());
  };
  r.trainer->add_hook(&probe);
  r.trainer->fit("train", "");
  EXPECT_EQ(probe.boundaries, 1);
  EXPECT_EQ(r.emb->lr_scale(), 0.25);

  o.embedding_lr_scale = 0;
  Run f = make("esmm", o);
  EpochBoundaryProbe frozen(*f.net, *f.emb, *f.trainer);
  std::vector<torch::Tensor> dense_at_boundary;
  frozen.check = [&](int) {
    EXPECT_TRUE(all_equal(frozen.dense_before, frozen.dense_after));
    std::stringstream now;
    f.emb->save(now, /*with_optimizer_state=*/true);
    tables_at_boundary = now.str();
    dense_at_boundary = frozen.dense_after;
  };
  f.trainer->add_hook(&frozen);
  f.trainer->fit("train", "");
  ASSERT_EQ(frozen.boundaries, 1);
  // The tables and their state at the end equal those at the boundary, bitwise, and were
  // trained in epoch 1; the dense weights trained on.
  std::stringstream end;
  f.emb->save(end, /*with_optimizer_state=*/true);
  EXPECT_EQ(end.str(), tables_at_boundary);
  EXPECT_GT(rows_with_adam_state(*f.emb), 100u);
  EXPECT_FALSE(all_equal(dense_at_boundary, dense_state(*f.net, *f.trainer)));
}

// A resumed run with MEDA re-draws at the resumed epoch exactly as an uninterrupted one.
TEST_F(TrainerTest, ResumedRunWithEmbeddingResetEqualsAnUninterruptedOne) {
  TrainerOptions o = quick();
  o.epochs = 3;
  o.embedding_reset = EmbeddingReset::kEpoch;
  Run whole = make("esmm", o);
  const TrainResult rw =
      whole.trainer->fit("train", "validation", join_path(g_->dir, "run_meda_whole"));
  const std::string dir = join_path(g_->dir, "run_meda_part");
  o.epochs = 2;
  Run part = make("esmm", o);
  part.trainer->fit("train", "validation", dir);
  o.epochs = 3;
  Run rest = make("esmm", o);
  EXPECT_EQ(rest.trainer->resume(dir), 2);
  const TrainResult rr = rest.trainer->fit("train", "validation", dir);
  EXPECT_EQ(rr.best_validation.dump(), rw.best_validation.dump());
  EXPECT_EQ(whole.trainer->predict("validation").log_p, rest.trainer->predict("validation").log_p);
}

TEST(TrainerOptions, EmbeddingRemediesParseStrictly) {
  const TrainerOptions o =
      TrainerOptions::from_json(json{{"embedding_reset", "epoch"}, {"embedding_lr_scale", 0.5}});
  EXPECT_EQ(o.embedding_reset, EmbeddingReset::kEpoch);
  EXPECT_EQ(o.embedding_lr_scale, 0.5);
  EXPECT_TRUE(o.has_embedding_schedule());
  EXPECT_FALSE(TrainerOptions().has_embedding_schedule());
  EXPECT_EQ(TrainerOptions::from_json(o.to_json()).to_json(), o.to_json());
  const std::string bad = error_of([] {
    TrainerOptions::from_json(json{{"embedding_reset", "epochs"}});
  });
  EXPECT_NE(bad.find("train.embedding_reset: expected none or epoch, got 'epochs'"),
            std::string::npos)
      << bad;
  EXPECT_THROW(TrainerOptions::from_json(json{{"embedding_lr_scale", -1}}), Error);
  const std::string both = error_of([] {
    TrainerOptions::from_json(json{{"embedding_reset", "epoch"}, {"embedding_lr_scale", 0}});
  });
  EXPECT_NE(both.find("train.embedding_lr_scale"), std::string::npos) << both;
}

TEST(TrainerOptions, ParsesStrictly) {
  const TrainerOptions o =
      TrainerOptions::from_json(json{{"batch_size", 512}, {"epochs", 2}, {"loss_weights", {1, 3}}});
  EXPECT_EQ(o.batch_size, 512u);
  EXPECT_EQ(o.loss.weights, (std::vector<double>{1, 3}));
  EXPECT_THROW(TrainerOptions::from_json(json{{"epoch", 2}}), Error);
  EXPECT_THROW(TrainerOptions::from_json(json{{"batch_size", 0}}), Error);
  EXPECT_THROW(TrainerOptions::from_json(json{{"early_stop_metric", "auc"}}), Error);
}

// Wraps a model and records the list structure of every input it is given.
class ListRecorder : public model::FunnelModel {
 public:
  struct Call {
    int64_t rows = 0;
    std::vector<int64_t> offsets;  // empty: no lists
    bool training = false;
  };
  explicit ListRecorder(std::shared_ptr<model::FunnelModel> inner)
      : inner_(register_module("inner", std::move(inner))) {}
  model::FunnelOutput forward(const model::ModelInput& in) override {
    Call c;
    c.rows = in.rows();
    c.training = is_training();
    if (in.has_lists()) {
      const torch::Tensor o = in.list_offsets.to(torch::kCPU).contiguous();
      c.offsets.assign(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
    }
    calls.push_back(c);
    return inner_->forward(in);
  }
  std::vector<Call> calls;

 private:
  std::shared_ptr<model::FunnelModel> inner_;
};

// train.list_batches: the model gets whole lists (CSR offsets) in training steps and in the
// trainer's evaluations; a per-row model scores the same with row batches.
/// A cache of 120 lists of 1..9 items (list, position, click, buy, user, item); returns its path.
std::string make_list_cache(const std::string& dir) {
  make_dirs(dir);
  std::string csv = "lst,pos,click,buy,user,item\n";
  Rng rng(3);
  for (int k = 0; k < 120; ++k) {
    for (int p = 1; p <= 1 + k % 9; ++p) {
      const bool click = rng.uniform() < 0.3;
      csv += "l" + std::to_string(k) + "," + std::to_string(p) + "," + (click ? "1" : "0") + "," +
             (click && rng.uniform() < 0.3 ? "1" : "0") + ",u" + std::to_string(k % 7) + ",i" +
             std::to_string(rng.below(20)) + "\n";
    }
  }
  write_text_file_atomic(join_path(dir, "lists.csv"), csv);
  data::ConvertOptions co;
  co.progress = false;
  data::convert_to_cache(
      data::parse_data_config({{"train", {join_path(dir, "lists.csv")}},
                               {"labels", {"click", "buy"}},
                               {"categorical", {"user", "item"}},
                               {"list", "lst"},
                               {"position", "pos"},
                               {"vocab", {{"min_count", 1}}}},
                              ""),
      join_path(dir, "cache"), co);
  return join_path(dir, "cache");
}

TEST_F(TrainerTest, ListBatchesReachTheModelInTrainingAndEvaluation) {
  const data::Cache cache(make_list_cache(join_path(g_->dir, "lists")));
  TrainerOptions o = quick();
  o.epochs = 1;
  o.batch_size = 32;
  o.list_batches = true;
  o.lists_per_batch = 5;
  o.progress = false;
  model::FeatureEmbeddingOptions eo;
  eo.embedding_dim = 4;
  auto emb = std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(), eo);
  const model::FunnelSpec funnel{cache.layout().events, cache.layout().event_parent};
  auto rec = std::make_shared<ListRecorder>(
      model::make_model("esmm", funnel, emb->input_dim(), {{"towers", {8}}}));
  Trainer t(cache, rec, emb, o);
  t.fit("train", "");
  size_t steps = 0;
  for (const auto& c : rec->calls) {
    ASSERT_GE(c.offsets.size(), 2u);
    EXPECT_EQ(c.offsets.front(), 0);
    EXPECT_EQ(c.offsets.back(), c.rows);
    if (c.training) {
      ++steps;
      EXPECT_LE(c.offsets.size() - 1, 5u);
      if (c.offsets.size() > 2) {
        EXPECT_LE(c.rows, 32);
      }
    }
  }
  EXPECT_EQ(static_cast<int64_t>(steps), t.global_step());
  rec->calls.clear();
  const metric::FunnelPredictions by_lists = t.predict("train");
  ASSERT_FALSE(rec->calls.empty());
  int64_t rows = 0;
  for (const auto& c : rec->calls) {
    EXPECT_FALSE(c.training);
    ASSERT_GE(c.offsets.size(), 2u);
    rows += c.rows;
  }
  EXPECT_EQ(rows, static_cast<int64_t>(cache.split("train").rows()));
  const model::Evaluator by_rows(*rec, *emb, funnel);
  const metric::FunnelPredictions p = by_rows.predict(cache, "train");
  ASSERT_EQ(p.log_p.size(), by_lists.log_p.size());
  for (size_t i = 0; i < p.log_p.size(); ++i) EXPECT_NEAR(p.log_p[i], by_lists.log_p[i], 1e-5);
  // A cache without lists refuses list batches.
  try {
    Trainer bad(*cache_, rec, emb, o);
    FAIL() << "list batches on a cache without lists";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.list_batches: the cache has no list column"),
              std::string::npos)
        << e.what();
  }
}

// No label leakage (issue 15, DESIGN.md): a list model trained on lists scores a batch the same
// whatever the labels of its items (of item i and of every later item, for every cut i), while
// the features of a list's first item do reach its later items' scores. With `feedback:
// observed` the labels of items i..L still change nothing of items 1..i, and those of item i do
// reach item i+1 (so the check can fail).
TEST_F(TrainerTest, ListModelPredictionsNeverReadLabels) {
  const data::Cache cache(make_list_cache(join_path(g_->dir, "lists_leak")));
  const model::FunnelSpec funnel{cache.layout().events, cache.layout().event_parent};
  struct Case {
    std::string name, feedback;
    nlohmann::json extra = nlohmann::json::object();  // more model options
  };
  // HEROES+ (the survival objective, with and without the Hawkes decay): its loss reads the
  // labels, its predictions must not.
  const nlohmann::json survival = {{"objective", "survival"}};
  const nlohmann::json survival_unit = {{"objective", "survival"}, {"hawkes", false}};
  const std::vector<Case> cases = {{"heroes", "none"},
                                   {"lstm", "none"},
                                   {"time_lstm", "none"},
                                   {"nhp", "none"},
                                   {"dupn", "none"},
                                   {"narm", "none"},
                                   {"heroes", "none", survival},
                                   {"heroes", "none", survival_unit},
                                   {"heroes", "observed"},
                                   {"lstm", "observed"},
                                   {"narm", "observed"},
                                   {"heroes", "observed", survival}};
  for (const Case& m : cases) {
    const std::string what = m.name + " (feedback " + m.feedback + ") " + m.extra.dump();
    nlohmann::json options = {
        {"hidden", 8}, {"encoder", {8}}, {"positions", 4}, {"feedback", m.feedback}};
    options.update(m.extra);
    const bool observed = m.feedback == "observed";
    model::FeatureEmbeddingOptions eo;
    eo.embedding_dim = 4;
    auto emb = std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(), eo);
    auto net = model::make_model(m.name, funnel, emb->input_dim(), options);
    EXPECT_EQ(net->reads_feedback(), observed) << what;
    TrainerOptions o = quick();
    o.epochs = 1;
    o.batch_size = 64;
    o.progress = false;
    Trainer t(cache, net, emb, o);  // the model asks for list batches itself
    t.fit("train", "");
    net->eval();
    data::LoaderOptions lo;
    lo.batch_size = 64;
    lo.shuffle = false;
    lo.lists = true;
    data::Loader loader(cache, cache.split("train"), lo);
    loader.start_epoch(0);
    data::Batch b;
    ASSERT_TRUE(loader.next(b));
    ASSERT_GE(b.list_offsets.size(), 3u);
    const model::Evaluator ev(*net, *emb, funnel);
    const model::BatchScores base = ev.score(b);
    for (const uint64_t cut : {0, 1, 3}) {
      data::Batch c = b;
      for (size_t k = 0; k + 1 < c.list_offsets.size(); ++k) {
        for (uint64_t r = c.list_offsets[k] + cut; r < c.list_offsets[k + 1]; ++r) {
          for (size_t e = 0; e < c.num_events; ++e) {
            c.labels[e * c.size + r] = 1 - c.labels[e * c.size + r];
          }
        }
      }
      const model::BatchScores flipped = ev.score(c);
      if (!observed) {
        EXPECT_EQ(flipped.log_p, base.log_p) << what << ": labels from item " << cut;
        continue;
      }
      size_t next_moved = 0;
      for (size_t k = 0; k + 1 < c.list_offsets.size(); ++k) {
        for (uint64_t r = c.list_offsets[k]; r < c.list_offsets[k + 1]; ++r) {
          const uint64_t i = r - c.list_offsets[k];
          for (size_t e = 0; e < c.num_events; ++e) {
            const size_t at = e * c.size + r;
            if (i <= cut) {
              EXPECT_EQ(flipped.log_p[at], base.log_p[at])
                  << what << ": labels from item " << cut << " reach item " << i;
            } else if (i == cut + 1) {
              next_moved += flipped.log_p[at] != base.log_p[at];
            }
          }
        }
      }
      EXPECT_GT(next_moved, 0u) << what << ": item " << cut << "'s labels never reach the next";
    }
    // The item field of every list's first item changed: later items move.
    data::Batch d = b;
    const size_t item_field = 1;
    const uint32_t vocab = static_cast<uint32_t>(cache.vocab_sizes().at(item_field));
    for (size_t k = 0; k + 1 < d.list_offsets.size(); ++k) {
      uint32_t& id = d.sparse[item_field].ids[d.list_offsets[k]];
      id = id % (vocab - 1) + 1;  // another known item
    }
    const model::BatchScores moved = ev.score(d);
    size_t later_moved = 0;
    for (size_t k = 0; k + 1 < d.list_offsets.size(); ++k) {
      for (uint64_t r = d.list_offsets[k] + 1; r < d.list_offsets[k + 1]; ++r) {
        later_moved += moved.log_p[r] != base.log_p[r];
      }
    }
    EXPECT_GT(later_moved, 0u) << what;
  }
}

}  // namespace
}  // namespace funnel::train
