#include "train/gate_plot.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/svg.h"

namespace funnel::train {

std::string gate_weights_svg(const nlohmann::json& gates, const std::string& title) {
  FUNNEL_CHECK(gates.is_object() && gates.contains("tasks") && gates["tasks"].is_array(),
               "gate plot: expected the JSON of TAML's gate weights");
  static const char* kKeys[3] = {"general", "task", "learner_specific"};
  static const char* kNames[3] = {"general experts", "task-specific experts",
                                  "learner-specific experts"};
  static const char* kColours[3] = {"#4c72b0", "#dd8452", "#55a868"};
  const int bar = 18, gap = 14, panel_gap = 40, plot_h = 200, left = 50, top = 80;
  // One panel per task, one cluster of three bars per learner.
  std::vector<int> widths;
  int width = left;
  for (const auto& task : gates["tasks"]) {
    const int w = static_cast<int>(task["learners"].size()) * (3 * bar + gap) + gap;
    widths.push_back(w);
    width += w + panel_gap;
  }
  width = std::max(width, 660);  // room for the legend and the subtitle
  const int height = top + plot_h + 70;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"20\" y=\"24\" font-size=\"15\" font-weight=\"bold\">" << svg::escape(title)
    << "</text>\n";
  s << "<text x=\"20\" y=\"44\" fill=\"#555555\">mean gate weight of each expert group per "
       "learner over "
    << gates.value("rows", 0) << " rows (the three add up to 1)</text>\n";
  for (int k = 0; k < 3; ++k) {
    const int x = 20 + k * 200;
    s << "<rect x=\"" << x << "\" y=\"54\" width=\"12\" height=\"12\" fill=\"" << kColours[k]
      << "\"/><text x=\"" << x + 16 << "\" y=\"64\">" << kNames[k] << "</text>\n";
  }
  // Axis: 0 to 1.
  const int y0 = top + plot_h;
  for (int tick = 0; tick <= 4; ++tick) {
    const double v = tick / 4.0;
    const int y = y0 - static_cast<int>(v * plot_h);
    s << "<line x1=\"" << left - 4 << "\" y1=\"" << y << "\" x2=\"" << width - 10 << "\" y2=\""
      << y << "\" stroke=\"#dddddd\"/><text x=\"" << left - 8 << "\" y=\"" << y + 4
      << "\" text-anchor=\"end\">" << svg::fmt(v) << "</text>\n";
  }
  int x0 = left;
  size_t t = 0;
  for (const auto& task : gates["tasks"]) {
    const std::string event = task.value("event", std::string());
    s << "<g class=\"task\">\n";
    int x = x0 + gap;
    for (const auto& learner : task["learners"]) {
      for (int k = 0; k < 3; ++k) {
        const double v = learner.value(kKeys[k], 0.0);
        const int h = static_cast<int>(v * plot_h + 0.5);
        s << "<rect class=\"bar\" x=\"" << x + k * bar << "\" y=\"" << y0 - h << "\" width=\""
          << bar - 2 << "\" height=\"" << h << "\" fill=\"" << kColours[k] << "\"><title>"
          << svg::escape(event) << ", learner " << learner.value("learner", 0) << ", "
          << kNames[k] << ": " << svg::fmt(v, "%.4f") << "</title></rect>\n";
      }
      s << "<text x=\"" << x + 3 * bar / 2 << "\" y=\"" << y0 + 16
        << "\" text-anchor=\"middle\">learner " << learner.value("learner", 0) << "</text>\n";
      x += 3 * bar + gap;
    }
    s << "<text x=\"" << x0 + widths[t] / 2 << "\" y=\"" << y0 + 36
      << "\" text-anchor=\"middle\" font-weight=\"bold\">" << svg::escape(event) << "</text>\n";
    s << "</g>\n";
    x0 += widths[t] + panel_gap;
    ++t;
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace funnel::train
