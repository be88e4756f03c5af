#pragma once
// File IO: chunked line reading (bounded memory on any file size), buffered writing with
// checked errors, read-only memory maps, atomic publish of a written file or directory.

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace funnel {

/// Size of a regular file in bytes; throws Error naming the file when it cannot be stat'ed.
uint64_t file_size(const std::string& path);
bool path_exists(const std::string& path);
/// mkdir -p.
void make_dirs(const std::string& path);
/// rm -rf (no error when missing).
void remove_all(const std::string& path);
/// rename(2) with a clear error; atomically replaces a file (or an empty dir) at `to`.
void rename_path(const std::string& from, const std::string& to);
std::string read_text_file(const std::string& path);
/// Writes `content` to `path` via a temporary file and rename (readers never see half a file).
void write_text_file_atomic(const std::string& path, std::string_view content);
class FileWriter;
/// Writes `path` through `fill` into PATH.tmp, then renames it to `path`: either the whole new
/// file or (on any error, the temporary removed) the old one is there, never part of one.
void write_file_atomic(const std::string& path, const std::function<void(FileWriter&)>& fill);
std::string join_path(const std::string& dir, const std::string& name);
/// Final component of a path ("a/b/c.csv" -> "c.csv").
std::string base_name(const std::string& path);

/// Reads a file line by line in large chunks. Memory stays bounded by the chunk size plus the
/// longest line. Lines are returned without the trailing '\n' (and without '\r' before it).
class LineReader {
 public:
  struct Options {
    /// Bytes read per read(2) call.
    size_t chunk_bytes = size_t{4} << 20;
  };
  explicit LineReader(const std::string& path) : LineReader(path, Options()) {}
  LineReader(const std::string& path, Options options);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  /// Next line; false at end of file. The view is valid until the next call.
  bool next(std::string_view& line);
  /// 1-based number of the line last returned.
  uint64_t line_number() const { return line_number_; }
  /// True when the last returned line had no '\n' after it (last line of the file).
  bool last_line_unterminated() const { return unterminated_; }
  /// Bytes consumed so far (for progress and MB/s).
  uint64_t bytes_consumed() const { return consumed_; }
  const std::string& path() const { return path_; }

 private:
  bool refill();

  std::string path_;
  Options options_;
  int fd_ = -1;
  std::vector<char> buf_;
  size_t begin_ = 0;  // start of unconsumed data in buf_
  size_t end_ = 0;    // end of valid data in buf_
  bool eof_ = false;
  bool unterminated_ = false;
  uint64_t line_number_ = 0;
  uint64_t consumed_ = 0;
};

/// Buffered binary/text writer. Every failure (disk full, ...) throws Error naming the file.
class FileWriter {
 public:
  explicit FileWriter(const std::string& path, size_t buffer_bytes = size_t{1} << 20);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void write(const void* data, size_t n) {
    // Inline fast path: most writes are a few bytes into a buffer with room.
    if (n <= capacity_ - used_ && fd_ >= 0) {
      std::memcpy(buf_.get() + used_, data, n);
      used_ += n;
      written_ += n;
      return;
    }
    write_slow(data, n);
  }
  void write(std::string_view s) { write(s.data(), s.size()); }
  template <typename T>
  void write_pod(const T& v) {
    write(&v, sizeof(T));
  }
  /// Flushes and closes; further writes are errors. Called by the destructor if needed
  /// (where errors can only be logged), so call it explicitly.
  void close();
  uint64_t bytes_written() const { return written_; }
  const std::string& path() const { return path_; }

 private:
  void flush();
  void write_slow(const void* data, size_t n);
  /// write(2) until all of [p, p + n) is written (EINTR and short writes retried).
  void write_all(const char* p, size_t n);

  std::string path_;
  int fd_ = -1;
  // Uninitialised: a cache conversion keeps dozens of writers open, and zero-filling their
  // buffers up front cost more than the writes on small inputs.
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t used_ = 0;
  uint64_t written_ = 0;
};

/// Read-only memory map of a whole file (empty files map to an empty view).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return static_cast<const char*>(data_); }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  /// Hints the kernel about the access pattern (MADV_SEQUENTIAL / MADV_RANDOM / WILLNEED).
  enum class Access { kNormal, kSequential, kRandom, kWillNeed };
  void advise(Access access) const;

 private:
  std::string path_;
  void* data_ = nullptr;
  uint64_t size_ = 0;
};

/// Reads a binary file front to back in caller-sized pieces (read(2)); unlike a memory map,
/// the pages read never count toward this process's resident memory.
class SequentialFile {
 public:
  explicit SequentialFile(const std::string& path);
  ~SequentialFile();
  SequentialFile(const SequentialFile&) = delete;
  SequentialFile& operator=(const SequentialFile&) = delete;
  /// Reads up to `n` bytes; returns how many (0 at end of file). Throws on IO errors.
  size_t read(void* out, size_t n);
  /// Reads exactly `n` bytes or throws (truncated file).
  void read_exact(void* out, size_t n);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

/// Reads `n` bytes at `offset` (pread) from a file kept open; for random access into files too
/// large to map resident (e.g. the 10 GB Ali-CCP common-features file).
class RandomAccessFile {
 public:
  explicit RandomAccessFile(const std::string& path);
  ~RandomAccessFile();
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  void read(uint64_t offset, size_t n, char* out) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

/// Peak resident set size of this process (VmHWM), in bytes; 0 where unknown.
uint64_t peak_rss_bytes();
/// Current resident set size (VmRSS), in bytes; 0 where unknown.
uint64_t current_rss_bytes();

}  // namespace funnel
