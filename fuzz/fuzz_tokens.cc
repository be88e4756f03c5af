// Fuzz target: a PaddleRec-style token file ("sample_id,click,buy,101:x,...") through the
// token reader and the row encoder. Only funnel::Error may come out.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "data/schema.h"
#include "fuzz_input.h"

using namespace funnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const data::DataConfig config =
      data::parse_data_config(nlohmann::json::parse(R"({"format": {"type": "tokens",
          "leading_columns": ["sample_id", "click", "buy"]},
          "labels": [{"event": "click", "column": "click"}, {"event": "buy", "column": "buy"}],
          "categorical": ["101", "205", {"name": "210", "multi": true}],
          "aux": ["sample_id"]})"),
                              "");
  fuzz::InputFile in(data, size, ".txt");
  fuzz::read_and_encode(config, in.path());
  return 0;
}
