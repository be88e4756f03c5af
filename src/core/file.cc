#include "core/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/log.h"

namespace funnel {
namespace fs = std::filesystem;

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

uint64_t file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(path + ": cannot open: " + errno_text());
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw Error(path + ": cannot create directory: " + ec.message());
}

void remove_all(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw Error(path + ": cannot remove: " + ec.message());
}

void rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw Error("cannot rename " + from + " to " + to + ": " + errno_text());
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + errno_text());
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read error");
  return s;
}

void write_file_atomic(const std::string& path, const std::function<void(FileWriter&)>& fill) {
  const std::string tmp = path + ".tmp";
  try {
    FileWriter w(tmp);
    fill(w);
    w.close();
    rename_path(tmp, path);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_file_atomic(const std::string& path, std::string_view content) {
  write_file_atomic(path, [&](FileWriter& w) { w.write(content); });
}

std::string join_path(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

std::string base_name(const std::string& path) { return fs::path(path).filename().string(); }

// ---------------------------------------------------------------------------------------------
LineReader::LineReader(const std::string& path, Options options) : path_(path), options_(options) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(path + ": cannot open: " + errno_text());
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  // A small file gets a buffer of its size, not a whole chunk (many small inputs: tests,
  // predict requests, the fuzzers); refill() grows it if the file grows meanwhile.
  size_t bytes = options_.chunk_bytes;
  struct stat st;
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) < bytes) {
    bytes = std::max<size_t>(static_cast<size_t>(st.st_size) + 1, 4096);
  }
  buf_.resize(bytes);
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool LineReader::refill() {
  if (eof_) return false;
  // Move the unconsumed tail to the front; grow when a single line fills the buffer.
  const size_t tail = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, tail);
    begin_ = 0;
    end_ = tail;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  for (;;) {
    const ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": read error: " + errno_text());
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<size_t>(n);
    return true;
  }
}

bool LineReader::next(std::string_view& line) {
  size_t scan_from = begin_;
  for (;;) {
    const char* base = buf_.data();
    const void* nl = std::memchr(base + scan_from, '\n', end_ - scan_from);
    if (nl != nullptr) {
      const size_t pos = static_cast<const char*>(nl) - base;
      size_t len = pos - begin_;
      if (len > 0 && base[begin_ + len - 1] == '\r') --len;
      line = std::string_view(base + begin_, len);
      consumed_ += pos + 1 - begin_;
      begin_ = pos + 1;
      ++line_number_;
      unterminated_ = false;
      return true;
    }
    const size_t scanned = end_ - begin_;
    if (!refill()) {
      if (end_ == begin_) return false;
      // Last line without a trailing newline.
      const char* b = buf_.data();
      size_t len = end_ - begin_;
      if (b[begin_ + len - 1] == '\r') --len;
      line = std::string_view(buf_.data() + begin_, len);
      consumed_ += end_ - begin_;
      begin_ = end_;
      ++line_number_;
      unterminated_ = true;
      return true;
    }
    scan_from = begin_ + scanned;
  }
}

// ---------------------------------------------------------------------------------------------
FileWriter::FileWriter(const std::string& path, size_t buffer_bytes) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path + ": cannot create: " + errno_text());
  capacity_ = buffer_bytes > 0 ? buffer_bytes : 1;
  buf_.reset(new char[capacity_]);
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) {
    try {
      close();
    } catch (const std::exception& e) {
      log_error(e.what());
    }
  }
}

void FileWriter::write_slow(const void* data, size_t n) {
  if (fd_ < 0) throw Error(path_ + ": write after close");
  const char* p = static_cast<const char*>(data);
  if (used_ + n > capacity_) {
    flush();
    if (n >= capacity_) {
      write_all(p, n);  // large writes bypass the buffer
      written_ += n;
      return;
    }
  }
  std::memcpy(buf_.get() + used_, p, n);
  used_ += n;
  written_ += n;
}

void FileWriter::flush() {
  write_all(buf_.get(), used_);
  used_ = 0;
}

void FileWriter::write_all(const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": write error: " + errno_text());
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void FileWriter::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  try {
    flush();
  } catch (...) {
    ::close(fd);
    fd_ = -1;
    throw;
  }
  fd_ = -1;
  if (::close(fd) != 0) throw Error(path_ + ": close error: " + errno_text());
}

// ---------------------------------------------------------------------------------------------
MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + errno_text());
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw Error(path + ": cannot stat: " + errno_text());
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    if (data_ == MAP_FAILED) {
      data_ = nullptr;
      ::close(fd);
      throw Error(path + ": cannot map: " + errno_text());
    }
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

void MappedFile::advise(Access access) const {
  if (data_ == nullptr) return;
  int advice = MADV_NORMAL;
  switch (access) {
    case Access::kNormal:
      advice = MADV_NORMAL;
      break;
    case Access::kSequential:
      advice = MADV_SEQUENTIAL;
      break;
    case Access::kRandom:
      advice = MADV_RANDOM;
      break;
    case Access::kWillNeed:
      advice = MADV_WILLNEED;
      break;
  }
  ::madvise(data_, size_, advice);
}

// ---------------------------------------------------------------------------------------------
SequentialFile::SequentialFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(path + ": cannot open: " + errno_text());
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

SequentialFile::~SequentialFile() {
  if (fd_ >= 0) ::close(fd_);
}

size_t SequentialFile::read(void* out, size_t n) {
  char* p = static_cast<char*>(out);
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd_, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": read error: " + errno_text());
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

void SequentialFile::read_exact(void* out, size_t n) {
  if (read(out, n) != n) throw Error(path_ + ": unexpected end of file");
}

// ---------------------------------------------------------------------------------------------
RandomAccessFile::RandomAccessFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(path + ": cannot open: " + errno_text());
}

RandomAccessFile::~RandomAccessFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RandomAccessFile::read(uint64_t offset, size_t n, char* out) const {
  while (n > 0) {
    const ssize_t r = ::pread(fd_, out, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(path_ + ": read error: " + errno_text());
    }
    if (r == 0) throw Error(path_ + ": unexpected end of file (file changed while reading?)");
    out += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

// ---------------------------------------------------------------------------------------------
namespace {
uint64_t proc_status_kb(const char* key) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  const size_t klen = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, klen) == 0) {
      kb = std::strtoull(line + klen, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kb;
}
}  // namespace

uint64_t peak_rss_bytes() { return proc_status_kb("VmHWM:") * 1024; }
uint64_t current_rss_bytes() { return proc_status_kb("VmRSS:") * 1024; }

}  // namespace funnel
