#include "report/plot.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace funnel::report {
namespace {

constexpr double kLegendRow = 16;

/// Where the legend's entries go: one (x, y) per name, wrapped into rows across the top.
struct Legend {
  std::vector<std::pair<double, double>> at;
  int rows = 0;
};

Legend legend_layout(const PlotFrame& f, const std::vector<std::string>& names) {
  Legend l;
  if (names.empty()) return l;
  double x = f.left;
  l.rows = 1;
  for (const std::string& name : names) {
    const double w = 30 + 7 * static_cast<double>(name.size());
    if (x + w > f.width - f.right && x > f.left) {
      x = f.left;
      ++l.rows;
    }
    l.at.emplace_back(x, 34 + kLegendRow * (l.rows - 1));
    x += w;
  }
  return l;
}

/// The plot area: [left, right] x [top, bottom] in pixels.
struct Area {
  double left, right, top, bottom;
};

Area plot_area(const PlotFrame& f, const Legend& legend) {
  return {f.left, f.width - f.right, f.top + kLegendRow * legend.rows, f.height - f.bottom};
}

void finite_range(const std::vector<double>& v, double* lo, double* hi) {
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
}

std::vector<std::string> line_names(const LineChart& c) {
  std::vector<std::string> names;
  for (const Series& s : c.series) names.push_back(s.name);
  return names;
}

std::vector<std::string> bar_names(const BarChart& c) {
  std::vector<std::string> names;
  for (const BarSeries& s : c.series) names.push_back(s.name);
  return names;
}

std::string colour_of(const std::string& given, size_t i) {
  return given.empty() ? palette(i) : given;
}

void draw_title_and_legend(Svg& svg, const PlotFrame& f, const std::string& title,
                           const Legend& legend, const std::vector<std::string>& names,
                           const std::vector<std::string>& colours, bool lines) {
  svg.text(f.left, 18, title, "font-size=\"14\" font-weight=\"bold\"");
  for (size_t k = 0; k < names.size(); ++k) {
    const auto [x, y] = legend.at[k];
    if (lines) {
      svg.line(x, y - 4, x + 18, y - 4, colours[k], "stroke-width=\"2.5\"");
    } else {
      svg.rect(x + 4, y - 10, 10, 10, colours[k]);
    }
    svg.text(x + 22, y, names[k], "class=\"legend\"");
  }
}

/// Grid lines, ticks and labels of the y axis (and of x when `x` is given), the frame, the
/// axis labels.
void draw_axes(Svg& svg, const Area& a, const Axis& y, const Axis* x, const std::string& x_label,
               const std::string& y_label) {
  const double ystep = y.ticks.size() > 1 ? y.ticks[1] - y.ticks[0] : 1;
  for (double t : y.ticks) {
    const double py = y.map(t);
    svg.line(a.left, py, a.right, py, "#e5e5e5");
    svg.text(a.left - 6, py + 4, tick_label(t, ystep), "text-anchor=\"end\" class=\"tick\"");
  }
  if (x) {
    const double xstep = x->ticks.size() > 1 ? x->ticks[1] - x->ticks[0] : 1;
    for (double t : x->ticks) {
      const double pxv = x->map(t);
      svg.line(pxv, a.bottom, pxv, a.bottom + 4, "#555555");
      svg.text(pxv, a.bottom + 17, tick_label(t, xstep), "text-anchor=\"middle\" class=\"tick\"");
    }
  }
  svg.rect(a.left, a.top, a.right - a.left, a.bottom - a.top, "none", "stroke=\"#555555\"");
  if (!x_label.empty()) {
    svg.text((a.left + a.right) / 2, a.bottom + 36, x_label, "text-anchor=\"middle\"");
  }
  if (!y_label.empty()) {
    const double cy = (a.top + a.bottom) / 2;
    svg.text(14, cy, y_label, "text-anchor=\"middle\" transform=\"rotate(-90 14 " + px(cy) + ")\"");
  }
}

}  // namespace

double Axis::map(double v) const {
  if (hi == lo) return px_lo;
  return px_lo + (v - lo) / (hi - lo) * (px_hi - px_lo);
}

