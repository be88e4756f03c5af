#include "report/plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace funnel::report {
namespace {

/// The elements `<tag ...class="cls"...>` of an SVG, each as its attribute map.
std::vector<std::map<std::string, std::string>> elements(const std::string& svg,
                                                         const std::string& tag,
                                                         const std::string& cls = "") {
  std::vector<std::map<std::string, std::string>> out;
  const std::regex element("<" + tag + "\\b([^>]*)>");
  const std::regex attr("([a-zA-Z0-9:-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), element);
       it != std::sregex_iterator(); ++it) {
    std::map<std::string, std::string> attrs;
    const std::string body = (*it)[1];
    for (auto a = std::sregex_iterator(body.begin(), body.end(), attr); a != std::sregex_iterator();
         ++a) {
      attrs[(*a)[1]] = (*a)[2];
    }
    if (cls.empty() || attrs["class"] == cls) out.push_back(attrs);
  }
  return out;
}

TEST(NiceAxis, TicksCoverTheDataWithRoundSteps) {
  const Axis a = nice_axis(0.13, 0.87, 100, 500);
  EXPECT_DOUBLE_EQ(a.lo, 0.0);
  EXPECT_DOUBLE_EQ(a.hi, 1.0);
  ASSERT_EQ(a.ticks.size(), 6u);  // step 0.2
  EXPECT_NEAR(a.ticks[1], 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(a.map(0.5), 300);
  const Axis steps = nice_axis(0, 23, 0, 1, 5);  // raw step 4.6 -> 5
  EXPECT_DOUBLE_EQ(steps.hi, 25);
  EXPECT_EQ(steps.ticks.size(), 6u);
  const Axis reversed = nice_axis(10, -10, 0, 1);
  EXPECT_LE(reversed.lo, -10);
  EXPECT_GE(reversed.hi, 10);
  const Axis single = nice_axis(3, 3, 0, 1);  // widened around the one value
  EXPECT_LT(single.lo, 3);
  EXPECT_GT(single.hi, 3);
  const Axis none = nice_axis(NAN, INFINITY, 0, 1);
  EXPECT_DOUBLE_EQ(none.lo, 0);
  EXPECT_DOUBLE_EQ(none.hi, 1);
  // y axes run upwards: px_lo is the bottom.
  const Axis y = nice_axis(0, 1, 300, 40);
  EXPECT_DOUBLE_EQ(y.map(0), 300);
  EXPECT_DOUBLE_EQ(y.map(1), 40);
}

TEST(NiceAxis, TickLabels) {
  EXPECT_EQ(tick_label(0.2, 0.2), "0.2");
  EXPECT_EQ(tick_label(0.705, 0.005), "0.705");
  EXPECT_EQ(tick_label(2000, 500), "2000");
  EXPECT_EQ(tick_label(0, 0.05), "0.00");
}

TEST(LineChartTest, PointsLandOnTheAxes) {
  LineChart c;
  c.id = "fig";
  c.series.push_back({"a", {0, 5, 10}, {0.1, 0.5, 0.9}, "", true, false});
  const ChartAxes axes = chart_axes(c);
  EXPECT_DOUBLE_EQ(axes.x.lo, 0);
  EXPECT_DOUBLE_EQ(axes.x.hi, 10);
  EXPECT_DOUBLE_EQ(axes.y.lo, 0);
  EXPECT_DOUBLE_EQ(axes.y.hi, 1);
  // The plot area: inside the frame's margins, below one legend row.
  EXPECT_DOUBLE_EQ(axes.x.px_lo, c.frame.left);
  EXPECT_DOUBLE_EQ(axes.x.px_hi, c.frame.width - c.frame.right);
  EXPECT_DOUBLE_EQ(axes.y.px_lo, c.frame.height - c.frame.bottom);
  EXPECT_DOUBLE_EQ(axes.y.px_hi, c.frame.top + 16);
  const std::string svg = render(c);
  auto lines = elements(svg, "polyline", "series");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["points"], px(axes.x.map(0)) + "," + px(axes.y.map(0.1)) + " " +
                                    px(axes.x.map(5)) + "," + px(axes.y.map(0.5)) + " " +
                                    px(axes.x.map(10)) + "," + px(axes.y.map(0.9)));
  EXPECT_EQ(elements(svg, "circle").size(), 3u);
  EXPECT_NE(svg.find("viewBox=\"0 0 640.0 340.0\""), std::string::npos);
  EXPECT_EQ(elements(svg, "svg")[0]["id"], "fig");
  EXPECT_EQ(svg, render(c));  // deterministic
}

TEST(LineChartTest, FixedRangesAndDiagonal) {
  LineChart c;
  c.series.push_back({"r", {0.1, 0.2}, {0.15, 0.3}, "", false, false});
  c.x_min = c.y_min = 0;
  c.x_max = c.y_max = 1;
  c.diagonal = true;
  const ChartAxes axes = chart_axes(c);
  EXPECT_DOUBLE_EQ(axes.x.hi, 1);
  auto diag = elements(render(c), "line", "diagonal");
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag[0]["x1"], px(axes.x.map(0)));
  EXPECT_EQ(diag[0]["y2"], px(axes.y.map(1)));
}

