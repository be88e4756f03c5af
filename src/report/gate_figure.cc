#include "report/gate_figure.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "report/plot.h"

namespace funnel::report {

std::string gate_weights_svg(const nlohmann::json& gates, const std::string& title,
                             const std::string& id) {
  FUNNEL_CHECK(gates.is_object() && gates.contains("tasks") && gates["tasks"].is_array(),
               "gate plot: expected the JSON of TAML's gate weights");
  static const char* kKeys[3] = {"general", "task", "learner_specific"};
  static const char* kNames[3] = {"general experts", "task-specific experts",
                                  "learner-specific experts"};
  BarChart chart;
  chart.id = id;
  chart.title = title + " (mean over " + std::to_string(gates.value("rows", 0)) + " rows)";
  chart.y_label = "gate weight";
  chart.y_min = 0;
  chart.y_max = 1;
  for (int k = 0; k < 3; ++k) chart.series.push_back({kNames[k], {}, {}, ""});
  for (const auto& task : gates["tasks"]) {
    FUNNEL_CHECK(task.is_object() && task.contains("learners") && task["learners"].is_array(),
                 "gate plot: a task without its learners");
    const std::string event = task.value("event", std::string());
    for (const auto& learner : task["learners"]) {
      chart.categories.push_back("learner " + std::to_string(learner.value("learner", 0)) + "\n" +
                                 event);
      for (int k = 0; k < 3; ++k) chart.series[k].values.push_back(learner.value(kKeys[k], 0.0));
    }
  }
  chart.frame.width = std::max(660.0, 80 + 90.0 * static_cast<double>(chart.categories.size()));
  chart.frame.bottom = 56;
  return render(chart);
}

}  // namespace funnel::report
