// The scoring server for real, in-process on an ephemeral loopback port: answers equal the
// predict path's scores on the same rows; concurrent clients; every kind of bad request gets
// its 4xx and names the field and the item, and the server answers afterwards; reload under
// load loses no request; a bundle that fails to load keeps the old one serving; a full queue
// answers 503 with Retry-After.

#include "serve/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/nn/module.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/file.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/converter.h"
#include "model/bundle.h"
#include "model/feature_embedding.h"
#include "serve/predictor.h"
#include "serve/scores.h"

namespace funnel::serve {
namespace {

using nlohmann::json;

/// A small click -> purchase data set with every kind of field, its cache, and ESMM bundles
/// of two different initialisations (a "retrained" model for reloads).
struct Fixture {
  std::string dir, csv, bundle_a, bundle_b;
  std::vector<std::vector<std::string>> rows;  // user, item, tags, price of the CSV rows
};

Fixture* g = nullptr;

std::string write_bundle(const data::Cache& cache, const data::DataConfig& config, uint64_t seed,
                         const std::string& path) {
  torch::manual_seed(seed);
  model::FeatureEmbeddingOptions eo = model::FeatureEmbeddingOptions::from_json(json{{"dim", 4}});
  eo.table.seed = seed;
  auto emb = std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(), eo);
  const model::ModelConfig mc = model::parse_model_options("esmm", json{{"towers", {8, 4}}});
  auto net = model::make_model(mc, model::FunnelSpec::from_layout(cache.layout()),
                               emb->input_dim());
  net->eval();
  model::write_bundle(path, model::make_bundle(model::BundleSpec::of_cache(cache, config, mc, eo),
                                               *net, *emb));
  return path;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g = new Fixture;
    g->dir = join_path(::testing::TempDir(), "funnel_server_" + std::to_string(::getpid()));
    remove_all(g->dir);
    make_dirs(g->dir);
    Rng rng(5);
    std::string text = "click,purchase,user,item,tags,price\n";
    for (int i = 0; i < 3000; ++i) {
      const int u = static_cast<int>(rng.below(40)), it = static_cast<int>(rng.below(60));
      const int click = rng.uniform() < 0.3, buy = click && rng.uniform() < 0.3;
      const uint64_t ta = rng.below(5), tb = (ta + 1 + rng.below(4)) % 5;  // two distinct
      const std::string tags = "t" + std::to_string(ta) + ":0.5|t" + std::to_string(tb) + ":2";
      const std::string price = std::to_string(rng.uniform() * 100);
      text += std::to_string(click) + "," + std::to_string(buy) + ",u" + std::to_string(u) +
              ",i" + std::to_string(it) + "," + tags + "," + price + "\n";
      if (i < 64) g->rows.push_back({"u" + std::to_string(u), "i" + std::to_string(it), tags, price});
    }
    g->csv = join_path(g->dir, "data.csv");
    write_text_file_atomic(g->csv, text);
    const json data = {{"train", {g->csv}},
                       {"labels", {"click", "purchase"}},
                       {"categorical",
                        {"user", "item", {{"name", "tags"}, {"multi", true}, {"weighted", true}}}},
                       {"numeric", {"price"}},
                       {"vocab", {{"min_count", 2}}}};
    const data::DataConfig config = data::parse_data_config(data, "");
    data::ConvertOptions co;
    co.progress = false;
    data::convert_to_cache(config, join_path(g->dir, "cache"), co);
    const data::Cache cache(join_path(g->dir, "cache"));
    g->bundle_a = write_bundle(cache, config, 1, join_path(g->dir, "a.bundle"));
    g->bundle_b = write_bundle(cache, config, 2, join_path(g->dir, "b.bundle"));
  }
  static void TearDownTestSuite() {
    remove_all(g->dir);
    delete g;
  }

  /// A running server on a free loopback port for one test.
  struct Running {
    ServerMetrics metrics;
    std::unique_ptr<ScoringService> service;
    std::unique_ptr<HttpServer> server;
    std::thread thread;
    int port = 0;

