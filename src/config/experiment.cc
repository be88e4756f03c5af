#include "config/experiment.h"

#include <filesystem>

#include "core/error.h"
#include "core/file.h"

namespace funnel::config {

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  Experiment e;
  e.path = path;
  e.base_dir = std::filesystem::path(path).parent_path().string();
  const std::string text = read_text_file(path);
  try {
    e.root = nlohmann::json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& err) {
    // Translate the byte offset into line:column.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < err.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw Error(path + ":" + std::to_string(line) + ":" + std::to_string(col) +
                ": invalid JSON: " + err.what());
  }
  FUNNEL_CHECK(e.root.is_object(), path << ": the config must be a JSON object");
  for (const auto& o : overrides) apply_override(e.root, o);
  return e;
}

void apply_override(nlohmann::json& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  FUNNEL_CHECK(eq != std::string::npos && eq > 0,
               "--set expects key=value (e.g. data.vocab.min_count=11), got '" << assignment << "'");
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;  // plain strings need no quotes on the command line
  }
  nlohmann::json* node = &root;
  size_t start = 0;
  for (;;) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    FUNNEL_CHECK(!part.empty(), "--set: empty key component in '" << key << "'");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    nlohmann::json& child = (*node)[part];
    if (child.is_null()) child = nlohmann::json::object();
    FUNNEL_CHECK(child.is_object(), "--set " << key << ": '" << key.substr(0, dot)
                                             << "' is not an object in the config");
    node = &child;
    start = dot + 1;
  }
}

}  // namespace funnel::config
