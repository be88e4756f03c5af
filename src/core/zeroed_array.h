#pragma once
// A fixed-size array of trivially-copyable values that starts zeroed. Memory comes straight
// from the kernel as zero pages, so optimizer state for rows that are never touched costs
// address space but no resident memory. Large arrays are 2 MB aligned and advised for
// transparent huge pages: embedding rows are accessed at random, and with 4 KB pages every
// row touch of a multi-GB table is a TLB miss (and the first touch a page fault).

#include <cstddef>
#include <type_traits>
#include <utility>

namespace funnel {

namespace detail {
/// Zeroed storage of `bytes` bytes (nullptr for 0); throws std::bad_alloc on failure.
void* allocate_zeroed(size_t bytes);
void free_zeroed(void* p, size_t bytes);
}  // namespace detail

template <typename T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T>, "ZeroedArray holds plain values only");

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t size)
      : data_(static_cast<T*>(detail::allocate_zeroed(size * sizeof(T)))), size_(size) {}
  ~ZeroedArray() { detail::free_zeroed(data_, bytes()); }
  ZeroedArray(ZeroedArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  ZeroedArray& operator=(ZeroedArray&& other) noexcept {
    if (this != &other) {
      detail::free_zeroed(data_, bytes());
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace funnel
