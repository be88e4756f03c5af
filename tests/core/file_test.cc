#include "core/file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include <string>
#include <vector>

#include "core/error.h"

namespace funnel {
namespace {

std::string temp_path(const std::string& name) {
  return join_path(::testing::TempDir(), "funnel_core_" + name);
}

std::vector<std::string> read_lines(const std::string& path, size_t chunk) {
  LineReader::Options o;
  o.chunk_bytes = chunk;
  LineReader r(path, o);
  std::vector<std::string> out;
  std::string_view line;
  while (r.next(line)) out.emplace_back(line);
  return out;
}

TEST(LineReader, SplitsLinesAcrossChunkBoundaries) {
  const std::string p = temp_path("lines.txt");
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; i < 500; ++i) {
    std::string line(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26));
    expected.push_back(line);
    content += line + (i % 3 == 0 ? "\r\n" : "\n");
  }
  write_text_file_atomic(p, content);
  // Tiny chunks force lines to straddle (and outgrow) the buffer.
  for (size_t chunk : {1u, 3u, 16u, 4096u}) EXPECT_EQ(read_lines(p, chunk), expected) << chunk;
}

TEST(LineReader, ASmallFileThatGrowsAfterOpeningIsReadWhole) {
  // The buffer of a small file is its size; lines appended after opening still come whole.
  const std::string p = temp_path("grows.txt");
  write_text_file_atomic(p, "a\n");
  LineReader r(p);
  std::FILE* f = std::fopen(p.c_str(), "ab");
  ASSERT_NE(f, nullptr);
  const std::string long_line(100000, 'x');
  std::fputs((long_line + "\nb\n").c_str(), f);
  std::fclose(f);
  std::vector<std::string> got;
  std::string_view line;
  while (r.next(line)) got.emplace_back(line);
  EXPECT_EQ(got, (std::vector<std::string>{"a", long_line, "b"}));
}

TEST(LineReader, LastLineWithoutNewline) {
  const std::string p = temp_path("unterminated.txt");
  write_text_file_atomic(p, "a,b\nc,d");
  LineReader r(p);
  std::string_view line;
  ASSERT_TRUE(r.next(line));
  EXPECT_EQ(line, "a,b");
  EXPECT_FALSE(r.last_line_unterminated());
  ASSERT_TRUE(r.next(line));
  EXPECT_EQ(line, "c,d");
  EXPECT_TRUE(r.last_line_unterminated());
  EXPECT_EQ(r.line_number(), 2u);
  EXPECT_FALSE(r.next(line));
  EXPECT_EQ(r.bytes_consumed(), 7u);
}

TEST(LineReader, EmptyFileAndMissingFile) {
  const std::string p = temp_path("empty.txt");
  write_text_file_atomic(p, "");
  LineReader r(p);
  std::string_view line;
  EXPECT_FALSE(r.next(line));
  EXPECT_THROW(LineReader(temp_path("does_not_exist")), Error);
}

TEST(FileWriter, RoundTripWithLargeAndSmallWrites) {
  const std::string p = temp_path("writer.bin");
  std::string big(3 << 20, 'x');
  {
    FileWriter w(p, 1024);
    w.write("head");
    w.write(big);
    w.write_pod(uint32_t{0xdeadbeef});
    w.close();
    EXPECT_EQ(w.bytes_written(), 4 + big.size() + 4);
  }
  MappedFile m(p);
  ASSERT_EQ(m.size(), 4 + big.size() + 4);
  EXPECT_EQ(std::string(m.data(), 4), "head");
  uint32_t tail;
  std::memcpy(&tail, m.data() + 4 + big.size(), 4);
  EXPECT_EQ(tail, 0xdeadbeefu);
  RandomAccessFile raf(p);
  char buf[4];
  raf.read(0, 4, buf);
  EXPECT_EQ(std::string(buf, 4), "head");
  EXPECT_THROW(raf.read(m.size() - 2, 4, buf), Error);
}

TEST(PeakRss, IsReported) { EXPECT_GT(peak_rss_bytes(), 0u); }

}  // namespace
}  // namespace funnel