    Running(const std::string& bundle, ServerOptions o = ServerOptions()) {
      o.host = "127.0.0.1";
      o.port = 0;
      service = std::make_unique<ScoringService>(
          std::vector<std::pair<std::string, std::string>>{{"m", bundle}},
          ScoringService::Options{50}, &metrics);
      server = std::make_unique<HttpServer>(*service, metrics, o);
      port = server->bind();
      thread = std::thread([this] { server->run(); });
    }
    ~Running() {
      server->stop();
      thread.join();
    }
    httplib::Client client() const {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(10, 0);
      return c;
    }
  };

  /// CSV row `r` as a request item (without its user): tags "ta:0.5|tb:2" as an object.
  static json item(size_t r) {
    const auto& row = g->rows[r];
    json tags = json::object();
    for (const std::string& pair : {row[2].substr(0, row[2].find('|')),
                                    row[2].substr(row[2].find('|') + 1)}) {
      tags[pair.substr(0, pair.find(':'))] = std::stod(pair.substr(pair.find(':') + 1));
    }
    return {{"id", r}, {"item", row[1]}, {"tags", tags}, {"price", std::stod(row[3])}};
  }
};

/// The scores `funnel predict` gives the first `n` CSV rows (its code path: score_text).
std::vector<std::vector<double>> predicted(const std::string& bundle_path, size_t n) {
  const model::LoadedBundle b = model::load_bundle(bundle_path);
  const data::DataConfig read = bundle_data_config(b, /*with_labels=*/false);
  std::vector<std::vector<double>> out;
  std::vector<double> values;
  score_text(b, read, {data::InputFile{g->csv}}, TextScoringOptions(),
             [&](const data::Batch& batch, const BatchScores& s, const std::vector<std::string>&) {
               for (size_t i = 0; i < batch.size && out.size() < n; ++i) {
                 score_values(b.funnel, s, i, values);
                 out.push_back(values);
               }
             });
  return out;
}

TEST_F(ServerTest, ScoresEqualThePredictPathOnTheSameRows) {
  Running r(g->bundle_a);
  auto c = r.client();
  const auto expected = predicted(g->bundle_a, g->rows.size());
  // One request per user: user fields shared, the rest per item.
  size_t checked = 0;
  for (size_t start = 0; start < g->rows.size(); start += 8) {
    json items = json::array();
    std::vector<size_t> idx;
    for (size_t k = start; k < start + 8 && k < g->rows.size(); ++k) {
      json it = item(k);
      it["user"] = g->rows[k][0];
      items.push_back(it);
      idx.push_back(k);
    }
    const auto res = c.Post("/v1/score", json{{"items", items}}.dump(), "application/json");
    ASSERT_TRUE(res) << "no answer";
    ASSERT_EQ(res->status, 200) << res->body;
    const json a = json::parse(res->body);
    EXPECT_EQ(a["model"], "m");
    EXPECT_EQ(a["events"], json({"click", "purchase"}));
    ASSERT_EQ(a["scores"].size(), idx.size());
    for (size_t k = 0; k < idx.size(); ++k) {
      const json& s = a["scores"][k];
      EXPECT_EQ(s["id"], idx[k]);  // request order
      EXPECT_NEAR(s["pctr"].get<double>(), expected[idx[k]][0], 1e-6);
      EXPECT_NEAR(s["pcvr"].get<double>(), expected[idx[k]][1], 1e-6);
      EXPECT_NEAR(s["pctcvr"].get<double>(), expected[idx[k]][2], 1e-6);
      ++checked;
    }
  }
  EXPECT_EQ(checked, g->rows.size());
  // The user given once for the whole request is the same as in every item.
  json items = json::array({item(0), item(1)});
  for (auto& it : items) it.erase("user");
  const auto shared = c.Post("/v1/score",
                             json{{"user", {{"user", g->rows[0][0]}}}, {"items", items}}.dump(),
                             "application/json");
  ASSERT_EQ(shared->status, 200) << shared->body;
  EXPECT_NEAR(json::parse(shared->body)["scores"][0]["pctr"].get<double>(), expected[0][0], 1e-6);
}

