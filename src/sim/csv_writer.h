#pragma once
// Simulated rows as text: OUT_DIR/{train,validation,test}.csv with the header the experiment
// config of sim/output.h reads (labels, the feature columns of sim_fields(), the list columns
// and the truth columns).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "sim/simulator.h"

namespace funnel::sim {

class CsvWriter {
 public:
  /// Creates OUT_DIR and the files of the splits in `splits` (indexed by SimRow::Split).
  CsvWriter(const Simulator& sim, const std::string& out_dir, const bool splits[3]);
  ~CsvWriter();

  void add(const SimRow* rows, size_t n);
  /// Closes the files; returns the bytes written.
  uint64_t finish();

  /// The file name of a split ("train.csv", ...).
  static const char* file_name(int split);

 private:
  const Simulator& sim_;
  std::vector<SimField> fields_;
  size_t num_label_columns_ = 0;
  std::unique_ptr<FileWriter> out_[3];
};

}  // namespace funnel::sim