Axis nice_axis(double data_lo, double data_hi, double px_lo, double px_hi, int target_ticks) {
  Axis a;
  a.px_lo = px_lo;
  a.px_hi = px_hi;
  if (!std::isfinite(data_lo) || !std::isfinite(data_hi)) {
    data_lo = 0;
    data_hi = 1;
  }
  if (data_lo > data_hi) std::swap(data_lo, data_hi);
  if (data_hi - data_lo <= 1e-12 * std::max(1.0, std::fabs(data_hi))) {
    const double pad = data_lo == 0 ? 1 : std::fabs(data_lo) * 0.05;
    data_lo -= pad;
    data_hi += pad;
  }
  const double raw = (data_hi - data_lo) / std::max(1, target_ticks);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  a.lo = std::floor(data_lo / step + 1e-9) * step;
  a.hi = std::ceil(data_hi / step - 1e-9) * step;
  const int n = static_cast<int>(std::lround((a.hi - a.lo) / step));
  for (int k = 0; k <= n; ++k) {
    double t = a.lo + k * step;
    if (std::fabs(t) < step * 1e-9) t = 0;
    a.ticks.push_back(t);
  }
  return a;
}

std::string tick_label(double v, double step) {
  int decimals = 0;
  if (step > 0 && step < 1) {
    decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  }
  decimals = std::min(decimals, 8);
  if (std::fabs(v) >= 1e6 && step >= 1) return fmt(v, "%.3g");
  char f[16];
  std::snprintf(f, sizeof f, "%%.%df", decimals);
  return fmt(v, f);
}

ChartAxes chart_axes(const LineChart& c) {
  const Area a = plot_area(c.frame, legend_layout(c.frame, line_names(c)));
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Series& s : c.series) {
    // Only points with both coordinates finite count.
    for (size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k])) continue;
      finite_range({s.x[k]}, &xlo, &xhi);
      finite_range({s.y[k]}, &ylo, &yhi);
    }
  }
  for (const VerticalMarker& m : c.markers) finite_range({m.x}, &xlo, &xhi);
  if (!std::isnan(c.x_min)) xlo = c.x_min;
  if (!std::isnan(c.x_max)) xhi = c.x_max;
  if (!std::isnan(c.y_min)) ylo = c.y_min;
  if (!std::isnan(c.y_max)) yhi = c.y_max;
  ChartAxes axes;
  axes.x = nice_axis(xlo, xhi, a.left, a.right, 6);
  axes.y = nice_axis(ylo, yhi, a.bottom, a.top, 5);
  return axes;
}

ChartAxes chart_axes(const BarChart& c) {
  const Area a = plot_area(c.frame, legend_layout(c.frame, bar_names(c)));
  double ylo = INFINITY, yhi = -INFINITY;
  for (const BarSeries& s : c.series) {
    for (size_t k = 0; k < s.values.size(); ++k) {
      const double e = k < s.errors.size() && std::isfinite(s.errors[k]) ? s.errors[k] : 0;
      finite_range({s.values[k] - e, s.values[k] + e}, &ylo, &yhi);
    }
  }
  // Bars grow from 0 unless every value is far from it (AUCs near 0.7): then from a little below
  // the smallest, so that differences stay visible.
  if (std::isfinite(ylo) && ylo > 0 && ylo < 0.5 * yhi) ylo = 0;
  if (std::isfinite(ylo) && ylo >= 0.5 * yhi && yhi > ylo) ylo -= 0.1 * (yhi - ylo);
  if (!std::isnan(c.y_min)) ylo = c.y_min;
  if (!std::isnan(c.y_max)) yhi = c.y_max;
  ChartAxes axes;
  axes.x.lo = 0;
  axes.x.hi = static_cast<double>(std::max<size_t>(1, c.categories.size()));
  axes.x.px_lo = a.left;
  axes.x.px_hi = a.right;
  axes.y = nice_axis(ylo, yhi, a.bottom, a.top, 5);
  return axes;
}

