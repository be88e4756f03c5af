// Latency and bandwidth of Funnel's collectives over Gloo on loopback: two (or --ranks) ranks
// as threads of one process, each call timed over repeats, for message sizes from 8 B to
// 16 MB. Prints a JSON line per (collective, bytes): the seconds per call, from which
// docs/distributed.md fits cost = alpha + bytes / bandwidth.
//   comm_bench [--ranks 2] [--budget 0.5]

#include <torch/types.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dist/process_group.h"

int main(int argc, char** argv) {
  int ranks = 2;
  double budget = 0.5;  // seconds per measurement at most
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--ranks") == 0) ranks = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--budget") == 0) budget = std::atof(argv[i + 1]);
  }
  torch::set_num_threads(1);
  auto comms = funnel::dist::in_process_gloo(ranks, 60);
  for (const char* op : {"all_reduce", "all_to_all"}) {
    for (int64_t bytes = 8; bytes <= (int64_t{16} << 20); bytes *= 8) {
      const int64_t floats = std::max<int64_t>(ranks, bytes / 4);
      std::vector<double> seconds(ranks);
      std::vector<int> calls(ranks);
      std::vector<std::thread> threads;
      for (int r = 0; r < ranks; ++r) {
        threads.emplace_back([&, r] {
          funnel::dist::Communicator& c = *comms[r];
          torch::Tensor t = torch::ones({floats}, torch::kFloat32);
          std::vector<int64_t> splits(ranks, floats / ranks);
          splits.back() += floats - (floats / ranks) * ranks;
          // Rank r sends equal parts; the remainder goes to the last rank.
          std::vector<int64_t> recv_splits(ranks, floats / ranks);
          if (r == ranks - 1) {
            for (auto& s : recv_splits) s += floats - (floats / ranks) * ranks;
          }
          auto call = [&] {
            if (std::strcmp(op, "all_reduce") == 0) {
              c.all_reduce_sum(t);
            } else {
              torch::Tensor out;
              c.all_to_all(t, splits, out, recv_splits);
            }
          };
          // 10 calls to calibrate; rank 0's estimate of the calls that fill the budget is
          // everyone's count, then those calls are timed with nothing else in between.
          auto t0 = std::chrono::steady_clock::now();
          for (int k = 0; k < 10; ++k) call();
          const double per =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 10;
          torch::Tensor count =
              torch::full({1}, static_cast<int64_t>(std::max(10.0, std::min(1e5, budget / per))),
                          torch::kInt64);
          c.broadcast(count, 0);
          const int n = static_cast<int>(count[0].item<int64_t>());
          c.barrier();
          const auto start = std::chrono::steady_clock::now();
          for (int k = 0; k < n; ++k) call();
          seconds[r] =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          calls[r] = n;
        });
      }
      for (auto& th : threads) th.join();
      std::printf(
          "{\"op\": \"%s\", \"ranks\": %d, \"bytes\": %lld, \"calls\": %d, "
          "\"seconds_per_call\": %.3e}\n",
          op, ranks, static_cast<long long>(floats * 4), calls[0], seconds[0] / calls[0]);
      std::fflush(stdout);
    }
  }
  return 0;
}
