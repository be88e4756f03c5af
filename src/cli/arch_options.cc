#include "cli/arch_options.h"

#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "model/autoheri.h"
#include "model/autoheri_arch.h"
#include "model/bundle.h"

namespace funnel::cli {

void apply_arch_file(const std::string& arch_file, nlohmann::json& root) {
  const model::AutoHeriArch arch = model::AutoHeriArch::load(arch_file);
  nlohmann::json& section = root["model"];
  if (!section.is_object()) section = nlohmann::json::object();
  const std::string name = section.value("name", std::string());
  if (name != "autoheri") {
    log_info("--arch: training autoheri with " + arch_file + " instead of model '" + name +
             "' (its dropout and activation, and an edge_init, are kept)");
    nlohmann::json kept = {{"name", "autoheri"}};
    for (const char* k : {"dropout", "activation", "edge_init"}) {
      if (section.contains(k)) kept[k] = section[k];
    }
    section = kept;
  }
  // The architecture decides the shape; the search-only keys mean nothing for fixed masks.
  for (const char* k : {"towers", "scheme", "skip", "alpha_init", "entropy_weight"}) {
    section.erase(k);
  }
  section["alpha"] = "fixed";
  section["arch"] = arch.to_json();
}

void init_from_searched_bundle(const std::string& bundle_file, model::FunnelModel& net,
                               model::FeatureEmbedding& embedding) {
  const model::LoadedBundle b = model::load_bundle(bundle_file);
  try {
    model::copy_weights_by_name(*b.net, net);
  } catch (const Error& e) {
    throw Error(bundle_file + ": " + e.what());
  }
  std::stringstream tables;
  b.embedding->save(tables, /*with_optimizer_state=*/false);
  embedding.load(tables);
}

}  // namespace funnel::cli
