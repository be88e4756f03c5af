#pragma once
// The run folder of a training or search: the one place that decides what a process writes
// (JSONL logs, checkpoints, result files). With several processes only one rank writes and
// every rank computes the same thing; a RunOutputs without a folder writes nothing.

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace funnel::train {

class RunOutputs {
 public:
  /// No folder: nothing is written.
  RunOutputs();
  /// `writer`: whether this process writes (rank 0 of a distributed run; true alone).
  explicit RunOutputs(std::string dir, bool writer = true);
  ~RunOutputs();
  RunOutputs(const RunOutputs&) = delete;
  RunOutputs& operator=(const RunOutputs&) = delete;

  /// True when this process writes into a folder.
  bool writes() const { return !dir_.empty() && writer_; }
  const std::string& dir() const { return dir_; }
  /// dir/name.
  std::string path(const std::string& name) const;

  /// Opens the JSONL log `name`: continued (a resumed run) or started afresh. Nothing happens
  /// unless writes().
  void open_log(const std::string& name, bool append);
  /// Appends one line to a log opened by open_log() and flushes it (a crash keeps every line).
  void log(const std::string& name, const nlohmann::json& line);

 private:
  std::string dir_;
  bool writer_ = false;
  struct Log;
  std::map<std::string, std::unique_ptr<Log>> logs_;
};

}  // namespace funnel::train
