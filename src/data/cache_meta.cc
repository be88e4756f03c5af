#include "data/cache_meta.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "data/cache_format.h"

namespace funnel::data {

void write_cache_meta(const std::string& dir, const Schema& schema, const Layout& layout,
                      const DatasetStats& stats) {
  nlohmann::json meta;
  meta["format"] = cache::kFormatName;
  meta["version"] = cache::kFormatVersion;
  meta["schema"] = schema_to_json(schema);
  nlohmann::json sparse = nlohmann::json::array();
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    const auto& sf = layout.sparse[f];
    sparse.push_back({{"name", sf.name},
                      {"vocab_size", stats.vocab_sizes[f]},
                      {"multi", sf.multi},
                      {"weighted", sf.weighted},
                      {"dim", sf.dim},
                      {"bucketized", sf.bucketized}});
  }
  meta["sparse"] = sparse;
  nlohmann::json dense = nlohmann::json::array();
  for (size_t d = 0; d < layout.dense.size(); ++d) {
    dense.push_back(
        {{"name", layout.dense[d]}, {"mean", stats.dense_mean[d]}, {"std", stats.dense_std[d]}});
  }
  meta["dense"] = dense;
  for (const auto& [name, s] : stats.splits) meta["splits"][name]["rows"] = s.rows;
  meta["stats"] = stats_to_json(stats, layout);
  write_text_file_atomic(join_path(dir, "meta.json"), json_text(meta, 1));
}

CacheBuild::CacheBuild(std::string out_dir, bool overwrite)
    : out_dir_(std::move(out_dir)), tmp_(out_dir_ + ".tmp-" + std::to_string(::getpid())) {
  if (path_exists(out_dir_)) {
    FUNNEL_CHECK(overwrite, out_dir_ << ": already exists");
    FUNNEL_CHECK(path_exists(join_path(out_dir_, "meta.json")),
                 out_dir_ << ": exists and is not a Funnel cache; refusing to replace it");
  }
  remove_all(tmp_);
  make_dirs(tmp_);
}

CacheBuild::~CacheBuild() {
  if (!committed_) remove_all(tmp_);
}

void CacheBuild::commit() {
  if (path_exists(out_dir_)) remove_all(out_dir_);
  rename_path(tmp_, out_dir_);
  committed_ = true;
}

}  // namespace funnel::data
