#include "cli/workers.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "dist/process_group.h"

namespace funnel::cli {
namespace {

std::string this_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  FUNNEL_CHECK(n > 0, "cannot find this executable (/proc/self/exe): " << std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

}  // namespace

void run_workers(const WorkerLaunch& launch) {
  const int n = launch.workers;
  FUNNEL_CHECK(n >= 1, "--workers must be >= 1, got " << n);
  const std::string exe = this_executable();
  const dist::StoreServer store("127.0.0.1", n, launch.timeout_seconds);
  const std::string master = "127.0.0.1:" + std::to_string(store.port());
  log_info("starting " + std::to_string(n) + " workers (rendezvous at " + master + ")");

  std::vector<pid_t> pids(n, -1);
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> args = {exe};
    args.insert(args.end(), launch.args.begin(), launch.args.end());
    const std::vector<std::string> rank_args = {
        "--rank",         std::to_string(r),
        "--world-size",   std::to_string(n),
        "--master",       master,
        "--dist-timeout", std::to_string(launch.timeout_seconds)};
    args.insert(args.end(), rank_args.begin(), rank_args.end());
    args.push_back("--held-by-parent");
    // Rank 0 speaks for the run, as loudly as this process was asked to.
    if (r > 0 || log_level() >= LogLevel::kError) args.push_back("-q");
    if (r == 0 && log_level() <= LogLevel::kDebug) args.push_back("-v");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    FUNNEL_CHECK(pid >= 0, "cannot start worker " << r << ": " << std::strerror(errno));
    if (pid == 0) {
      ::execv(exe.c_str(), argv.data());
      std::fprintf(stderr, "funnel: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    pids[r] = pid;
  }

  // Supervise: the first rank to fail stops the others (SIGTERM, then SIGKILL after 10 s).
  int alive = n, failed = -1;
  std::string why;
  std::chrono::steady_clock::time_point kill_at{};
  while (alive > 0) {
    int status = 0;
    const pid_t p = ::waitpid(-1, &status, WNOHANG);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p == 0) {
      if (failed >= 0 && std::chrono::steady_clock::now() >= kill_at) {
        for (pid_t q : pids) {
          if (q > 0) ::kill(q, SIGKILL);
        }
        kill_at = std::chrono::steady_clock::now() + std::chrono::hours(1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int r = 0;
    while (r < n && pids[r] != p) ++r;
    if (r == n) continue;
    pids[r] = -1;
    --alive;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && failed < 0) {
      failed = r;
      why = describe(status);
      for (pid_t q : pids) {
        if (q > 0) ::kill(q, SIGTERM);
      }
      kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    }
  }
  FUNNEL_CHECK(failed < 0, "funnel train --workers " << n << ": rank " << failed << " " << why
                                                     << "; the other ranks were stopped");
}

void add_unsupported_workers(CLI::App& command, const std::string& reason) {
  command
      .add_option_function<int>(
          "--workers",
          [reason, name = command.get_name()](int) {
            throw CLI::ValidationError("--workers", "funnel " + name + " " + reason);
          },
          "Not supported by this command (docs/distributed.md)")
      ->group("");
}

}  // namespace funnel::cli
