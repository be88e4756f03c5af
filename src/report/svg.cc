#include "report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace funnel::report {

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fmt(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string px(double v) {
  std::string s = fmt(v, "%.1f");
  return s == "-0.0" ? "0.0" : s;
}

std::string blue_scale(double v) {
  v = std::isnan(v) ? 0.0 : std::min(1.0, std::max(0.0, v));
  const int r = static_cast<int>(std::lround(255 - v * (255 - 8)));
  const int g = static_cast<int>(std::lround(255 - v * (255 - 48)));
  const int b = static_cast<int>(std::lround(255 - v * (255 - 107)));
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", r, g, b);
  return buf;
}

std::string palette(size_t i) {
  // Colour-blind-safe categorical colours (Okabe-Ito order, black last).
  static const char* kColours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                   "#e69f00", "#56b4e9", "#f0e442", "#000000"};
  return kColours[i % (sizeof kColours / sizeof kColours[0])];
}

Svg::Svg(double width, double height, const std::string& id)
    : id_(id), width_(width), height_(height) {}

void Svg::text(double x, double y, const std::string& s, const std::string& attrs) {
  body_ << "<text x=\"" << px(x) << "\" y=\"" << px(y) << "\"" << (attrs.empty() ? "" : " ")
        << attrs << ">" << xml_escape(s) << "</text>\n";
}

void Svg::line(double x1, double y1, double x2, double y2, const std::string& stroke,
               const std::string& attrs) {
  body_ << "<line x1=\"" << px(x1) << "\" y1=\"" << px(y1) << "\" x2=\"" << px(x2) << "\" y2=\""
        << px(y2) << "\" stroke=\"" << stroke << "\"" << (attrs.empty() ? "" : " ") << attrs
        << "/>\n";
}

void Svg::rect(double x, double y, double w, double h, const std::string& fill,
               const std::string& attrs, const std::string& title, const std::string& cls) {
  body_ << "<rect";
  if (!cls.empty()) body_ << " class=\"" << cls << "\"";
  body_ << " x=\"" << px(x) << "\" y=\"" << px(y) << "\" width=\"" << px(std::max(0.0, w))
        << "\" height=\"" << px(std::max(0.0, h)) << "\" fill=\"" << fill << "\""
        << (attrs.empty() ? "" : " ") << attrs;
  if (title.empty()) {
    body_ << "/>\n";
  } else {
    body_ << "><title>" << xml_escape(title) << "</title></rect>\n";
  }
}

void Svg::polyline(const std::string& points, const std::string& stroke, const std::string& attrs) {
  body_ << "<polyline fill=\"none\" stroke=\"" << stroke << "\" points=\"" << points << "\""
        << (attrs.empty() ? "" : " ") << attrs << "/>\n";
}

void Svg::circle(double x, double y, double r, const std::string& fill, const std::string& title) {
  body_ << "<circle cx=\"" << px(x) << "\" cy=\"" << px(y) << "\" r=\"" << px(r) << "\" fill=\""
        << fill << "\">";
  if (!title.empty()) body_ << "<title>" << xml_escape(title) << "</title>";
  body_ << "</circle>\n";
}

std::string Svg::hatch() {
  const std::string id = (id_.empty() ? "" : id_ + "-") + "hatch";
  if (!hatch_defined_) {
    defs_ << "<pattern id=\"" << id
          << "\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
             "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#eeeeee\"/>"
             "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#bbbbbb\" stroke-width=\"2\"/>"
             "</pattern>";
    hatch_defined_ = true;
  }
  return "url(#" + id + ")";
}

void Svg::raw(const std::string& markup) { body_ << markup; }

std::string Svg::str() const {
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\"";
  if (!id_.empty()) s << " id=\"" << xml_escape(id_) << "\"";
  s << " width=\"" << px(width_) << "\" height=\"" << px(height_) << "\" viewBox=\"0 0 "
    << px(width_) << " " << px(height_) << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  const std::string defs = defs_.str();
  if (!defs.empty()) s << "<defs>" << defs << "</defs>\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" << body_.str() << "</svg>\n";
  return s.str();
}

}  // namespace funnel::report
