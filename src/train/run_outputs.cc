#include "train/run_outputs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"

namespace funnel::train {

/// A JSONL log: one write(2) per line, and a line that could not be written whole is cut off
/// again, so the file holds complete lines only (what a resumed run appends to).
struct RunOutputs::Log {
  std::string path;
  int fd = -1;
  ~Log() {
    if (fd >= 0) ::close(fd);
  }
  void append(const std::string& line) {
    const off_t start = ::lseek(fd, 0, SEEK_END);
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n < 0 ? std::strerror(errno) : "nothing written";
        if (start >= 0 && ::ftruncate(fd, start) != 0) {
          throw Error(path + ": write error: " + why + "; the partial line could not be removed");
        }
        throw Error(path + ": write error: " + why);
      }
      done += static_cast<size_t>(n);
    }
  }
};

RunOutputs::RunOutputs() = default;

RunOutputs::RunOutputs(std::string dir, bool writer) : dir_(std::move(dir)), writer_(writer) {}

RunOutputs::~RunOutputs() = default;

std::string RunOutputs::path(const std::string& name) const { return join_path(dir_, name); }

void RunOutputs::open_log(const std::string& name, bool append) {
  if (!writes()) return;
  make_dirs(dir_);
  auto log = std::make_unique<Log>();
  log->path = path(name);
  log->fd = ::open(log->path.c_str(),
                   O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (log->fd < 0) throw Error(log->path + ": cannot open for writing: " + std::strerror(errno));
  logs_[name] = std::move(log);
}

void RunOutputs::log(const std::string& name, const nlohmann::json& line) {
  if (!writes()) return;
  const auto it = logs_.find(name);
  FUNNEL_CHECK(it != logs_.end(), path(name) << ": log written before it was opened");
  it->second->append(json_text(line) + "\n");
}

}  // namespace funnel::train
