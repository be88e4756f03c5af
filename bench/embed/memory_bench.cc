// Peak RSS of a 10M x 16 table with lazy Adam after every row was touched, against the raw
// bytes of weights + both moments. Usage: bench_embed_memory [num_rows] [dim]

#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "core/file.h"
#include "core/stopwatch.h"
#include "embed/embedding_table.h"

int main(int argc, char** argv) {
  using namespace funnel;
  const uint64_t rows = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  const uint32_t dim = argc > 2 ? static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10)) : 16;
  const uint64_t base = current_rss_bytes();

  Stopwatch init_clock;
  embed::EmbeddingTable table(rows, dim);  // lazy Adam, uniform init
  const double init_s = init_clock.seconds();
  const uint64_t after_init = current_rss_bytes();

  // Touch every row once, in batches of 100k single-valued ids.
  const size_t chunk = 100'000;
  std::vector<uint32_t> ids(chunk);
  std::vector<float> grad(chunk * dim, 0.01f);
  Stopwatch touch_clock;
  for (uint64_t first = 0; first < rows; first += chunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, rows - first));
    std::iota(ids.begin(), ids.begin() + n, static_cast<uint32_t>(first));
    embed::SparseInput in;
    in.ids = ids.data();
    in.num_ids = n;
    in.batch_size = n;
    table.apply_gradients(in, grad.data(), dim);
  }
  const double touch_s = touch_clock.seconds();

  const double raw = static_cast<double>(rows) * dim * sizeof(float) * 3;  // w, m, v
  const uint64_t peak = peak_rss_bytes();
  std::printf("table %llu x %u, lazy adam\n", static_cast<unsigned long long>(rows), dim);
  std::printf("raw weights+moments   %.1f MB\n", raw / 1e6);
  std::printf("table memory_bytes    %.1f MB (incl. step counts)\n", table.memory_bytes() / 1e6);
  std::printf("rss before table      %.1f MB\n", base / 1e6);
  std::printf("rss after init        %.1f MB (moments untouched: zero pages)\n", after_init / 1e6);
  std::printf("peak rss              %.1f MB\n", peak / 1e6);
  std::printf("peak rss / raw        %.3f\n", peak / raw);
  std::printf("(peak - before) / raw %.3f\n", (peak - base) / raw);
  std::printf("init %.2f s, touching all rows %.2f s (%.1f M rows/s)\n", init_s, touch_s,
              rows / touch_s / 1e6);
  return 0;
}
