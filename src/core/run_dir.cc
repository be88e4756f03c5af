#include "core/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/file.h"

namespace funnel {

RunDir::RunDir(const std::string& dir, const std::vector<std::string>& markers, Existing existing,
               const std::string& command)
    : dir_(dir) {
  make_dirs(dir);
  const std::string lock = join_path(dir, ".lock");
  fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(lock + ": cannot open the run folder's lock: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {0};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      throw Error(dir + ": in use by another process" + (pid.empty() ? "" : " (pid " + pid + ")") +
                  ", which holds " + lock + ": wait for it to finish or choose another --out");
    }
    throw Error(lock + ": cannot lock the run folder: " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; only the message of a second process is poorer.
  }
  std::vector<std::string> found;
  for (const std::string& m : markers) {
    if (path_exists(join_path(dir, m))) found.push_back(m);
  }
  if (found.empty() || existing == Existing::kResume) return;
  if (existing == Existing::kRefuse) {
    std::string list;
    for (const std::string& f : found) list += (list.empty() ? "" : ", ") + f;
    ::close(fd_);
    fd_ = -1;
    throw Error(dir + ": already holds a run (" + list + "): " + command +
                " does not replace it unless told to; pass --overwrite to replace it" +
                (path_exists(join_path(dir, "checkpoint")) ? ", --resume to continue it," : ",") +
                " or choose another --out");
  }
  for (const std::string& f : found) remove_all(join_path(dir, f));
}

RunDir::~RunDir() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace funnel
