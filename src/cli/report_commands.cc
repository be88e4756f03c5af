// funnel report: one self-contained HTML page of train, search and compare folders
// (report/run_report.h, docs/report.md).

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/file.h"
#include "core/log.h"
#include "report/run_report.h"

namespace funnel::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> dirs;
  std::string out = "report.html";
  std::string title = "Funnel report";
};

}  // namespace

void add_report_commands(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report",
      "One self-contained HTML page (inline SVG and CSS, nothing fetched) of train, search or "
      "compare folders; several folders are compared on one page");
  cmd->add_option("PATH", args->dirs, "Result folders of funnel train, search or compare")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", args->out, "The HTML file to write (default: report.html)");
  cmd->add_option("--title", args->title, "The page's title");
  cmd->callback([args] {
    report::ReportOptions o;
    o.title = args->title;
    const std::string html = report::render_report(args->dirs, o);
    write_text_file_atomic(args->out, html);
    log_info("report of " + std::to_string(args->dirs.size()) +
             " folder(s): " + std::to_string(html.size() / 1024) + " KiB");
    std::printf("%s\n", args->out.c_str());
  });
}

}  // namespace funnel::cli
