#pragma once
// `funnel train --workers N`: N processes of this executable on this machine, one rank each,
// meeting at a TCPStore on loopback that this (parent) process holds. The parent waits for
// them; when one fails (an error, a signal, kill -9) it stops the others and reports which
// rank failed and how, so a run never hangs on a dead rank.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace funnel::cli {

struct WorkerLaunch {
  /// The subcommand and its arguments for every child ("train", "--config", ...); each gets
  /// --rank, --world-size, --master and --held-by-parent added (and -q beyond rank 0).
  std::vector<std::string> args;
  int workers = 2;
  double timeout_seconds = 60;
};

/// Runs the workers to the end. Returns normally when every rank exited 0; throws
/// funnel::Error naming the first rank that failed otherwise (after stopping the rest).
void run_workers(const WorkerLaunch& launch);

/// Adds --workers to a command that does not train data-parallel yet: given, it fails with
/// `reason` (what to do instead), not with "unknown option".
void add_unsupported_workers(CLI::App& command, const std::string& reason);

}  // namespace funnel::cli
