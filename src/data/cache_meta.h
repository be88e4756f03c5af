#pragma once
// The parts of writing a cache that do not depend on where the rows come from: meta.json and
// building the cache in a temporary folder that replaces the destination only when complete.
// Shared by the text converter and the simulator's direct writer.

#include <string>

#include "data/layout.h"
#include "data/schema.h"
#include "data/stats.h"

namespace funnel::data {

/// Writes DIR/meta.json: format name and version, schema, the layout of sparse and dense
/// fields with vocabulary sizes and numeric statistics, rows per split and the statistics.
void write_cache_meta(const std::string& dir, const Schema& schema, const Layout& layout,
                      const DatasetStats& stats);

/// A cache being built in an empty temporary folder beside its destination: commit()
/// replaces the destination with it, and destroying it before commit() removes it, so a
/// failed write leaves nothing behind. An existing destination is replaced only with
/// `overwrite` and when it is a Funnel cache (it holds meta.json).
class CacheBuild {
 public:
  CacheBuild(std::string out_dir, bool overwrite);
  ~CacheBuild();
  CacheBuild(const CacheBuild&) = delete;
  CacheBuild& operator=(const CacheBuild&) = delete;

  /// The temporary folder to write into.
  const std::string& dir() const { return tmp_; }
  void commit();

 private:
  std::string out_dir_, tmp_;
  bool committed_ = false;
};

}  // namespace funnel::data