namespace {

/// A chart's document with its title and legend drawn, its plot area and series colours.
struct Canvas {
  Svg svg;
  Area area;
  std::vector<std::string> colours;
};

template <typename Chart>
Canvas start_chart(const Chart& c, const std::vector<std::string>& names, bool lines) {
  const Legend legend = legend_layout(c.frame, names);
  Canvas cv{Svg(c.frame.width, c.frame.height, c.id), plot_area(c.frame, legend), {}};
  for (size_t k = 0; k < c.series.size(); ++k) {
    cv.colours.push_back(colour_of(c.series[k].colour, k));
  }
  draw_title_and_legend(cv.svg, c.frame, c.title, legend, names, cv.colours, lines);
  return cv;
}

void no_data(Svg& svg, const Area& a) {
  svg.text((a.left + a.right) / 2, (a.top + a.bottom) / 2, "no data",
           "text-anchor=\"middle\" fill=\"#888888\" class=\"no-data\"");
}

}  // namespace

std::string render(const LineChart& c) {
  Canvas cv = start_chart(c, line_names(c), true);
  Svg& svg = cv.svg;
  const Area& a = cv.area;
  const std::vector<std::string>& colours = cv.colours;
  const ChartAxes axes = chart_axes(c);
  draw_axes(svg, a, axes.y, &axes.x, c.x_label, c.y_label);
  if (c.diagonal) {
    const double lo = std::max(axes.x.lo, axes.y.lo), hi = std::min(axes.x.hi, axes.y.hi);
    if (hi > lo) {
      svg.line(axes.x.map(lo), axes.y.map(lo), axes.x.map(hi), axes.y.map(hi), "#999999",
               "stroke-dasharray=\"4 3\" class=\"diagonal\"");
    }
  }
  bool any = false;
  for (size_t k = 0; k < c.series.size(); ++k) {
    const Series& s = c.series[k];
    const std::string attrs = std::string("stroke-width=\"2\" class=\"series\"") +
                              (s.dashed ? " stroke-dasharray=\"6 3\"" : "");
    // A NaN breaks the line: one polyline per run of finite points.
    std::ostringstream points;
    size_t in_run = 0;
    auto flush = [&] {
      if (in_run > 0) svg.polyline(points.str(), colours[k], attrs);
      points.str("");
      in_run = 0;
    };
    for (size_t p = 0; p < std::min(s.x.size(), s.y.size()); ++p) {
      if (!std::isfinite(s.x[p]) || !std::isfinite(s.y[p])) {
        flush();
        continue;
      }
      any = true;
      const double x = axes.x.map(s.x[p]), y = axes.y.map(s.y[p]);
      points << (in_run ? " " : "") << px(x) << "," << px(y);
      ++in_run;
      if (s.markers) {
        svg.circle(x, y, 3, colours[k],
                   s.name + ": (" + fmt(s.x[p], "%g") + ", " + fmt(s.y[p], "%.4g") + ")");
      }
    }
    flush();
  }
  for (const VerticalMarker& m : c.markers) {
    const double x = axes.x.map(m.x);
    svg.line(x, a.top, x, a.bottom, "#444444", "stroke-dasharray=\"2 2\" class=\"marker\"");
    // The label on the side with more room.
    const bool right = x < (a.left + a.right) / 2;
    svg.text(
        right ? x + 4 : x - 4, a.top + 12, m.label,
        std::string("font-size=\"11\" fill=\"#444444\"") + (right ? "" : " text-anchor=\"end\""));
  }
  if (!any) no_data(svg, a);
  return svg.str();
}

