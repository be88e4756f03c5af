#pragma once
// JSON text for files and answers. Never throws on a string that is not valid UTF-8 (a value
// echoed from bad input): such bytes are replaced (U+FFFD), as the writers of every output
// file and HTTP answer need.

#include <nlohmann/json.hpp>
#include <string>

namespace funnel {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace funnel
