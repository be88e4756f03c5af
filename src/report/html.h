#pragma once
// The pieces of the HTML report's page: one self-contained document (inline CSS and SVG; no
// script, font, image or link to fetch), readable on screen and printed.

#include <string>
#include <vector>

namespace funnel::report {

/// Text for HTML content and attribute values (the XML escapes).
std::string html_escape(const std::string& s);

/// A table: `header` cells, then rows of cells (already HTML: escape text first). `row_classes`
/// (empty, or one per row) sets each <tr>'s class ("failed" marks a failed run).
std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows,
                       const std::vector<std::string>& row_classes = {},
                       const std::string& id = "");

/// The markdown Funnel writes (metric::compare_markdown): "#" headings, "|" tables (the second
/// row the alignment row, "---:" right-aligned), paragraphs; *emphasis* and `code` inline.
std::string markdown_to_html(const std::string& markdown);

/// An SVG document written for a file (AutoHERI's arch.svg) made fit to sit in a page beside
/// others: the XML declaration dropped, every id="x" and its references (url(#x), href="#x")
/// prefixed with `prefix`, the root <svg> given id `root_id`.
std::string inline_svg(const std::string& svg, const std::string& prefix,
                       const std::string& root_id);

/// The whole page: <head> with `title` and the style sheet, then `body`.
std::string html_page(const std::string& title, const std::string& body);

}  // namespace funnel::report
