#pragma once
// Raw Ali-CCP input: a skeleton file (one impression a line) joined on md5 with a
// common-features file (user-side features shared by many impressions).
//
//   sample_skeleton_*.csv  sample_id,click,buy,md5,feature_num,feature_list
//   common_features_*.csv  md5,feature_num,feature_list
//   feature_list           entries joined by 0x01; entry = field_id 0x02 feature_id 0x03 value
//
// The common file is far too large to hold as strings (10 GB in the full data set), so the
// join streams: one sequential pass indexes it (md5 -> byte range, 32 bytes a line), and
// each skeleton row fetches its common line with pread into a bounded LRU cache of parsed
// lines (DataConfig::common_cache_bytes). Skeleton rows of one user are mostly consecutive,
// so almost every row is a cache hit on the most recent line.

#include <cstdint>
#include <memory>
#include <string>

#include "data/reader.h"

namespace funnel::data {

/// Counters of the join, for benchmarks and logs.
struct AliccpJoinStats {
  uint64_t common_lines = 0;      // lines indexed in the common file
  uint64_t common_bytes = 0;      // size of the common file
  uint64_t index_bytes = 0;       // memory held by the md5 index
  uint64_t cache_hits = 0;        // skeleton rows whose common line was cached
  uint64_t cache_misses = 0;      // common lines fetched with pread and parsed
  uint64_t cache_evictions = 0;   // cached lines dropped to stay within the budget
  uint64_t cache_peak_bytes = 0;  // largest memory the cache held at once
  double index_seconds = 0;       // time of the indexing pass
};

class AliccpRawReader final : public Reader {
 public:
  /// Indexes the common file at once: problems in it (bad or duplicate md5, wrong column
  /// count) throw funnel::DataError with the common file's line.
  AliccpRawReader(const DataConfig& config, const InputFile& file);
  ~AliccpRawReader() override;
  AliccpRawReader(const AliccpRawReader&) = delete;
  AliccpRawReader& operator=(const AliccpRawReader&) = delete;

  /// Token texts are views into the reader's buffers, valid until the next call.
  bool next(RawRow& row) override;
  uint64_t non_data_lines() const override { return 0; }
  uint64_t bytes_read() const override;
  uint64_t bytes_total() const override;
  const std::string& path() const override;
  uint64_t lines_consumed() const override;
  const std::map<std::string, UnreadField>* unread_fields() const override;

  const std::string& common_path() const;
  const AliccpJoinStats& join_stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// The common-features file beside a skeleton file: `sample_skeleton_` in the file name
/// becomes `common_features_`. Throws funnel::Error when the name does not contain it.
std::string aliccp_common_path(const std::string& skeleton_path);

}  // namespace funnel::data
