#pragma once
// `funnel report`: one self-contained HTML page of one or more result folders, drawn from the
// JSON they hold (docs/report.md lists what each section reads):
//   train run   metrics.json, log.jsonl, loss.jsonl, curves.json (gates.json of TAML)
//   search run  metrics.json with "arch", arch.svg, alpha.jsonl, search_log.jsonl,
//               search_loss.jsonl
//   compare     compare.json (and runs/*/log.jsonl)
// Every section and figure has an id: "<section>-<k>" and "fig-<name>-<k>" for the k-th folder
// (from 1), "overview" and "fig-overview-validation" when there are several.

#include <string>
#include <vector>

namespace funnel::report {

enum class RunKind { kTrain, kSearch, kCompare };
const char* run_kind_name(RunKind kind);

/// What a folder holds: compare.json -> compare; metrics.json with "arch" -> search;
/// metrics.json -> train. Throws funnel::Error naming the folder otherwise.
RunKind detect_run_kind(const std::string& dir);

struct ReportOptions {
  std::string title = "Funnel report";
};

/// The page. Throws funnel::Error naming the file (and line of a JSONL log) that is missing
/// or broken.
std::string render_report(const std::vector<std::string>& dirs, const ReportOptions& options = {});

}  // namespace funnel::report