TEST_F(ServerTest, UnknownValuesAreCountedAndModelsDescribed) {
  Running r(g->bundle_a);
  auto c = r.client();
  json it = item(0);
  it["user"] = "never-seen";
  it["tags"] = json::array({"also-new", "t1"});
  const auto res = c.Post("/v1/score", json{{"items", {it}}}.dump(), "application/json");
  ASSERT_EQ(res->status, 200) << res->body;
  const json a = json::parse(res->body);
  EXPECT_EQ(a["unknown_values"]["user"], 1);
  EXPECT_EQ(a["unknown_values"]["tags"], 1);
  // A shared (user) value is one value of the request: counted once for three items; the
  // items' own unknown values once per item.
  json shared_req = {{"user", {{"user", "never-seen"}}}, {"items", json::array()}};
  for (int n = 0; n < 3; ++n) {
    json x = item(n);
    x.erase("user");
    x["tags"] = json::array({"new-" + std::to_string(n)});
    shared_req["items"].push_back(x);
  }
  const auto res2 = c.Post("/v1/score", shared_req.dump(), "application/json");
  ASSERT_EQ(res2->status, 200) << res2->body;
  const json a2 = json::parse(res2->body);
  EXPECT_EQ(a2["unknown_values"]["user"], 1);
  EXPECT_EQ(a2["unknown_values"]["tags"], 3);
  EXPECT_EQ(a2["scores"].size(), 3u);
  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("funnel_oov_values_total{model=\"m\",field=\"user\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("funnel_requests_total{route=\"/v1/score\",status=\"200\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.find("funnel_items_scored_total{model=\"m\"} 4"), std::string::npos);
  const json models = json::parse(c.Get("/v1/models")->body)["models"];
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["model"], "esmm");
  EXPECT_EQ(models[0]["fields"].size(), 4u);
  EXPECT_EQ(models[0]["fields"][2]["weighted"], true);
  EXPECT_EQ(c.Get("/healthz")->status, 200);
}

