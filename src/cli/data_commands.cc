// funnel data convert | stats

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/input_files.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/schema.h"
#include "data/stats.h"

namespace funnel::cli {
namespace {

struct DataArgs {
  std::string config;
  std::string out;
  std::string cache;
  std::string json;
  std::string on_bad_row;
  std::vector<std::string> overrides;
};

data::DataConfig load_data_config(const DataArgs& a) {
  std::vector<std::string> overrides = a.overrides;
  if (!a.on_bad_row.empty()) overrides.push_back("data.on_bad_row=" + a.on_bad_row);
  const config::Experiment e = config::load_experiment(a.config, overrides, config::Command::kData);
  const data::DataConfig& config = e.data;
  require_input_files(config, e.base_dir,
                      "use that cache (funnel data stats --cache, funnel train --cache)");
  return config;
}

void print_and_save(const data::DatasetStats& stats, const data::Layout& layout,
                    const std::string& json_path) {
  std::fputs(data::stats_table(stats, layout).c_str(), stdout);
  std::fflush(stdout);
  if (!json_path.empty()) {
    write_text_file_atomic(json_path, json_text(data::stats_to_json(stats, layout), 2) + "\n");
    log_info("stats written to " + json_path);
  }
}

}  // namespace

void add_data_commands(CLI::App& app) {
  auto* data_cmd =
      app.add_subcommand("data", "Convert logs into the binary cache, show statistics");
  data_cmd->require_subcommand(1);
  auto args = std::make_shared<DataArgs>();

  auto* convert = data_cmd->add_subcommand("convert", "Text -> binary cache + vocabularies");
  convert->add_option("--config", args->config, "Experiment config (JSON) with a data section")
      ->required()
      ->check(CLI::ExistingFile);
  convert->add_option("--out", args->out, "Cache folder to create")->required();
  convert->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  convert->add_option("--on-bad-row", args->on_bad_row, "fail (default) or skip")
      ->check(CLI::IsMember({"fail", "skip"}));
  convert->add_option("--json", args->json, "Also write the statistics as JSON to this file");
  convert->callback([args] {
    const data::DataConfig config = load_data_config(*args);
    data::ConvertOptions options;
    options.progress = log_level() <= LogLevel::kInfo;
    const data::DatasetStats stats = data::convert_to_cache(config, args->out, options);
    print_and_save(stats, data::Layout::from_schema(config.schema), args->json);
    log_info("cache written to " + args->out);
  });

  auto* stats = data_cmd->add_subcommand(
      "stats", "Rows, funnel rates, vocabulary sizes, OOV rates, bag lengths");
  auto* cfg = stats->add_option("--config", args->config, "Compute from the config's data files")
                  ->check(CLI::ExistingFile);
  auto* cache = stats->add_option("--cache", args->cache, "Read the statistics of a cache")
                    ->check(CLI::ExistingDirectory);
  cfg->excludes(cache);
  stats->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  stats->add_option("--on-bad-row", args->on_bad_row, "fail (default) or skip")
      ->check(CLI::IsMember({"fail", "skip"}));
  stats->add_option("--json", args->json, "Also write the statistics as JSON to this file");
  stats->callback([args] {
    FUNNEL_CHECK(!args->config.empty() || !args->cache.empty(), "give --config or --cache");
    if (!args->cache.empty()) {
      const data::Cache c(args->cache);
      print_and_save(data::stats_from_json(c.meta().at("stats"), c.layout()), c.layout(),
                     args->json);
      return;
    }
    // Statistics need the same pass as a conversion (vocabulary, OOV): convert into a
    // temporary cache and remove it.
    const data::DataConfig config = load_data_config(*args);
    const char* tmpdir = std::getenv("TMPDIR");
    const std::string tmp =
        join_path(tmpdir ? tmpdir : "/tmp", "funnel-stats-" + std::to_string(::getpid()));
    data::ConvertOptions options;
    options.progress = log_level() <= LogLevel::kInfo;
    data::DatasetStats st;
    try {
      st = data::convert_to_cache(config, tmp, options);
    } catch (...) {
      remove_all(tmp);
      throw;
    }
    remove_all(tmp);
    print_and_save(st, data::Layout::from_schema(config.schema), args->json);
  });
}

}  // namespace funnel::cli