TEST(LineChartTest, NanBreaksTheLineAndEmptyMeansNoData) {
  LineChart c;
  c.series.push_back({"a", {0, 1, 2, 3, 4}, {1, 2, NAN, 4, 5}, "", false, false});
  c.series.push_back({"b", {0, 1}, {INFINITY, NAN}, "", false, false});  // nothing to draw
  const std::string svg = render(c);
  auto lines = elements(svg, "polyline", "series");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(std::count(lines[0]["points"].begin(), lines[0]["points"].end(), ','), 2);
  EXPECT_EQ(chart_axes(c).y.lo, 1);  // the NaN and the infinity left out of the range
  EXPECT_EQ(svg.find("no-data"), std::string::npos);

  LineChart empty;
  empty.series.push_back({"none", {}, {}, "", false, false});
  const std::string e = render(empty);
  EXPECT_TRUE(elements(e, "polyline", "series").empty());
  EXPECT_NE(e.find("class=\"no-data\""), std::string::npos);
  EXPECT_DOUBLE_EQ(chart_axes(empty).x.lo, 0);
  EXPECT_DOUBLE_EQ(chart_axes(empty).x.hi, 1);
  // The marker's x counts in the range.
  LineChart marked;
  marked.series.push_back({"a", {0, 1}, {0, 1}, "", false, false});
  marked.markers.push_back({4, "best"});
  EXPECT_GE(chart_axes(marked).x.hi, 4);
  EXPECT_EQ(elements(render(marked), "line", "marker").size(), 1u);
}

TEST(BarChartTest, BarsAndErrorBars) {
  BarChart c;
  c.categories = {"esmm", "dnn"};
  c.series.push_back({"cvr auc", {0.70, 0.66}, {0.01, 0.0}, ""});
  c.series.push_back({"ctcvr auc", {0.80, NAN}, {}, ""});
  const ChartAxes axes = chart_axes(c);
  // Values far from 0: the axis starts a little below the smallest (0.66 - 0.1 * span).
  EXPECT_LT(axes.y.lo, 0.66);
  EXPECT_GT(axes.y.lo, 0.5);
  EXPECT_GE(axes.y.hi, 0.80);
  const std::string svg = render(c);
  auto bars = elements(svg, "rect", "bar");
  ASSERT_EQ(bars.size(), 3u);  // the NaN has none
  EXPECT_NE(svg.find(">n/a<"), std::string::npos);
  // Category c spans [c, c + 1) on x; series k's bar starts 10 % + k bar widths into it.
  const double band = axes.x.map(1) - axes.x.map(0), bar_w = 0.8 * band / 2;
  const double base = axes.y.map(axes.y.lo);
  EXPECT_EQ(bars[0]["x"], px(axes.x.map(0) + 0.1 * band));
  EXPECT_EQ(bars[0]["y"], px(axes.y.map(0.70)));
  EXPECT_EQ(bars[0]["height"], px(base - axes.y.map(0.70)));
  EXPECT_EQ(bars[0]["width"], px(bar_w - 1));
  EXPECT_EQ(bars[1]["x"], px(axes.x.map(0) + 0.1 * band + bar_w));  // ctcvr of esmm
  EXPECT_EQ(bars[2]["x"], px(axes.x.map(1) + 0.1 * band));          // cvr of dnn
  // One error bar (the 0 is none): from 0.69 to 0.71.
  auto errors = elements(svg, "line", "error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["y1"], px(axes.y.map(0.69)));
  EXPECT_EQ(errors[0]["y2"], px(axes.y.map(0.71)));
}

TEST(BarChartTest, FromZeroAndEmpty) {
  BarChart c;
  c.categories = {"a", "b"};
  c.series.push_back({"seconds", {12, 30}, {}, ""});
  EXPECT_DOUBLE_EQ(chart_axes(c).y.lo, 0);
  BarChart empty;
  const std::string e = render(empty);
  EXPECT_NE(e.find("class=\"no-data\""), std::string::npos);
  EXPECT_TRUE(elements(e, "rect", "bar").empty());
}

TEST(HeatmapTest, CellsFramesAndHatch) {
  Svg svg(300, 200, "arch");
  Heatmap m;
  m.x = 50;
  m.y = 40;
  m.cell = 20;
  m.row_labels = {"h1", "h2"};
  m.column_labels = {"h1", "h2", "h3"};
  for (int k = 0; k < 6; ++k) {
    HeatmapCell c;
    c.value = k / 5.0;
    c.hatched = k == 3;
    c.framed = k == 5;
    m.cells.push_back(c);
  }
  draw(svg, m);
  const std::string s = svg.str();
  auto cells = elements(s, "rect", "cell");
  ASSERT_EQ(cells.size(), 6u);
  EXPECT_EQ(cells[4]["x"], px(50 + 1 * 20));  // row 1, column 1
  EXPECT_EQ(cells[4]["y"], px(40 + 1 * 20));
  EXPECT_EQ(cells[0]["fill"], "#ffffff");
  EXPECT_EQ(cells[3]["fill"], "url(#arch-hatch)");
  EXPECT_EQ(elements(s, "pattern").size(), 1u);
  EXPECT_EQ(elements(s, "rect", "kept").size(), 1u);
  EXPECT_EQ(blue_scale(1), "#08306b");
}

TEST(SvgTest, EscapesText) {
  Svg svg(10, 10);
  svg.text(1, 2, "a < b & \"c\"");
  EXPECT_NE(svg.str().find(">a &lt; b &amp; &quot;c&quot;</text>"), std::string::npos);
  EXPECT_EQ(px(-0.01), "0.0");
}

}  // namespace
}  // namespace funnel::report
