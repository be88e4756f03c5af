#pragma once
// The one plotting module of Funnel: line charts, grouped bar charts with error bars and
// heatmap grids, drawn as deterministic, self-contained SVG (report/svg.h). Every picture
// (the HTML report's figures, AutoHERI's connection matrix, TAML's gate weights) is made
// from these pieces; axis, tick and legend code exists only here.
//
// Layout: a chart of `width` x `height` pixels has its plot area inside the margins of
// PlotFrame; the title and the legend sit in the top margin (one legend row per ~width of
// entries), tick labels and the axis label in the others. Data ranges come from the data
// (NaN and infinite values ignored) unless fixed; ticks are 1, 2 or 5 x 10^k.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "report/svg.h"

namespace funnel::report {

/// A data range mapped onto a pixel range, with its ticks.
struct Axis {
  double lo = 0, hi = 1;
  double px_lo = 0, px_hi = 1;  ///< px_lo is where `lo` lands (for y, the bottom)
  std::vector<double> ticks;
  /// The pixel of data value v (linear).
  double map(double v) const;
};

/// An axis over [data_lo, data_hi] (swapped when reversed; widened around a single value)
/// whose ends are extended to the nearest ticks, about `target_ticks` of them.
Axis nice_axis(double data_lo, double data_hi, double px_lo, double px_hi, int target_ticks = 5);
/// Tick labels with as many decimals as the tick step needs.
std::string tick_label(double v, double step);

struct PlotFrame {
  double width = 640, height = 340;
  double left = 64, right = 16, top = 40, bottom = 48;
};

struct Series {
  std::string name;
  std::vector<double> x, y;
  std::string colour;  ///< empty: palette(index)
  bool markers = false;
  bool dashed = false;
};

/// A vertical line at x with a label (the early-stopping point).
struct VerticalMarker {
  double x = 0;
  std::string label;
};

constexpr double kAuto = std::numeric_limits<double>::quiet_NaN();

struct LineChart {
  std::string id;  ///< the <svg> element's id
  std::string title, x_label, y_label;
  PlotFrame frame;
  std::vector<Series> series;
  /// Fixed ends of the ranges (kAuto: from the data).
  double x_min = kAuto, x_max = kAuto, y_min = kAuto, y_max = kAuto;
  /// The y = x reference line (reliability diagram, ROC curve).
  bool diagonal = false;
  std::vector<VerticalMarker> markers;
};

struct BarSeries {
  std::string name;
  std::vector<double> values;  ///< one per category; NaN = no bar ("n/a")
  std::vector<double> errors;  ///< half-length of the error bar per category; empty = none
  std::string colour;          ///< empty: palette(index)
};

struct BarChart {
  std::string id;
  std::string title, y_label;
  PlotFrame frame;
  std::vector<std::string> categories;  ///< "\n" starts a second label line
  std::vector<BarSeries> series;
  double y_min = kAuto, y_max = kAuto;
};

/// The axes a chart is drawn on (tests, and annotations placed over a chart).
struct ChartAxes {
  Axis x, y;
};
ChartAxes chart_axes(const LineChart& chart);
/// For bars x is the category index: category c spans [c, c + 1).
ChartAxes chart_axes(const BarChart& chart);

std::string render(const LineChart& chart);
std::string render(const BarChart& chart);

/// One cell of a heatmap: the value on the blue scale (0 white, 1 dark blue), hatched grey when
/// not applicable, framed in black when marked, the text written in it and its tooltip.
struct HeatmapCell {
  double value = 0;
  bool hatched = false;
  bool framed = false;
  std::string text;
  std::string tooltip;
};

/// A grid of cells at (x, y) (its top-left corner, below the column labels): rows x columns,
/// row-major cells, labels left of the rows and above the columns.
struct Heatmap {
  double x = 0, y = 0;
  double cell = 46;
  std::vector<std::string> row_labels, column_labels;
  std::vector<HeatmapCell> cells;
};
void draw(Svg& svg, const Heatmap& map);
/// The blue scale from 0 to 1 in 11 steps at (x, y), named `label`.
void draw_blue_scale(Svg& svg, double x, double y, const std::string& label);

}  // namespace funnel::report
