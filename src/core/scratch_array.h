#pragma once
// Large uninitialised working arrays (metric sort buffers, vocabulary counting tables). A 10M-row split needs ~160 MB of sort
// buffers per call; std::vector would zero them first, and on the VMs we measured
// (docs/metrics.md) touching fresh 4 KiB pages cost more than the sort itself (~0.3 s per
// 80 MB). Big arrays are therefore 2 MiB aligned and, on Linux, marked for transparent huge
// pages (madvise; a no-op where THP is off), which cut that to ~15 ms.

#include <cstddef>
#include <memory>
#include <type_traits>

namespace funnel {

namespace detail {
void* allocate_scratch(size_t bytes);
struct FreeScratch {
  void operator()(void* p) const;
};
}  // namespace detail

/// Fixed-size array of trivially copyable T whose elements start uninitialised.
template <typename T>
class ScratchArray {
  static_assert(std::is_trivially_copyable_v<T>, "ScratchArray holds plain values only");

 public:
  explicit ScratchArray(size_t n)
      : data_(static_cast<T*>(detail::allocate_scratch(n * sizeof(T)))), size_(n) {}

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }

 private:
  std::unique_ptr<T, detail::FreeScratch> data_;
  size_t size_;
};

}  // namespace funnel
