// Fuzz target: a model bundle's bytes through the container parser and the header's
// description of data and model (model/bundle_file.h): sections, the header JSON, the data
// section, vocabularies against the schema, model and embedding options. Only funnel::Error
// may come out. The weights (the "dense" and "sparse" sections) are LibTorch's archive and
// Funnel's table format, loaded by load_bundle after these checks; they are not fuzzed here.
//
// A mutated file almost never keeps its checksum, which the parser checks before anything
// else, so the target writes the right checksum into every input that is long enough and
// starts like a bundle (the checksum's own check is tested in the bundle tests).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "model/bundle_file.h"
#include "fuzz_input.h"

using namespace funnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.size() >= 28 && bytes.compare(0, 8, "FNLBUNDL") == 0) {
    const size_t body = bytes.size() - 16;
    const uint64_t sum = model::bundle_checksum(std::string_view(bytes.data(), body));
    std::memcpy(bytes.data() + body, &sum, 8);
  }
  try {
    const model::BundleContents c = model::parse_bundle(bytes, "fuzz.bundle");
    const model::BundleMeta meta = model::read_bundle_meta(c, "fuzz.bundle");
    (void)meta.model.options.to_json();
    (void)meta.embedding_options.to_json();
  } catch (const Error& e) {
    fuzz::caught(e);
  }
  return 0;
}
