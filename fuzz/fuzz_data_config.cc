// Fuzz target: the "data" section of an experiment (schema, format, files, options) as JSON
// text. Malformed JSON is the JSON parser's to refuse; a parsed value must give a config or
// a funnel::Error naming the key, never another exception.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "data/schema.h"
#include "fuzz_input.h"

using namespace funnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  // A whole experiment file (the seeds are examples/*.json): its data section.
  if (j.is_object() && j.contains("data")) j = j["data"];
  try {
    const data::DataConfig c = data::parse_data_config(j, "/base");
    (void)data::data_config_to_json(c).dump();
  } catch (const Error& e) {
    fuzz::caught(e);
  }
  return 0;
}
