// Writes a synthetic raw Ali-CCP split in the exact byte format of the public data set:
//
//   gen_aliccp_raw --rows N --users U --out-dir DIR --seed S [--split train]
//
// -> DIR/sample_skeleton_<split>.csv and DIR/common_features_<split>.csv, with the 23 fields,
// heavy-tailed (log-uniform, Zipf exponent 1) feature ids, ~4 % clicks, ~0.5 % of clicks
// converting, and common lines of a few hundred weighted history entries, like the real
// files. Output depends only on the arguments. For benchmarks and tests of the raw reader;
// it carries no learnable ground truth (the funnel simulator in sim/ does).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/rng.h"
#include "core/stopwatch.h"

namespace {

using funnel::mix64;
using funnel::Rng;

struct Field {
  const char* name;
  uint64_t vocab;
  uint64_t base = 0;  // first global feature id of the field
};

// Vocabulary sizes close to the full data set's (README: AITM preprocessing).
// clang-format off
enum FieldId {
  k101, k121, k122, k124, k125, k126, k127, k128, k129,      // user profile
  k109_14, k110_14, k127_14, k150_14,                        // user histories (weighted)
  k205, k206, k207, k210, k216,                              // item
  k508, k509, k702, k853,                                    // combinations
  k301,                                                      // context (position)
  kNumFields
};
// clang-format on
Field g_fields[kNumFields] = {
    {"101", 0},         {"121", 98},        {"122", 14},       {"124", 3},      {"125", 8},
    {"126", 4},         {"127", 4},         {"128", 3},        {"129", 5},      {"109_14", 6929},
    {"110_14", 263942}, {"127_14", 106399}, {"150_14", 37148}, {"205", 467298}, {"206", 6929},
    {"207", 263942},    {"210", 37148},     {"216", 106399},   {"508", 5888},   {"509", 104830},
    {"702", 51878},     {"853", 37148},     {"301", 4},
};
// A prime above every vocabulary: rank -> id is a bijection that scatters frequent ids.
constexpr uint64_t kScatter = 1000003;

/// Appends decimal digits of v.
inline void put_u64(std::string& out, uint64_t v) {
  char buf[24];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, static_cast<size_t>(buf + sizeof buf - p));
}

/// Rank in [0, n) with P(rank = k) ~ 1 / (k + 1) (log-uniform).
inline uint64_t zipf(Rng& rng, uint64_t n) {
  const double x = std::exp(rng.uniform() * std::log(static_cast<double>(n) + 1.0)) - 1.0;
  const auto k = static_cast<uint64_t>(x);
  return k < n ? k : n - 1;
}

inline uint64_t feature_id(int field, uint64_t rank) {
  const Field& f = g_fields[field];
  return f.base + (rank * kScatter) % f.vocab;
}

class ListWriter {
 public:
  void clear() {
    list_.clear();
    count_ = 0;
  }
  /// field 0x02 feature 0x03 value
  void add(int field, uint64_t rank, std::string_view value = "1.0") {
    if (count_++ > 0) list_ += '\x01';
    list_ += prefix_[field];
    put_u64(list_, feature_id(field, rank));
    list_ += '\x03';
    list_ += value;
  }
  const std::string& list() const { return list_; }
  uint64_t count() const { return count_; }

 private:
  std::string list_;
  uint64_t count_ = 0;
  // "field\x02" of every field.
  std::vector<std::string> prefix_ = [] {
    std::vector<std::string> p;
    for (const auto& f : g_fields) p.push_back(std::string(f.name) + '\x02');
    return p;
  }();
};

std::string md5_hex(uint64_t seed, uint64_t user) {
  static const char kHex[] = "0123456789abcdef";
  uint64_t w[2] = {mix64(seed ^ mix64(user * 2 + 1)), mix64(~seed ^ mix64(user * 2 + 2))};
  std::string s(32, '0');
  for (int i = 0; i < 32; ++i) s[i] = kHex[(w[i / 16] >> (60 - 4 * (i % 16))) & 15];
  return s;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "%s\nusage: gen_aliccp_raw --rows N --users U --out-dir DIR --seed S "
               "[--split NAME]\n",
               msg);
  std::exit(2);
}

