// Fuzz target: a cache's meta.json. The target builds one small cache (all kinds of fields:
// single, multi-valued weighted, numeric, group; train and validation splits) and, per input,
// replaces its meta.json with the input and opens it: either funnel::Error, or a cache whose
// every split loads, batch by batch, without reading outside its files.
// FUNNEL_FUZZ_SEED_OUT=DIR writes the genuine meta.json to DIR (the seed corpus).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "core/file.h"
#include "data/batch.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/loader.h"
#include "fuzz_input.h"

using namespace funnel;

namespace {

/// The cache every input's meta.json is put into; removed at exit.
struct FuzzCache {
  std::string root, dir;
  FuzzCache() {
    const char* shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    root = std::string(shm) + "/funnel-fuzz-cache-" + std::to_string(getpid());
    make_dirs(root);
    std::string csv = "rid,click,buy,user,item,hist,price,age\n";
    for (int i = 0; i < 300; ++i) {
      csv += std::to_string(i) + "," + std::to_string(i % 3 == 0) + "," +
             std::to_string(i % 9 == 0) + ",u" + std::to_string(i % 17) + ",i" +
             std::to_string(i % 5) + ",h" + std::to_string(i % 4) + ":0.5;h" +
             std::to_string(i % 7) + ":1," + std::to_string(i * 0.25) + "," +
             std::to_string(i % 60) + "\n";
    }
    const std::string csv_path = join_path(root, "rows.csv");
    write_text_file_atomic(csv_path, csv);
    const data::DataConfig config = data::parse_data_config(
        nlohmann::json::parse(R"({"train": [")" + csv_path + R"("], "validation_ratio": 0.2,
            "labels": ["click", "buy"],
            "categorical": ["user", "item", {"name": "hist", "multi": true, "weighted": true}],
            "numeric": ["price", {"name": "age", "transform": "bucketize", "boundaries": [10, 30, 50]}],
            "group": "user", "aux": ["rid"]})"),
        "");
    dir = join_path(root, "cache");
    data::ConvertOptions options;
    options.progress = false;
    data::convert_to_cache(config, dir, options);
    if (const char* out = std::getenv("FUNNEL_FUZZ_SEED_OUT")) {
      make_dirs(out);
      write_text_file_atomic(join_path(out, "meta.json"),
                             read_text_file(join_path(dir, "meta.json")));
    }
  }
  ~FuzzCache() { remove_all(root); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const FuzzCache cache;
  write_text_file_atomic(join_path(cache.dir, "meta.json"),
                         std::string(reinterpret_cast<const char*>(data), size));
  try {
    const data::Cache c(cache.dir);
    for (size_t f = 0; f < c.layout().sparse.size(); ++f) (void)c.load_vocab(f);
    for (const std::string& name : c.split_names()) {
      data::LoaderOptions lo;
      lo.batch_size = 64;
      lo.prefetch = 0;
      data::Loader loader(c, c.split(name), lo);
      loader.start_epoch(0);
      data::Batch b;
      for (int n = 0; n < 100 && loader.next(b); ++n) {
      }
    }
  } catch (const Error& e) {
    fuzz::caught(e);
  }
  return 0;
}
