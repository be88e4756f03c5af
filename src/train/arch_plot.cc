#include "train/arch_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "train/svg.h"

namespace funnel::train {
namespace {

using svg::escape;
using svg::fmt;

/// White (0) to dark blue (1).
std::string colour(double v) {
  v = std::min(1.0, std::max(0.0, v));
  const int r = static_cast<int>(std::lround(255 - v * (255 - 8)));
  const int g = static_cast<int>(std::lround(255 - v * (255 - 48)));
  const int b = static_cast<int>(std::lround(255 - v * (255 - 107)));
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

}  // namespace

std::string arch_to_svg(const model::AutoHeriArch& arch) {
  const size_t L = arch.num_layers();
  const int cell = 46, label_w = 40, top = 84, panel_gap = 40, title_h = 22;
  const int panel_w = std::max(250, label_w + static_cast<int>(L) * cell);  // room for the title
  const size_t panels = std::max<size_t>(1, arch.edges.size());
  // Wide enough for the header lines.
  const int width = std::max(760, 20 + static_cast<int>(panels) * (panel_w + panel_gap));
  const int height = top + title_h + 30 + static_cast<int>(L) * cell + 70;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
       "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#eeeeee\"/>"
       "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#bbbbbb\" stroke-width=\"2\"/>"
       "</pattern></defs>\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string funnel;
  for (const auto& e : arch.events) funnel += (funnel.empty() ? "" : " \u2192 ") + e;
  s << "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">AutoHERI connections: "
    << escape(funnel) << "</text>\n";
  s << "<text x=\"20\" y=\"44\">scheme " << model::integration_scheme_name(arch.scheme)
    << (arch.skip ? " + skip" : "") << ", towers "
    << escape(nlohmann::json(arch.towers).dump()) << ", " << arch.num_connections()
    << " connections kept"
    << (arch.derived_by.empty() ? "" : ", derived by " + escape(arch.derived_by)) << "</text>\n";
  s << "<text x=\"20\" y=\"62\" fill=\"#555555\">cell colour = alpha (0 white, 1 dark blue); "
       "black frame = kept (z = 1); hatched = not a candidate</text>\n";
  for (size_t k = 0; k < arch.edges.size(); ++k) {
    const model::ArchEdge& e = arch.edges[k];
    const std::string from = arch.events.at(e.from), to = arch.events.at(e.to);
    const int x0 = 20 + static_cast<int>(k) * (panel_w + panel_gap);
    const int gx = x0 + label_w, gy = top + title_h + 30;
    s << "<g>\n<text x=\"" << x0 << "\" y=\"" << top + 14 << "\" font-weight=\"bold\">"
      << escape(from) << " (rows) \u2192 " << escape(to) << " (columns)</text>\n";
    for (size_t j = 0; j < L; ++j) {
      s << "<text x=\"" << gx + static_cast<int>(j) * cell + cell / 2 << "\" y=\"" << gy - 8
        << "\" text-anchor=\"middle\">h" << j + 1 << "</text>\n";
    }
    for (size_t i = 0; i < L; ++i) {
      const int y = gy + static_cast<int>(i) * cell;
      s << "<text x=\"" << gx - 6 << "\" y=\"" << y + cell / 2 + 4 << "\" text-anchor=\"end\">"
        << "h" << i + 1 << "</text>\n";
      for (size_t j = 0; j < L; ++j) {
        const int x = gx + static_cast<int>(j) * cell;
        const bool candidate = model::is_candidate(arch.scheme, i, j);
        const bool kept = !e.z.empty() && e.z[i * L + j];
        const bool has_alpha = !e.alpha.empty() && !std::isnan(e.alpha[i * L + j]);
        const double v = has_alpha ? e.alpha[i * L + j] : (kept ? 1.0 : 0.0);
        s << "<rect class=\"cell\" x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell
          << "\" height=\"" << cell << "\" fill=\""
          << (candidate ? colour(v) : std::string("url(#hatch)"))
          << "\" stroke=\"#cccccc\" stroke-width=\"1\"><title>" << escape(from) << " h" << i + 1
          << " \u2192 " << escape(to) << " h" << j + 1
          << (has_alpha ? ": alpha = " + fmt(v, "%.4f") : std::string()) << (kept ? ", kept" : "")
          << "</title></rect>\n";
        if (kept) {
          s << "<rect class=\"kept\" x=\"" << x + 2 << "\" y=\"" << y + 2 << "\" width=\""
            << cell - 4 << "\" height=\"" << cell - 4
            << "\" fill=\"none\" stroke=\"black\" stroke-width=\"3\"/>\n";
        }
        if (candidate && has_alpha) {
          s << "<text x=\"" << x + cell / 2 << "\" y=\"" << y + cell / 2 + 4
            << "\" text-anchor=\"middle\" fill=\"" << (v > 0.55 ? "white" : "black") << "\">"
            << fmt(v) << "</text>\n";
        }
      }
    }
    s << "</g>\n";
  }
  // Colour scale.
  const int ly = height - 40;
  for (int t = 0; t <= 10; ++t) {
    s << "<rect x=\"" << 20 + t * 20 << "\" y=\"" << ly << "\" width=\"20\" height=\"12\" fill=\""
      << colour(t / 10.0) << "\" stroke=\"#cccccc\"/>\n";
  }
  s << "<text x=\"20\" y=\"" << ly + 26 << "\">0</text><text x=\"230\" y=\"" << ly + 26
    << "\" text-anchor=\"end\">1</text><text x=\"244\" y=\"" << ly + 10 << "\">alpha</text>\n";
  s << "</svg>\n";
  return s.str();
}

}  // namespace funnel::train