TEST_F(ServerTest, ConcurrentClientsAllGetTheirAnswers) {
  ServerOptions o;
  o.threads = 2;
  Running r(g->bundle_a, o);
  const auto expected = predicted(g->bundle_a, 1);
  json it = item(0);
  it["user"] = g->rows[0][0];
  const std::string body = json{{"items", {it}}}.dump();
  std::atomic<int> ok{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      auto c = r.client();
      for (int k = 0; k < 200; ++k) {
        const auto res = c.Post("/v1/score", body, "application/json");
        if (res && res->status == 200 &&
            std::abs(json::parse(res->body)["scores"][0]["pctr"].get<double>() - expected[0][0]) <
                1e-6) {
          ++ok;
        } else if (!res || res->status != 503) {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ok.load(), 8 * 200);  // 8 clients fit in the default queue: none turned away
}

TEST_F(ServerTest, BadRequestsGetA4xxNamingTheFieldAndTheItem) {
  ServerOptions o;
  o.max_body_bytes = 4096;
  Running r(g->bundle_a, o);
  auto c = r.client();
  json good = item(0);
  good["user"] = g->rows[0][0];
  auto with = [&](const std::string& key, const json& value) {
    json it = good;
    it[key] = value;
    return json{{"items", {good, it}}}.dump();
  };
  auto without = [&](const std::string& key) {
    json it = good;
    it.erase(key);
    return json{{"items", {good, it}}}.dump();
  };
  const std::string ten_mb(10 << 20, 'x');
  json many = json::array();
  for (int k = 0; k < 51; ++k) many.push_back(good);
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {"{\"items\": [", 400, "malformed JSON"},
      {"[1, 2]", 400, "JSON object"},
      {"{\"items\": []}", 400, "items: the list is empty"},
      {"{\"items\": {}}", 400, "items: required"},
      {"{}", 400, "items: required"},
      {json{{"items", {1}}}.dump(), 400, "items[0]: expected an object"},
      {json{{"model", "other"}, {"items", {good}}}.dump(), 404, "unknown model 'other'"},
      {json{{"model", 3}, {"items", {good}}}.dump(), 400, "model: expected a string"},
      {json{{"items", {good}}, {"extra", 1}}.dump(), 400, "extra: unknown key"},
      {without("price"), 400, "items[1]: field 'price' is missing"},
      {with("nosuch", 1), 400, "items[1].nosuch: unknown field"},
      {with("price", "cheap"), 400, "items[1].price: expected a number"},
      {with("price", json::array({1})), 400, "items[1].price: expected a number"},
      {with("item", 1.5), 400, "items[1].item: expected a string or an integer"},
      {with("item", json::object()), 400, "items[1].item: expected a string or an integer"},
      {with("tags", "t1"), 400, "items[1].tags: expected {value: weight"},
      {with("tags", json{{"t1", "heavy"}}), 400, "items[1].tags.t1: expected a weight"},
      {with("tags", json::array({json::array()})), 400, "items[1].tags[0]: expected a string"},
      {with("item", std::string(300, 'a')), 400, "items[1].item: value of 300 bytes"},
      {"{\"items\": [{\"item\": \"\xff\xfe\"}]}", 400, "malformed JSON"},
      {json{{"user", {{"user", "u1"}}}, {"items", {good}}}.dump(), 400,
       "items[0].user: also given in user"},
      {json{{"user", {{"user", "u1"}}}, {"context", {{"user", "u2"}}}, {"items", {item(1)}}}.dump(),
       400, "context.user: also given in user"},
      {json{{"user", 7}, {"items", {good}}}.dump(), 400, "user: expected an object"},
      {json{{"items", many}}.dump(), 413, "more than the server's limit of 50"},
      {json{{"items", {good}}, {"pad", ten_mb}}.dump(), 413, "larger than 4096 bytes"},
      {"{\"items\": [{\"id\": 1, \"price\": NaN}]}", 400, "malformed JSON"},
      // A number beyond a double: nlohmann's out_of_range, not a parse_error (fuzz finding:
      // was a 500 "internal error").
      {"{\"items\": [{\"id\": 1, \"price\": 1e400}]}", 400, "malformed JSON"},
  };
  for (const auto& [body, status, needle] : cases) {
    const auto res = c.Post("/v1/score", body, "application/json");
    ASSERT_TRUE(res) << needle;
    EXPECT_EQ(res->status, status) << needle << ": " << res->body;
    const json e = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(e.is_discarded()) << res->body;
    EXPECT_NE(e.value("error", std::string()).find(needle), std::string::npos)
        << "want '" << needle << "' in " << res->body;
    // The server still answers.
    EXPECT_EQ(c.Get("/healthz")->status, 200);
  }
  EXPECT_EQ(c.Get("/nosuch")->status, 404);
  EXPECT_EQ(c.Post("/v1/score", json{{"items", {good}}}.dump(), "application/json")->status, 200);
}

TEST_F(ServerTest, ReloadUnderLoadLosesNoRequestAndABadBundleKeepsTheOld) {
  const std::string path = join_path(g->dir, "served.bundle");
  write_text_file_atomic(path, read_text_file(g->bundle_a));
  ServerOptions o;
  o.threads = 2;
  Running r(path, o);
  const std::string v_a = r.service->get("m")->version;
  json it = item(0);
  it["user"] = g->rows[0][0];
  const std::string body = json{{"items", {it}}}.dump();
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> clients;
  std::set<std::string> versions;
  std::mutex versions_mu;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      auto c = r.client();
      while (!done) {
        const auto res = c.Post("/v1/score", body, "application/json");
        if (res && res->status == 200) {
          ++answered;
          std::lock_guard<std::mutex> lock(versions_mu);
          versions.insert(json::parse(res->body)["version"].get<std::string>());
        } else {
          ++failed;
        }
      }
    });
  }
  auto admin = r.client();
  for (int k = 0; k < 6; ++k) {
    write_text_file_atomic(path, read_text_file(k % 2 == 0 ? g->bundle_b : g->bundle_a));
    const auto res = admin.Post("/v1/reload", "", "application/json");
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(json::parse(res->body)["m"]["status"], "reloaded");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(answered.load(), 10);
  EXPECT_EQ(versions.size(), 2u);  // both bundles answered, nothing else
  // A truncated file: the reload fails, the old model keeps serving.
  const std::string v_now = r.service->get("m")->version;
  const std::string bytes = read_text_file(g->bundle_b);
  write_text_file_atomic(path, bytes.substr(0, bytes.size() / 2));
  const auto res = admin.Post("/v1/reload", json{{"model", "m"}}.dump(), "application/json");
  EXPECT_EQ(res->status, 500);
  const json rr = json::parse(res->body);
  EXPECT_EQ(rr["m"]["status"], "failed");
  EXPECT_NE(rr["m"]["error"].get<std::string>().find("truncated"), std::string::npos);
  EXPECT_EQ(rr["m"]["version"], v_now);
  const auto still = admin.Post("/v1/score", body, "application/json");
  ASSERT_EQ(still->status, 200);
  EXPECT_EQ(json::parse(still->body)["version"], v_now);
  EXPECT_NE(admin.Get("/metrics")->body.find("funnel_reload_failures_total{model=\"m\"} 1"),
            std::string::npos);
  EXPECT_EQ(admin.Post("/v1/reload", json{{"model", "x"}}.dump(), "application/json")->status,
            404);
  EXPECT_NE(v_a, std::string());
}

