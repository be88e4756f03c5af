#include "embed/optimizer.h"

#include <istream>
#include <ostream>
#include <type_traits>

#include "core/error.h"
#include "embed/adagrad.h"
#include "embed/binary_io.h"
#include "embed/lazy_adam.h"
#include "embed/sgd.h"

namespace funnel::embed {

namespace {

struct Registered {
  const char* name;
  OptimizerKind kind;
  OptimizerOptions defaults;  // its alternative identifies the options type of the kind
};

// The optimizer registry: name <-> saved kind <-> options type. The implementation for an
// options type is picked by the `create` overloads below.
const Registered kRegistry[] = {
    {"sgd", OptimizerKind::kSgd, SgdOptions{}},
    {"adagrad", OptimizerKind::kAdagrad, AdagradOptions{}},
    {"adam", OptimizerKind::kAdam, AdamOptions{}},
};

std::unique_ptr<RowOptimizer> create(const SgdOptions& o, uint64_t rows, uint32_t dim) {
  return std::make_unique<Sgd>(o, rows, dim);
}
std::unique_ptr<RowOptimizer> create(const AdagradOptions& o, uint64_t rows, uint32_t dim) {
  return std::make_unique<Adagrad>(o, rows, dim);
}
std::unique_ptr<RowOptimizer> create(const AdamOptions& o, uint64_t rows, uint32_t dim) {
  return std::make_unique<LazyAdam>(o, rows, dim);
}

const Registered& entry(OptimizerKind kind) {
  for (const auto& r : kRegistry) {
    if (r.kind == kind) return r;
  }
  FUNNEL_CHECK(false, "unknown optimizer kind " << static_cast<uint32_t>(kind)
                                                << " (expected 1 = sgd, 2 = adagrad, 3 = adam)");
  return kRegistry[0];  // unreachable
}

// Options are saved as their raw bytes: plain structs of doubles without padding.
template <typename Options>
constexpr bool kPlainDoubles =
    sizeof(Options) % sizeof(double) == 0 &&
    std::is_trivially_copyable_v<Options>&& std::is_standard_layout_v<Options>;
static_assert(kPlainDoubles<SgdOptions> && kPlainDoubles<AdagradOptions> &&
              kPlainDoubles<AdamOptions>);

}  // namespace

OptimizerKind optimizer_kind(const OptimizerOptions& options) {
  for (const auto& r : kRegistry) {
    if (r.defaults.index() == options.index()) return r.kind;
  }
  FUNNEL_CHECK(false, "optimizer options type is not registered");
  return OptimizerKind::kAdam;  // unreachable
}

const char* optimizer_name(OptimizerKind kind) { return entry(kind).name; }

OptimizerOptions optimizer_options_from_name(const std::string& name) {
  for (const auto& r : kRegistry) {
    if (name == r.name) return r.defaults;
  }
  FUNNEL_CHECK(false,
               "unknown embedding optimizer '" << name << "' (expected sgd, adagrad or adam)");
  return AdamOptions{};  // unreachable
}

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  for (const auto& r : kRegistry) names.push_back(r.name);
  return names;
}

void RowOptimizer::set_frequency_decay(double lambda) {
  FUNNEL_CHECK(lambda == 0, "frequency-aware weight decay needs per-row step counts (adam), not "
                                << optimizer_name(kind()));
}

std::unique_ptr<RowOptimizer> make_optimizer(const OptimizerOptions& options, uint64_t num_rows,
                                             uint32_t dim) {
  return std::visit([&](const auto& o) { return create(o, num_rows, dim); }, options);
}

void write_optimizer_options(std::ostream& os, const OptimizerOptions& options) {
  io::write_pod(os, static_cast<uint32_t>(optimizer_kind(options)), "optimizer kind");
  std::visit([&](const auto& o) { io::write_pod(os, o, "optimizer options"); }, options);
}

OptimizerOptions read_optimizer_options(std::istream& is) {
  const auto kind = static_cast<OptimizerKind>(io::read_pod<uint32_t>(is, "optimizer kind"));
  OptimizerOptions options = entry(kind).defaults;
  std::visit([&](auto& o) { o = io::read_pod<std::decay_t<decltype(o)>>(is, "optimizer options"); },
             options);
  return options;
}

}  // namespace funnel::embed
