#include "train/run_outputs.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"

namespace funnel::train {

struct RunOutputs::Log {
  std::ofstream out;
};

RunOutputs::RunOutputs() = default;

RunOutputs::RunOutputs(std::string dir, bool writer) : dir_(std::move(dir)), writer_(writer) {}

RunOutputs::~RunOutputs() = default;

std::string RunOutputs::path(const std::string& name) const { return join_path(dir_, name); }

void RunOutputs::open_log(const std::string& name, bool append) {
  if (!writes()) return;
  make_dirs(dir_);
  auto log = std::make_unique<Log>();
  log->out.open(path(name), append ? std::ios::app : std::ios::trunc);
  FUNNEL_CHECK(log->out.good(), path(name) << ": cannot open for writing");
  logs_[name] = std::move(log);
}

void RunOutputs::log(const std::string& name, const nlohmann::json& line) {
  if (!writes()) return;
  const auto it = logs_.find(name);
  FUNNEL_CHECK(it != logs_.end(), path(name) << ": log written before it was opened");
  it->second->out << json_text(line) << "\n" << std::flush;
  FUNNEL_CHECK(it->second->out.good(), path(name) << ": write error");
}

}  // namespace funnel::train
