// Fuzz target: a CSV file through the delimited reader and the row encoder, with a schema of
// every kind of column (labels, single and weighted multi-valued categoricals, a numeric, a
// group and an aux column). Only funnel::Error may come out.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "data/schema.h"
#include "fuzz_input.h"

using namespace funnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const data::DataConfig config = [] {
    data::DataConfig c =
        data::parse_data_config(nlohmann::json::parse(R"({"labels": ["click", "buy"],
            "categorical": ["user", "item", {"name": "hist", "multi": true, "weighted": true}],
            "numeric": ["price"], "group": "user", "aux": ["rid"]})"),
                                "");
    c.on_bad_row = data::BadRowPolicy::kSkip;
    return c;
  }();
  fuzz::InputFile in(data, size, ".csv");
  fuzz::read_and_encode(config, in.path());
  return 0;
}
