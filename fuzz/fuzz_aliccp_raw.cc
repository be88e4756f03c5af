// Fuzz target: a raw Ali-CCP pair (skeleton and common-features file) through the joining
// reader and the row encoder. The input is the skeleton, a NUL byte, then the common file (no
// NUL: all skeleton, an empty common file). The schema reads single, multi-valued and
// weighted fields, a numeric value and the group, and leaves fields out on purpose (their
// entries are counted). Only funnel::Error may come out.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "data/schema.h"
#include "fuzz_input.h"

using namespace funnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const data::DataConfig config = [] {
    data::DataConfig c = data::parse_data_config(nlohmann::json::parse(R"({
        "format": "aliccp_raw",
        "labels": [{"event": "click", "column": "click"}, {"event": "buy", "column": "buy"}],
        "categorical": ["101", "205", {"name": "210", "multi": true},
                        {"name": "109_14", "multi": true, "weighted": true}],
        "numeric": ["508"], "group": "101", "aux": ["sample_id"],
        "max_unread_fields": 8, "common_cache_mb": 0})"),
                                                 "");
    c.on_bad_row = data::BadRowPolicy::kSkip;
    return c;
  }();
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t skeleton_size = nul == nullptr ? size : static_cast<size_t>(nul - data);
  const size_t common_offset = nul == nullptr ? size : skeleton_size + 1;
  fuzz::InputFile skeleton(data, skeleton_size, "-sample_skeleton_f.csv");
  fuzz::InputFile common(data + common_offset, size - common_offset, "-common_features_f.csv");
  data::InputFile file{skeleton.path()};
  file.common_path = common.path();
  fuzz::read_and_encode(config, file);
  return 0;
}
