#include "cli/input_files.h"

#include "core/error.h"
#include "core/file.h"

namespace funnel::cli {

void require_input_files(const std::vector<data::InputFile>& files, const std::string& split,
                         const std::string& config_dir, const std::string& way_out) {
  for (const data::InputFile& f : files) {
    for (const std::string* path : {&f.path, &f.common_path}) {
      if (path->empty() || path_exists(*path)) continue;
      std::string msg = *path + " (" + split + " of the config) does not exist";
      const std::string cache = join_path(config_dir, "cache");
      if (path_exists(join_path(config_dir, "simulation.json")) &&
          path_exists(join_path(cache, "meta.json"))) {
        msg += ": funnel simulate wrote the data as the binary cache " + cache +
               " (CSV files only with --csv); " + way_out;
      }
      throw Error(msg);
    }
  }
}

void require_input_files(const data::DataConfig& config, const std::string& config_dir,
                         const std::string& way_out) {
  require_input_files(config.train, "data.train", config_dir, way_out);
  require_input_files(config.validation, "data.validation", config_dir, way_out);
  require_input_files(config.test, "data.test", config_dir, way_out);
}

}  // namespace funnel::cli
