// The `funnel` command: subcommands, error translation (one-line reason, non-zero exit).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/log.h"

#ifndef FUNNEL_VERSION
#define FUNNEL_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  funnel::tune_allocator_for_training();
  CLI::App app{"Funnel: entire-space multi-task conversion-rate models (train, search, serve)"};
  app.require_subcommand(1);
  // -q and -v also after the subcommand (`funnel train ... -q`).
  app.fallthrough();
  app.set_version_flag("--version", std::string("funnel ") + FUNNEL_VERSION);
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only errors on stderr (no progress)");
  app.add_flag("-v,--verbose", verbose, "Debug messages");
  app.parse_complete_callback([&] {
    if (quiet) funnel::set_log_level(funnel::LogLevel::kError);
    if (verbose) funnel::set_log_level(funnel::LogLevel::kDebug);
  });
  funnel::cli::add_data_commands(app);
  funnel::cli::add_train_commands(app);
  funnel::cli::add_compare_commands(app);
  funnel::cli::add_score_commands(app);
  funnel::cli::add_search_commands(app);
  funnel::cli::add_sim_commands(app);
  funnel::cli::add_inspect_commands(app);
  funnel::cli::add_serve_commands(app);
  funnel::cli::add_report_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const funnel::Error& e) {
    std::fprintf(stderr, "funnel: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "funnel: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
