#include "model/model_config.h"

#include <cxxabi.h>

#include <cstdlib>

namespace funnel::model {

// parse_model_config, parse_model_options, model_names and is_model_name read the registry
// table and live beside it (registry.cc).

nlohmann::json ModelOptions::to_json() const {
  return holder_ == nullptr ? nlohmann::json::object() : holder_->to_json();
}

std::string ModelOptions::type_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type.name();
  std::free(demangled);
  return name;
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = options.to_json();
  j["name"] = name;
  return j;
}

}  // namespace funnel::model