std::string render(const BarChart& c) {
  Canvas cv = start_chart(c, bar_names(c), false);
  Svg& svg = cv.svg;
  const Area& a = cv.area;
  const std::vector<std::string>& colours = cv.colours;
  const ChartAxes axes = chart_axes(c);
  draw_axes(svg, a, axes.y, nullptr, "", c.y_label);
  const double base = axes.y.map(std::max(axes.y.lo, std::min(0.0, axes.y.hi)));
  const size_t S = std::max<size_t>(1, c.series.size());
  bool any = false;
  for (size_t cat = 0; cat < c.categories.size(); ++cat) {
    const double x0 = axes.x.map(static_cast<double>(cat)), x1 = axes.x.map(cat + 1.0);
    const double band = x1 - x0, bar_w = 0.8 * band / static_cast<double>(S);
    // The category label, one line per "\n".
    std::string label = c.categories[cat];
    double ly = a.bottom + 16;
    for (size_t start = 0;;) {
      const size_t nl = label.find('\n', start);
      svg.text((x0 + x1) / 2, ly, label.substr(start, nl == std::string::npos ? nl : nl - start),
               "text-anchor=\"middle\" class=\"tick\"");
      if (nl == std::string::npos) break;
      start = nl + 1;
      ly += 14;
    }
    for (size_t k = 0; k < c.series.size(); ++k) {
      const BarSeries& s = c.series[k];
      const double bx = x0 + 0.1 * band + static_cast<double>(k) * bar_w;
      const double v = cat < s.values.size() ? s.values[cat] : NAN;
      if (!std::isfinite(v)) {
        svg.text(bx + bar_w / 2, base - 4, "n/a",
                 "text-anchor=\"middle\" font-size=\"10\" fill=\"#888888\"");
        continue;
      }
      any = true;
      const double top = axes.y.map(v);
      const double e = cat < s.errors.size() && std::isfinite(s.errors[cat]) ? s.errors[cat] : 0;
      std::string tip = s.name + ", " + c.categories[cat] + ": " + fmt(v, "%.4g");
      std::replace(tip.begin(), tip.end(), '\n', ' ');
      if (e > 0) tip += " \u00b1 " + fmt(e, "%.2g");
      svg.rect(bx, std::min(top, base), bar_w - 1, std::fabs(base - top), colours[k], "", tip,
               "bar");
      if (e > 0) {
        const double cx = bx + (bar_w - 1) / 2, ylo = axes.y.map(v - e), yhi = axes.y.map(v + e);
        svg.line(cx, ylo, cx, yhi, "#222222", "class=\"error\"");
        svg.line(cx - 4, ylo, cx + 4, ylo, "#222222");
        svg.line(cx - 4, yhi, cx + 4, yhi, "#222222");
      }
    }
  }
  if (!any) no_data(svg, a);
  return svg.str();
}

void draw(Svg& svg, const Heatmap& m) {
  const size_t R = m.row_labels.size(), C = m.column_labels.size();
  for (size_t j = 0; j < C; ++j) {
    svg.text(m.x + (static_cast<double>(j) + 0.5) * m.cell, m.y - 8, m.column_labels[j],
             "text-anchor=\"middle\"");
  }
  for (size_t i = 0; i < R; ++i) {
    const double y = m.y + static_cast<double>(i) * m.cell;
    svg.text(m.x - 6, y + m.cell / 2 + 4, m.row_labels[i], "text-anchor=\"end\"");
    for (size_t j = 0; j < C && i * C + j < m.cells.size(); ++j) {
      const HeatmapCell& cell = m.cells[i * C + j];
      const double x = m.x + static_cast<double>(j) * m.cell;
      svg.rect(x, y, m.cell, m.cell, cell.hatched ? svg.hatch() : blue_scale(cell.value),
               "stroke=\"#cccccc\" stroke-width=\"1\"", cell.tooltip, "cell");
      if (cell.framed) {
        svg.rect(x + 2, y + 2, m.cell - 4, m.cell - 4, "none",
                 "stroke=\"black\" stroke-width=\"3\"", "", "kept");
      }
      if (!cell.text.empty()) {
        svg.text(x + m.cell / 2, y + m.cell / 2 + 4, cell.text,
                 std::string("text-anchor=\"middle\" fill=\"") +
                     (cell.value > 0.55 ? "white" : "black") + "\"");
      }
    }
  }
}

void draw_blue_scale(Svg& svg, double x, double y, const std::string& label) {
  for (int t = 0; t <= 10; ++t) {
    svg.rect(x + t * 20, y, 20, 12, blue_scale(t / 10.0), "stroke=\"#cccccc\"");
  }
  svg.text(x, y + 26, "0");
  svg.text(x + 210, y + 26, "1", "text-anchor=\"end\"");
  svg.text(x + 224, y + 10, label);
}

}  // namespace funnel::report
