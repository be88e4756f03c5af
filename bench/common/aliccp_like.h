#pragma once
// Ali-CCP-shaped CSV for the benchmarks (bench/data, bench/train): click, purchase and the 18
// single-valued fields of the AITM preprocessing, with heavy-tailed ids over the real data
// set's vocabulary sizes (~4 % CTR, ~0.6 % CVR given click). Header-only; benchmarks only.

#include <cmath>
#include <cstdint>
#include <string>

#include "core/file.h"
#include "core/rng.h"

namespace funnel::bench {

struct Field {
  const char* name;
  uint64_t vocab;
};
// Vocabulary sizes after the AITM preprocessing of the full data (real-samples/README.md).
constexpr Field kFields[] = {{"101", 238635}, {"121", 98},    {"122", 14},     {"124", 3},
                             {"125", 8},      {"126", 4},     {"127", 4},      {"128", 3},
                             {"129", 5},      {"205", 467298}, {"206", 6929},  {"207", 263942},
                             {"216", 106399}, {"508", 5888},  {"509", 104830}, {"702", 51878},
                             {"853", 37148},  {"301", 4}};

inline char* put_uint(char* p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = tmp[--n];
  return p;
}

inline void generate_csv(const std::string& path, uint64_t rows, uint64_t seed) {
  Rng rng(seed);
  FileWriter w(path, size_t{4} << 20);
  std::string header = "click,purchase";
  for (const auto& f : kFields) header += std::string(",") + f.name;
  w.write(header + "\n");
  char line[512];
  for (uint64_t r = 0; r < rows; ++r) {
    const bool click = rng.uniform() < 0.04;
    const bool buy = click && rng.uniform() < 0.006;  // CVR given click ~0.6 %
    char* p = line;
    *p++ = click ? '1' : '0';
    *p++ = ',';
    *p++ = buy ? '1' : '0';
    for (const auto& f : kFields) {
      *p++ = ',';
      // Zipf-like: id = floor(vocab^u) - 1 is log-uniform, a heavy head and a long tail.
      const double u = rng.uniform();
      const auto id = static_cast<uint64_t>(std::pow(static_cast<double>(f.vocab), u)) - 1;
      p = put_uint(p, id * 7919 % (f.vocab * 4) + 1);  // raw ids are not dense
    }
    *p++ = '\n';
    w.write(line, static_cast<size_t>(p - line));
  }
  w.close();
}

}  // namespace funnel::bench
