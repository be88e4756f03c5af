// Where a scoring request's time goes inside `funnel serve`, without HTTP or a client on the
// same cores: each request of a file is parsed, encoded and scored on one thread, as the
// server's handler does (serve/service.cc), and scored a second time with the shared user and
// context columns' part of the first layer computed per item instead of once per request
// (data::Batch::uniform_sparse cleared): the reference, measured in the same run on the same
// batches. The two scores must agree to 1e-5 (they differ by float rounding only).
//
//   score_bench --bundle RUN/model.bundle --requests FILE.jsonl [--repeat 20]
//
// FILE.jsonl: one /v1/score body per line (load_client --write-requests). Prints one JSON
// object: per phase the mean, p50 and p99 milliseconds per request over repeat x requests.

#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bundle.h"
#include "serve/predictor.h"
#include "serve/request.h"

namespace {

using namespace funnel;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

nlohmann::json summary(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  return {{"mean_ms", sum / v.size()}, {"p50_ms", at(0.5)}, {"p99_ms", at(0.99)}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string bundle_path, requests_path;
  int repeat = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--bundle") == 0) bundle_path = argv[i + 1];
    if (std::strcmp(argv[i], "--requests") == 0) requests_path = argv[i + 1];
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::atoi(argv[i + 1]);
  }
  if (bundle_path.empty() || requests_path.empty() || repeat < 1) {
    std::fprintf(stderr, "usage: score_bench --bundle B --requests FILE.jsonl [--repeat N]\n");
    return 2;
  }
  try {
    torch::set_num_threads(1);  // as the server: one LibTorch thread per request
    const model::LoadedBundle bundle = model::load_bundle(bundle_path);
    const serve::RequestEncoder encoder(bundle, bundle.net->reads_lists());
    const serve::Predictor predictor(bundle);
    std::vector<std::string> bodies;
    std::ifstream in(requests_path);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) bodies.push_back(line);
    }
    if (bodies.empty()) throw std::runtime_error(requests_path + ": no requests");
    std::map<std::string, std::vector<double>> ms;
    double worst = 0;
    size_t items = 0;
    for (int r = 0; r < repeat; ++r) {
      for (const std::string& body : bodies) {
        auto t = Clock::now();
        const nlohmann::json j = serve::parse_request_body(body);
        ms["parse"].push_back(ms_since(t));
        t = Clock::now();
        const serve::EncodedRequest req = encoder.encode(j, 100000);
        ms["encode"].push_back(ms_since(t));
        // Both ways on the same batch, in alternating order (neither always finds the
        // caches warm from the other).
        model::BatchScores once, per_item;
        data::Batch plain = req.batch;
        plain.uniform_sparse.clear();
        plain.uniform_dense.clear();
        for (int k = 0; k < 2; ++k) {
          const bool factored = (k == 0) == (r % 2 == 0);
          t = Clock::now();
          (factored ? once : per_item) = predictor.score(factored ? req.batch : plain);
          ms[factored ? "forward" : "forward_per_item"].push_back(ms_since(t));
        }
        for (size_t k = 0; k < once.log_p.size(); ++k) {
          worst = std::max<double>(worst, std::fabs(std::exp(once.log_p[k]) -
                                                    std::exp(per_item.log_p[k])));
        }
        if (r == 0) items += req.batch.size;
      }
    }
    nlohmann::json out = {{"requests", bodies.size()},
                          {"items_per_request", static_cast<double>(items) / bodies.size()},
                          {"repeat", repeat},
                          {"max_abs_diff", worst}};
    for (auto& [phase, v] : ms) out[phase] = summary(v);
    std::printf("%s\n", out.dump().c_str());
    if (worst > 1e-5) {
      std::fprintf(stderr, "score_bench: the two forwards differ by %g > 1e-5\n", worst);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "score_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
