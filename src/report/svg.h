#pragma once
// The SVG text every picture of Funnel is written with: deterministic (the same input gives
// the same bytes: fixed number formats, no clocks, no random ids), self-contained (no
// scripts, fonts or links), well-formed XML with a viewBox.

#include <sstream>
#include <string>

namespace funnel::report {

/// Text for XML content and attribute values.
std::string xml_escape(const std::string& s);
/// A number with a printf format ("%.2f" unless told).
std::string fmt(double v, const char* format = "%.2f");
/// A pixel coordinate: one decimal, "-0.0" written "0.0".
std::string px(double v);
/// White (0) to dark blue (1), clamped: the heatmaps' scale.
std::string blue_scale(double v);
/// The series colours, in order (repeats after the last).
std::string palette(size_t i);

class Svg {
 public:
  /// `id`: the root element's id and the prefix of the ids of its definitions (hatch pattern),
  /// so that several pictures can sit on one page; empty = none.
  Svg(double width, double height, const std::string& id = "");

  void text(double x, double y, const std::string& s, const std::string& attrs = "");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke,
            const std::string& attrs = "");
  /// `title`: the tooltip (an SVG <title> child); `cls`: the class attribute.
  void rect(double x, double y, double w, double h, const std::string& fill,
            const std::string& attrs = "", const std::string& title = "",
            const std::string& cls = "");
  /// A polyline through the points "x,y x,y ...".
  void polyline(const std::string& points, const std::string& stroke, const std::string& attrs);
  void circle(double x, double y, double r, const std::string& fill, const std::string& title);
  /// The fill of a hatched (not applicable) cell; defines the pattern on first use.
  std::string hatch();
  /// Raw markup (a group's start or end).
  void raw(const std::string& markup);

  /// The document, closed.
  std::string str() const;

 private:
  std::string id_;
  std::ostringstream defs_, body_;
  bool hatch_defined_ = false;
  double width_, height_;
};

}  // namespace funnel::report
