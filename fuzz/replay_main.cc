// Runs the fuzz targets over files (regression inputs and seeds) without libFuzzer: the normal
// test suite replays every input that once crashed a target (tests/fuzz/<target>/) and the
// seed corpora, so that no fix can silently come undone.
//   fuzz_replay TARGET FILE_OR_DIR...
// Every target is in this one translation unit (each file's LLVMFuzzerTestOneInput renamed),
// so the JSON and data headers are compiled once for all of them.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define LLVMFuzzerTestOneInput fuzz_delimited
#include "fuzz_delimited.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_tokens
#include "fuzz_tokens.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_aliccp_raw
#include "fuzz_aliccp_raw.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_data_config
#include "fuzz_data_config.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_vocabulary
#include "fuzz_vocabulary.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cache_meta
#include "fuzz_cache_meta.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_bundle
#include "fuzz_bundle.cc"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_request
#include "fuzz_request.cc"
#undef LLVMFuzzerTestOneInput

namespace {

struct Target {
  const char* name;
  int (*run)(const uint8_t*, size_t);
};

// One line per fuzz_<name>.cc (FUNNEL_FUZZ_TARGETS in CMakeLists.txt).
constexpr Target kTargets[] = {
    {"delimited", &fuzz_delimited},     {"tokens", &fuzz_tokens},
    {"aliccp_raw", &fuzz_aliccp_raw},   {"data_config", &fuzz_data_config},
    {"vocabulary", &fuzz_vocabulary},   {"cache_meta", &fuzz_cache_meta},
    {"bundle", &fuzz_bundle},           {"request", &fuzz_request},
};

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const Target* target = nullptr;
  for (const Target& t : kTargets) {
    if (argc > 1 && std::strcmp(argv[1], t.name) == 0) target = &t;
  }
  if (target == nullptr) {
    std::fprintf(stderr, "usage: fuzz_replay TARGET FILE_OR_DIR... (targets:");
    for (const Target& t : kTargets) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, ")\n");
    return 2;
  }
  size_t n = 0;
  for (int i = 2; i < argc; ++i) {
    std::vector<fs::path> files;
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i])) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(argv[i]);
    }
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      target->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  std::printf("%s: replayed %zu inputs\n", target->name, n);
  return n > 0 ? 0 : 1;
}
