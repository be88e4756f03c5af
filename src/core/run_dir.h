#pragma once
// A run folder (train, search, compare, simulate --out) held by one process at a time, and a
// finished run never replaced by accident.
//
// RunDir creates the folder when needed and takes an exclusive lock on DIR/.lock (flock; the
// file holds the pid of its holder) for its lifetime: a second process that asks for the same
// folder fails at once, naming the holder, instead of both writing a mix of two runs. The
// kernel drops the lock when the process ends, however it ends; the file stays.
//
// A folder that already holds a run (any of `markers`, e.g. metrics.json, model.bundle,
// checkpoint) is refused unless the caller says --overwrite (the markers are removed first,
// so that no file of the old run survives beside the new one) or --resume (kept).

#include <string>
#include <vector>

namespace funnel {

class RunDir {
 public:
  enum class Existing { kRefuse, kOverwrite, kResume };

  /// `command` names the command in messages ("funnel train"); `markers`: files or folders
  /// (relative to `dir`) whose presence means a run is there.
  RunDir(const std::string& dir, const std::vector<std::string>& markers, Existing existing,
         const std::string& command);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
  int fd_ = -1;
};

}  // namespace funnel
