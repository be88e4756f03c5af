// funnel eval | predict: score text with a model bundle.

#include <cmath>
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
#include "core/stopwatch.h"
#include "data/schema.h"
#include "metric/curves.h"
#include "metric/funnel_metrics.h"
#include "model/bundle.h"
#include "model/evaluator.h"
#include "model/predictions.h"
#include "serve/predictor.h"
#include "serve/scores.h"

namespace funnel::cli {
namespace {

struct ScoreArgs {
  std::string bundle, config, split = "test", json, curves, input, out, id_column, on_bad_row;
  std::vector<std::string> overrides;
};

}  // namespace

void add_score_commands(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();

  auto* eval = app.add_subcommand("eval", "Evaluate a model bundle on a split of a config");
  eval->add_option("--bundle", args->bundle, "RUN_DIR/model.bundle")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("--config", args->config, "Experiment config whose data files to read")
      ->required()
      ->check(CLI::ExistingFile);
  eval->add_option("--split", args->split, "train, validation or test (default test)")
      ->check(CLI::IsMember({"train", "validation", "test"}));
  eval->add_option("--json", args->json, "Write the metrics as JSON to this file");
  eval->add_option("--curves", args->curves,
                   "Write the reliability bins and ROC curves as JSON to this file (the format "
                   "of a run's curves.json, which funnel report draws)");
  eval->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  eval->callback([args] {
    const model::LoadedBundle bundle = model::load_bundle(args->bundle);
    const config::Experiment e =
        config::load_experiment(args->config, args->overrides, config::Command::kEval);
    const data::DataConfig& cfg = e.data;
    const std::vector<data::InputFile>& files = args->split == "train"        ? cfg.train
                                                : args->split == "validation" ? cfg.validation
                                                                              : cfg.test;
    FUNNEL_CHECK(!files.empty(), args->config << ": the " << args->split
                                              << " split has no files (a validation_ratio split "
                                                 "exists only in the training cache)");
    require_input_files(files, "data." + args->split, e.base_dir,
                        "eval reads text: rerun funnel simulate with --csv");
    data::DataConfig read = serve::bundle_data_config(bundle, /*with_labels=*/true);
    read.format = cfg.format;
    read.on_bad_row = cfg.on_bad_row;
    read.keep_funnel_violations = cfg.keep_funnel_violations;
    // Simulated data: the oracle (true probabilities in the rows) next to the model.
    const bool has_truth = bundle.layout.has_truth() && !cfg.schema.truth_columns.empty();
    model::PredictionCollector collector(bundle.layout, has_truth);
    Stopwatch watch;
    serve::TextScoringOptions so;
    so.with_labels = true;
    so.with_aux = has_truth;
    std::vector<uint64_t> unknown;
    so.unknown_values = &unknown;
    const uint64_t bad =
        serve::score_text(bundle, read, files, so,
                          [&](const data::Batch& b, const serve::BatchScores& s,
                              const std::vector<std::string>&) { collector.add(b, s); });
    const model::Evaluator evaluator(*bundle.net, *bundle.embedding, bundle.funnel);
    nlohmann::json out;
    out[args->split] = evaluator.metrics(collector.predictions());
    out["rows"] = collector.rows();
    out["bad_rows_skipped"] = bad;
    out["unknown_values"] = serve::unknown_values_json(bundle.layout, unknown);
    if (!out["unknown_values"].empty()) {
      log_info("values unseen in training (out-of-vocabulary id): " +
               json_text(out["unknown_values"]));
    }
    out["seconds"] = watch.seconds();
    nlohmann::json table = {{args->split, out[args->split]}};
    if (has_truth) {
      out["oracle"] = evaluator.metrics(collector.truth());
      table[args->split + " (oracle)"] = out["oracle"];
    }
    std::fputs(metric::funnel_metrics_table(table).c_str(), stdout);
    if (!args->json.empty()) write_text_file_atomic(args->json, json_text(out, 2) + "\n");
    if (!args->curves.empty()) {
      const nlohmann::json curves = {
          {"split", args->split},
          {"entries", metric::funnel_curves(collector.predictions(), bundle.funnel.events,
                                            bundle.funnel.parents)}};
      write_text_file_atomic(args->curves, json_text(curves) + "\n");
    }
  });

  auto* predict = app.add_subcommand("predict", "Write pCTR, pCVR, pCTCVR for every input row");
  predict->add_option("--bundle", args->bundle, "RUN_DIR/model.bundle")
      ->required()
      ->check(CLI::ExistingFile);
  predict->add_option("--input", args->input, "Input file in the training format")
      ->required()
      ->check(CLI::ExistingFile);
  predict->add_option("--out", args->out, "Output CSV (or .tsv for tabs; - for stdout)")
      ->required();
  predict->add_option("--id-column", args->id_column, "Input column written first on each row");
  predict->add_option("--on-bad-row", args->on_bad_row, "fail (default) or skip")
      ->check(CLI::IsMember({"fail", "skip"}));
  predict->callback([args] {
    const model::LoadedBundle bundle = model::load_bundle(args->bundle);
    // A list model reads its lists (and, with observed feedback, the labels of earlier items).
    data::DataConfig read = serve::bundle_data_config(
        bundle, /*with_labels=*/bundle.net->reads_feedback(), bundle.net->reads_lists());
    if (args->on_bad_row == "skip") read.on_bad_row = data::BadRowPolicy::kSkip;
    const char sep =
        args->out.size() > 4 && args->out.substr(args->out.size() - 4) == ".tsv" ? '\t' : ',';
    // A skipped row has no output line: without an id the lines would not match the input's.
    FUNNEL_CHECK(args->on_bad_row != "skip" || !args->id_column.empty(),
                 "predict --on-bad-row skip needs --id-column (a skipped row writes no line, "
                 "so only an id says which input row a line scores)");
    uint64_t rows = 0, bad = 0;
    std::vector<uint64_t> unknown;
    Stopwatch watch;
    auto write = [&](FileWriter& w) {
      const auto cols = serve::score_names(bundle.funnel);
      std::string header = args->id_column.empty() ? "" : args->id_column + sep;
      for (size_t c = 0; c < cols.size(); ++c) header += (c ? std::string(1, sep) : "") + cols[c];
      w.write(header + "\n");
      serve::TextScoringOptions so;
      so.id_column = args->id_column;
      so.unknown_values = &unknown;
      std::vector<double> values;
      char buf[32];
      bad = serve::score_text(bundle, read, {data::InputFile{args->input}}, so,
                              [&](const data::Batch& b, const serve::BatchScores& s,
                                  const std::vector<std::string>& ids) {
                                for (size_t i = 0; i < b.size; ++i) {
                                  std::string line = args->id_column.empty() ? "" : ids[i] + sep;
                                  serve::score_values(bundle.funnel, s, i, values);
                                  for (size_t c = 0; c < values.size(); ++c) {
                                    std::snprintf(buf, sizeof buf, "%s%.6g",
                                                  c ? std::string(1, sep).c_str() : "", values[c]);
                                    line += buf;
                                  }
                                  w.write(line + "\n");
                                }
                                rows += b.size;
                              });
    };
    try {
      if (args->out == "-") {
        FileWriter w("/dev/stdout");
        write(w);
        w.close();
      } else {
        write_file_atomic(args->out, write);
      }
    } catch (const DataError& e) {
      // The id column is read as an extra auxiliary column: say what the user asked for.
      if (e.kind() != "missing_column" || e.column() != args->id_column) throw;
      throw Error("--id-column " + args->id_column + ": " + e.file() + " has no column '" +
                  args->id_column + "'");
    }
    log_info("wrote " + std::to_string(rows) + " predictions to " +
             (args->out == "-" ? std::string("stdout") : args->out) + " (" +
             std::to_string(static_cast<uint64_t>(rows / std::max(watch.seconds(), 1e-9))) +
             " rows/s" + (bad ? ", " + std::to_string(bad) + " bad rows skipped" : "") + ")");
    const nlohmann::json unseen = serve::unknown_values_json(bundle.layout, unknown);
    if (!unseen.empty()) {
      log_info("values unseen in training (out-of-vocabulary id): " + json_text(unseen));
    }
  });
}

}  // namespace funnel::cli