TEST_F(ServerTest, AFullQueueAnswers503WithRetryAfter) {
  ServerOptions o;
  o.threads = 1;
  o.queue = 0;
  o.read_timeout_seconds = 3;
  Running r(g->bundle_a, o);
  // Take the only worker: a request whose body never comes (the worker waits for it until
  // the read timeout).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(r.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string half =
      "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
  ASSERT_EQ(::send(fd, half.data(), half.size(), 0), static_cast<ssize_t>(half.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto c = r.client();
  const auto res = c.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503) << res->body;
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  EXPECT_NE(res->body.find("busy"), std::string::npos);
  ::close(fd);
  // Once the worker is free the server answers again.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  httplib::Client again("127.0.0.1", r.port);
  int status = 0;
  for (int k = 0; k < 50 && status != 200; ++k) {
    const auto ok = again.Get("/healthz");
    status = ok ? ok->status : 0;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200);
  EXPECT_NE(c.Get("/metrics"), nullptr);
}

TEST_F(ServerTest, AWaitingConnectionIsServedBeforeTheBusyOneSendsManyMore) {
  // One worker; connection A sends requests back to back on keep-alive. Connection B, which
  // arrives meanwhile, waits for the worker: it must be served after at most a few more of
  // A's requests (A's connection is closed after an answer while B waits, and A reconnects
  // behind it), not after A's next keep_alive_max (100) requests.
  ServerOptions o;
  o.threads = 1;
  o.keep_alive_max = 100;
  Running r(g->bundle_a, o);
  json it = item(0);
  it["user"] = g->rows[0][0];
  const std::string body = json{{"items", {it}}}.dump();
  std::atomic<int> a_done{0}, a_failed{0};
  std::atomic<bool> stop{false};
  std::thread a([&] {
    auto c = r.client();
    c.set_keep_alive(true);
    for (int k = 0; k < 2000 && !stop; ++k) {
      const auto res = c.Post("/v1/score", body, "application/json");
      if (res && res->status == 200) {
        ++a_done;
      } else {
        ++a_failed;
      }
    }
  });
  for (int k = 0; k < 500 && a_done < 5; ++k) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(a_done.load(), 5);
  const int before = a_done;
  auto b = r.client();
  const auto res = b.Post("/v1/score", body, "application/json");
  const int after = a_done;
  stop = true;
  a.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_LT(after - before, 20) << "B waited behind " << after - before << " of A's requests";
  EXPECT_EQ(a_failed.load(), 0);
  EXPECT_NE(b.Get("/metrics")->body.find("funnel_connections_yielded_total"), std::string::npos);
}

}  // namespace
}  // namespace funnel::serve
