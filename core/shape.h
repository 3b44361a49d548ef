// Shape: the dimensions of a tensor, where -1 (kUnknownDim) marks a dimension
// fixed only when the graph runs, typically the batch.
//
//   Shape images({kUnknownDim, 1, 28, 28});
//   images.ToString();          // "[?,1,28,28]"
//   images.WithDim(0, 128);     // [128,1,28,28]

#ifndef NABLA_CORE_SHAPE_H_
#define NABLA_CORE_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace nabla {

inline constexpr int64_t kUnknownDim = -1;

// kMaxElements is the default cap on the elements of one tensor (2^32, 16 GiB
// of f32); graphs that ask for more are refused rather than allocated.
inline constexpr int64_t kDefaultMaxElements = int64_t{1} << 32;

// True when dimensions `a` and `b` can be equal once unknown ones are
// known: equal, or either is kUnknownDim.
inline bool DimsAgree(int64_t a, int64_t b) {
  return a == b || a == kUnknownDim || b == kUnknownDim;
}

// The index in [0, rank) of `axis`, which may count from the end (-1 is the
// last axis), or an error naming it.
absl::StatusOr<int> ResolveAxis(int64_t axis, int rank);

class Shape {
 public:
  using Dims = absl::InlinedVector<int64_t, 6>;

  Shape() = default;  // a scalar
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(absl::Span<const int64_t> dims)
      : dims_(dims.begin(), dims.end()) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t dim(int i) const { return dims_[i]; }
  int64_t operator[](int i) const { return dims_[i]; }
  const Dims& dims() const { return dims_; }
  absl::Span<const int64_t> span() const { return dims_; }

  // True when no dimension is unknown.
  bool IsFullyDefined() const;

  // NumElements is the product of the dimensions (1 for a scalar), or -1 when
  // a dimension is unknown. Call only on validated shapes (see Validate).
  int64_t NumElements() const;

  // Validate checks every dimension is >= 0 or kUnknownDim and that the
  // known dimensions multiply to at most `max_elements` without overflow.
  absl::Status Validate(int64_t max_elements = kDefaultMaxElements) const;

  // A copy with dimension `i` replaced.
  Shape WithDim(int i, int64_t value) const;

  // True when the shapes have the same rank and agree wherever both are
  // known.
  bool IsCompatibleWith(const Shape& other) const;

  // "[?,1,28,28]"; "[]" for a scalar.
  std::string ToString() const;

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.dims_ == b.dims_;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  template <typename H>
  friend H AbslHashValue(H h, const Shape& s) {
    return H::combine(std::move(h), s.dims_);
  }

 private:
  Dims dims_;
};

}  // namespace nabla

#endif  // NABLA_CORE_SHAPE_H_
