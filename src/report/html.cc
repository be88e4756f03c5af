#include "report/html.h"

#include <regex>
#include <sstream>

#include "report/svg.h"

namespace funnel::report {
namespace {

/// *emphasis* and `code` of one escaped line.
std::string inline_markup(const std::string& text) {
  static const std::regex code("`([^`]+)`"), em("\\*([^*]+)\\*");
  std::string s = std::regex_replace(html_escape(text), code, "<code>$1</code>");
  return std::regex_replace(s, em, "<em>$1</em>");
}

std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string s = line;
  if (!s.empty() && s.front() == '|') s.erase(0, 1);
  if (!s.empty() && s.back() == '|') s.pop_back();
  std::string cell;
  std::istringstream in(s);
  while (std::getline(in, cell, '|')) {
    const size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return cells;
}

const char* kStyle = R"(
body { font-family: sans-serif; font-size: 14px; color: #222; max-width: 1100px; margin: 0 auto;
       padding: 16px 24px; line-height: 1.4; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 32px; }
h3, h4 { font-size: 15px; margin-bottom: 6px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
td.text, th.text { text-align: left; }
tr.failed td { background: #fde8e8; }
tr.oracle td { font-style: italic; color: #444; }
.status-failed { color: #b00020; font-weight: bold; }
figure { margin: 12px 0 20px; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; max-width: 900px; }
.figures { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: flex-start; }
.figures figure { margin: 4px 0 12px; flex: 0 1 auto; }
.figures figcaption { max-width: 420px; }
figcaption { max-width: 640px; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
nav ul { columns: 2; font-size: 13px; }
.muted { color: #666; }
section { break-inside: auto; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  nav { display: none; }
  h2 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
)";

}  // namespace

std::string html_escape(const std::string& s) { return xml_escape(s); }

std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows,
                       const std::vector<std::string>& row_classes, const std::string& id) {
  std::ostringstream s;
  s << "<table" << (id.empty() ? "" : " id=\"" + html_escape(id) + "\"") << ">\n<tr>";
  for (const auto& h : header) s << "<th>" << h << "</th>";
  s << "</tr>\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::string cls = r < row_classes.size() ? row_classes[r] : "";
    s << "<tr" << (cls.empty() ? "" : " class=\"" + cls + "\"") << ">";
    for (const auto& c : rows[r]) s << "<td>" << c << "</td>";
    s << "</tr>\n";
  }
  s << "</table>\n";
  return s.str();
}

std::string markdown_to_html(const std::string& markdown) {
  std::istringstream in(markdown);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::ostringstream out;
  for (size_t k = 0; k < lines.size();) {
    const std::string& line = lines[k];
    if (line.find_first_not_of(' ') == std::string::npos) {
      ++k;
    } else if (line[0] == '#') {
      const size_t level = std::min<size_t>(line.find_first_not_of('#'), 6);
      const size_t h = std::min<size_t>(std::max<size_t>(level, 3), 6);  // below the page's h2
      out << "<h" << h << ">" << inline_markup(line.substr(line.find_first_not_of("# "))) << "</h"
          << h << ">\n";
      ++k;
    } else if (line[0] == '|') {
      std::vector<std::vector<std::string>> rows;
      for (; k < lines.size() && !lines[k].empty() && lines[k][0] == '|'; ++k) {
        rows.push_back(table_cells(lines[k]));
      }
      std::vector<bool> left;
      const bool aligned =
          rows.size() >= 2 && !rows[1].empty() && rows[1][0].find("---") != std::string::npos;
      if (aligned) {
        for (const auto& c : rows[1]) left.push_back(c.empty() || c.back() != ':');
      }
      out << "<table>\n";
      for (size_t r = 0; r < rows.size(); ++r) {
        if (aligned && r == 1) continue;
        const char* tag = r == 0 ? "th" : "td";
        out << "<tr>";
        for (size_t c = 0; c < rows[r].size(); ++c) {
          const bool l = c < left.size() ? left[c] : c == 0;
          out << "<" << tag << (l ? " class=\"text\"" : "") << ">" << inline_markup(rows[r][c])
              << "</" << tag << ">";
        }
        out << "</tr>\n";
      }
      out << "</table>\n";
    } else {
      out << "<p>";
      for (bool first = true;
           k < lines.size() && !lines[k].empty() && lines[k][0] != '#' && lines[k][0] != '|';
           ++k, first = false) {
        out << (first ? "" : "\n") << inline_markup(lines[k]);
      }
      out << "</p>\n";
    }
  }
  return out.str();
}

std::string inline_svg(const std::string& svg, const std::string& prefix,
                       const std::string& root_id) {
  std::string s = svg;
  if (s.rfind("<?xml", 0) == 0) s.erase(0, s.find("?>") + 2);
  static const std::regex id("id=\"([^\"]+)\""), url("url\\(#([^)]+)\\)"),
      href("href=\"#([^\"]+)\"");
  s = std::regex_replace(s, id, "id=\"" + prefix + "-$1\"");
  s = std::regex_replace(s, url, "url(#" + prefix + "-$1)");
  s = std::regex_replace(s, href, "href=\"#" + prefix + "-$1\"");
  const size_t root = s.find("<svg");
  if (root != std::string::npos) {
    s.insert(root + 4, " id=\"" + html_escape(root_id) + "\"");
    // The root's own id, if it had one, is now a duplicate attribute: drop the prefixed one.
    const size_t end = s.find('>', root);
    const size_t dup = s.find(" id=\"" + prefix + "-", root);
    if (dup != std::string::npos && dup < end) {
      s.erase(dup, s.find('"', dup + 5) - dup + 1);
    }
  }
  const size_t b = s.find_first_not_of(" \n");
  return b == std::string::npos ? "" : s.substr(b);
}

std::string html_page(const std::string& title, const std::string& body) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<title>" << html_escape(title) << "</title>\n<style>" << kStyle << "</style>\n</head>\n"
    << "<body>\n"
    << body << "</body>\n</html>\n";
  return s.str();
}

}  // namespace funnel::report
