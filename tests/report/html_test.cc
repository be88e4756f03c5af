#include "report/html.h"

#include <gtest/gtest.h>

#include <string>

namespace funnel::report {
namespace {

TEST(Markdown, HeadingsTablesAndParagraphs) {
  const std::string md =
      "#### AUC <and> NLL\n\n| model | runs | CVR AUC |\n|---|---:|---:|\n| *oracle* | - | 0.75 |\n"
      "| esmm | 2 | 0.70 ± 0.01 |\n\nGain: `dnn` is the baseline\nsecond line\n";
  const std::string html = markdown_to_html(md);
  EXPECT_NE(html.find("<h4>AUC &lt;and&gt; NLL</h4>"), std::string::npos) << html;
  // The alignment row is dropped; the first column is text (left), the others numbers.
  EXPECT_EQ(html.find("---"), std::string::npos);
  EXPECT_NE(html.find("<tr><th class=\"text\">model</th><th>runs</th><th>CVR AUC</th></tr>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td class=\"text\"><em>oracle</em></td>"), std::string::npos);
  EXPECT_NE(html.find("<td>0.70 ± 0.01</td>"), std::string::npos);
  EXPECT_NE(html.find("<p>Gain: <code>dnn</code> is the baseline\nsecond line</p>"),
            std::string::npos)
      << html;
  EXPECT_EQ(markdown_to_html(""), "");
}

TEST(InlineSvg, IdsArePrefixedAndTheRootNamed) {
  const std::string svg =
      "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\">"
      "<defs><pattern id=\"hatch\"/></defs><rect fill=\"url(#hatch)\"/><use href=\"#hatch\"/>"
      "</svg>\n";
  const std::string out = inline_svg(svg, "a1", "svg-arch-1");
  EXPECT_EQ(out.rfind("<svg id=\"svg-arch-1\" xmlns=", 0), 0u) << out;
  EXPECT_NE(out.find("<pattern id=\"a1-hatch\"/>"), std::string::npos);
  EXPECT_NE(out.find("fill=\"url(#a1-hatch)\""), std::string::npos);
  EXPECT_NE(out.find("href=\"#a1-hatch\""), std::string::npos);
  EXPECT_EQ(out.find("<?xml"), std::string::npos);
  // A root that had an id keeps only the new one.
  const std::string named = inline_svg("<svg id=\"old\" width=\"1\"></svg>", "p", "new");
  EXPECT_EQ(named, "<svg id=\"new\" width=\"1\"></svg>");
}

TEST(HtmlTable, EscapingIsTheCallersAndClassesMarkRows) {
  const std::string t = html_table({"a", "b"}, {{"1", "x"}, {"2", "y"}}, {"", "failed"}, "t1");
  EXPECT_NE(t.find("<table id=\"t1\">"), std::string::npos);
  EXPECT_NE(t.find("<tr><td>1</td><td>x</td></tr>"), std::string::npos);
  EXPECT_NE(t.find("<tr class=\"failed\"><td>2</td><td>y</td></tr>"), std::string::npos);
  EXPECT_EQ(html_escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
  const std::string page = html_page("T & U", "<p>body</p>\n");
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<title>T &amp; U</title>"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace funnel::report
