#pragma once
// Subcommand families of the `funnel` command. Each adds its subcommands to the app and
// returns; the callback runs the command and throws funnel::Error on failure.

#include <CLI/CLI.hpp>

namespace funnel::cli {

void add_data_commands(CLI::App& app);
void add_train_commands(CLI::App& app);
void add_compare_commands(CLI::App& app);
void add_score_commands(CLI::App& app);
void add_search_commands(CLI::App& app);
void add_sim_commands(CLI::App& app);
void add_inspect_commands(CLI::App& app);
void add_serve_commands(CLI::App& app);
void add_report_commands(CLI::App& app);

}  // namespace funnel::cli
