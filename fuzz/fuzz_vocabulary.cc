// Fuzz target: a vocabulary file's bytes (cache/vocab/f*.vocab, also inside bundles).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "data/vocabulary.h"
#include "fuzz_input.h"

using namespace funnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const data::Vocabulary v = data::Vocabulary::deserialize(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.vocab");
    for (uint64_t k = 0; k < 16; ++k) (void)v.id(k * 0x9e3779b97f4a7c15ULL);
  } catch (const Error& e) {
    fuzz::caught(e);
  }
  return 0;
}