uint64_t parse_u64(const char* flag, const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') usage((std::string("bad value for ") + flag).c_str());
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 0, users = 0, seed = 1;
  std::string out_dir, split = "train";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const char* v = argv[++i];
    if (a == "--rows")
      rows = parse_u64("--rows", v);
    else if (a == "--users")
      users = parse_u64("--users", v);
    else if (a == "--seed")
      seed = parse_u64("--seed", v);
    else if (a == "--out-dir")
      out_dir = v;
    else if (a == "--split")
      split = v;
    else
      usage(("unknown flag " + a).c_str());
  }
  if (rows == 0 || users == 0 || out_dir.empty())
    usage("--rows, --users and --out-dir are required");
  if (users % kScatter == 0) usage("--users must not be a multiple of 1000003");

  try {
    funnel::Stopwatch watch;
    funnel::make_dirs(out_dir);
    g_fields[k101].vocab = users;
    uint64_t next_base = 1;
    for (auto& f : g_fields) {
      f.base = next_base;
      next_base += f.vocab;
    }
    // ln(1 + count), the weights of history entries, 5 decimals like the real files.
    std::vector<std::string> weight_text(33);
    for (int c = 1; c <= 32; ++c) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.5f", std::log1p(static_cast<double>(c)));
      weight_text[c] = buf;
    }

    // Common features: one line per user (its md5 names the user state).
    const std::string common_path = funnel::join_path(out_dir, "common_features_" + split + ".csv");
    funnel::FileWriter common(common_path, size_t{8} << 20);
    std::vector<std::string> md5(users);
    std::vector<float> user_affinity(users);
    ListWriter list;
    std::string line;
    constexpr int kHistory[] = {k109_14, k110_14, k127_14, k150_14};
    constexpr double kHistoryMean[] = {40, 100, 80, 80};
    for (uint64_t u = 0; u < users; ++u) {
      Rng rng(seed ^ mix64(u + 0x51ed));
      md5[u] = md5_hex(seed, u);
      user_affinity[u] = static_cast<float>(0.5 + rng.uniform());
      list.clear();
      list.add(k101, u);
      for (int f = k121; f <= k129; ++f) list.add(f, zipf(rng, g_fields[f].vocab));
      const double activity = 0.25 + 1.5 * rng.uniform();
      for (int h = 0; h < 4; ++h) {
        const auto n = static_cast<uint64_t>(kHistoryMean[h] * activity);
        for (uint64_t j = 0; j < n; ++j) {
          // Counts: mostly 1, a tail up to 32.
          const uint64_t count = std::min<uint64_t>(32, 1 + zipf(rng, 64) / 2);
          list.add(kHistory[h], zipf(rng, g_fields[kHistory[h]].vocab), weight_text[count]);
        }
      }
      line.clear();
      line += md5[u];
      line += ',';
      put_u64(line, list.count());
      line += ',';
      common.write(line);
      common.write(list.list());
      common.write("\n", 1);
    }
    common.close();

    // Skeleton: sessions of consecutive impressions of one user (they share the md5).
    const std::string skeleton_path =
        funnel::join_path(out_dir, "sample_skeleton_" + split + ".csv");
    funnel::FileWriter skeleton(skeleton_path, size_t{8} << 20);
    Rng rng(seed);
    uint64_t clicks = 0, buys = 0, user = 0, session_left = 0;
    for (uint64_t r = 0; r < rows; ++r) {
      if (session_left == 0) {
        // Half uniform (every user appears), half heavy-tailed (active users).
        user = rng.uniform() < 0.5 ? rng.below(users) : (zipf(rng, users) * kScatter) % users;
        session_left = 1 + static_cast<uint64_t>(-std::log(1.0 - rng.uniform()) * 9.0);
      }
      --session_left;
      const uint64_t item = zipf(rng, g_fields[k205].vocab);
      const uint64_t h = mix64(item + 0x1234);
      const float quality = 0.5f + static_cast<float>(h >> 40) * 0x1.0p-24f;
      const bool click = rng.uniform() < 0.04 * user_affinity[user] * quality;
      const bool buy = click && rng.uniform() < 0.005 * quality;
      clicks += click;
      buys += buy;

      list.clear();
      const uint64_t category = (h & 0xffff) * (h & 0xffff) % g_fields[k206].vocab;
      list.add(k205, item);
      list.add(k206, category);
      list.add(k207, (h >> 16) % g_fields[k207].vocab);
      if ((h >> 60) != 0) list.add(k216, (h >> 20) % g_fields[k216].vocab);  // brand often known
      const int intentions = 1 + static_cast<int>((h >> 58) & 1) + static_cast<int>((h >> 59) & 1);
      for (int i = 0; i < intentions; ++i) {
        list.add(k210, mix64(h + static_cast<uint64_t>(i)) % g_fields[k210].vocab);
      }
      // Cross features exist when the user's history matches the item (about half the time).
      const uint64_t uh = mix64(user * 0x9e37 + category);
      if (uh & 1) list.add(k508, uh % g_fields[k508].vocab, weight_text[1 + (uh >> 8) % 4]);
      if (uh & 2) list.add(k509, (uh >> 3) % g_fields[k509].vocab);
      if (uh & 4) list.add(k702, (uh >> 5) % g_fields[k702].vocab);
      if (uh & 8) list.add(k853, (uh >> 7) % g_fields[k853].vocab);
      list.add(k301, rng.below(4));

      line.clear();
      put_u64(line, r + 1);
      line += click ? ",1," : ",0,";
      line += buy ? '1' : '0';
      line += ',';
      line += md5[user];
      line += ',';
      put_u64(line, list.count());
      line += ',';
      skeleton.write(line);
      skeleton.write(list.list());
      skeleton.write("\n", 1);
    }
    skeleton.close();
    const double secs = watch.seconds();
    std::printf("wrote %s (%.1f MB, %llu rows, %llu clicks, %llu buys)\n", skeleton_path.c_str(),
                static_cast<double>(funnel::file_size(skeleton_path)) / 1e6,
                static_cast<unsigned long long>(rows), static_cast<unsigned long long>(clicks),
                static_cast<unsigned long long>(buys));
    std::printf("wrote %s (%.1f MB, %llu lines)\n", common_path.c_str(),
                static_cast<double>(funnel::file_size(common_path)) / 1e6,
                static_cast<unsigned long long>(users));
    std::printf("%.2f s, %.2f M rows/s\n", secs, static_cast<double>(rows) / secs / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gen_aliccp_raw: %s\n", e.what());
    return 1;
  }
  return 0;
}
