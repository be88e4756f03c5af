#include "train/arch_plot.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "report/plot.h"

namespace funnel::train {

std::string arch_to_svg(const model::AutoHeriArch& arch) {
  const size_t L = arch.num_layers();
  const double cell = 46, label_w = 40, top = 84, panel_gap = 40, title_h = 22;
  const double panel_w = std::max(250.0, label_w + static_cast<double>(L) * cell);  // the title
  const size_t panels = std::max<size_t>(1, arch.edges.size());
  // Wide enough for the header lines.
  const double width = std::max(760.0, 20 + static_cast<double>(panels) * (panel_w + panel_gap));
  const double height = top + title_h + 30 + static_cast<double>(L) * cell + 70;
  report::Svg svg(width, height);
  std::string funnel;
  for (const auto& e : arch.events) funnel += (funnel.empty() ? "" : " \u2192 ") + e;
  svg.text(20, 24, "AutoHERI connections: " + funnel, "font-size=\"15\" font-weight=\"bold\"");
  svg.text(20, 44,
           std::string("scheme ") + model::integration_scheme_name(arch.scheme) +
               (arch.skip ? " + skip" : "") + ", towers " + nlohmann::json(arch.towers).dump() +
               ", " + std::to_string(arch.num_connections()) + " connections kept" +
               (arch.derived_by.empty() ? "" : ", derived by " + arch.derived_by));
  svg.text(20, 62,
           "cell colour = alpha (0 white, 1 dark blue); black frame = kept (z = 1); hatched = "
           "not a candidate",
           "fill=\"#555555\"");
  for (size_t k = 0; k < arch.edges.size(); ++k) {
    const model::ArchEdge& e = arch.edges[k];
    const std::string from = arch.events.at(e.from), to = arch.events.at(e.to);
    const double x0 = 20 + static_cast<double>(k) * (panel_w + panel_gap);
    svg.raw("<g>\n");
    svg.text(x0, top + 14, from + " (rows) \u2192 " + to + " (columns)", "font-weight=\"bold\"");
    // Rows = source layers h_t^i, columns = target layers h_s^j (AutoHERI Fig. 2).
    report::Heatmap map;
    map.x = x0 + label_w;
    map.y = top + title_h + 30;
    map.cell = cell;
    for (size_t i = 0; i < L; ++i) {
      map.row_labels.push_back("h" + std::to_string(i + 1));
      map.column_labels.push_back("h" + std::to_string(i + 1));
    }
    for (size_t i = 0; i < L; ++i) {
      for (size_t j = 0; j < L; ++j) {
        const bool candidate = model::is_candidate(arch.scheme, i, j);
        const bool kept = !e.z.empty() && e.z[i * L + j];
        const bool has_alpha = !e.alpha.empty() && !std::isnan(e.alpha[i * L + j]);
        report::HeatmapCell c;
        c.value = has_alpha ? e.alpha[i * L + j] : (kept ? 1.0 : 0.0);
        c.hatched = !candidate;
        c.framed = kept;
        if (candidate && has_alpha) c.text = report::fmt(c.value);
        c.tooltip = from + " h" + std::to_string(i + 1) + " \u2192 " + to + " h" +
                    std::to_string(j + 1) +
                    (has_alpha ? ": alpha = " + report::fmt(c.value, "%.4f") : std::string()) +
                    (kept ? ", kept" : "");
        map.cells.push_back(c);
      }
    }
    report::draw(svg, map);
    svg.raw("</g>\n");
  }
  report::draw_blue_scale(svg, 20, height - 40, "alpha");
  return svg.str();
}

}  // namespace funnel::train
