// Tensor: a dense, row-major array with a shape and a dtype.
//
// A Tensor shares its 64-byte-aligned buffer: copying a Tensor is cheap and
// both copies see the same elements. Clone() makes an independent copy.
//
//   NABLA_ASSIGN_OR_RETURN(Tensor x,
//                          Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4}));
//   x.data<float>()[3];                  // 4
//   Tensor y = x.Reshaped(Shape({4}));   // same elements, new shape

#ifndef NABLA_CORE_TENSOR_H_
#define NABLA_CORE_TENSOR_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace nabla {

namespace proto {
class TensorProto;
}

// TensorAllocationError is what a tensor's constructor throws when its
// buffer cannot be allocated: a std::bad_alloc that says how many bytes for
// what ("cannot allocate 4096 bytes for a tensor f32[32,32]"). The library's
// entry points (graph/session.h) turn it into kResourceExhausted.
class TensorAllocationError : public std::bad_alloc {
 public:
  TensorAllocationError(size_t bytes, DType dtype, const Shape& shape);
  const char* what() const noexcept override { return message_; }

 private:
  // Fixed, so that reporting a failed allocation allocates nothing.
  char message_[160];
};

// OutOfMemoryStatus is the kResourceExhausted status for `e` caught while
// doing `what`: "what: out of memory", followed for a TensorAllocationError
// by how many bytes of what.
absl::Status OutOfMemoryStatus(absl::string_view what, const std::bad_alloc& e);

// FailNthTensorAllocation is a test hook: the n-th tensor buffer allocated
// from now on (n >= 1) fails with TensorAllocationError, as if memory had
// run out, and later ones succeed again; 0 turns a pending failure off.
// Every tensor, arena buffer and kernel scratchpad goes through it.
void FailNthTensorAllocation(int64_t n);

class Tensor {
 public:
  // An empty tensor: no buffer, kInvalid dtype.
  Tensor() = default;

  // A zero-filled tensor. `shape` must be fully defined and validated.
  // Throws TensorAllocationError when memory runs out.
  Tensor(DType dtype, const Shape& shape);

  // FromVector is a tensor of `shape` holding `values` in row-major order;
  // InvalidArgument when `shape` is invalid or not fully defined or when
  // it has not exactly values.size() elements.
  template <typename T>
  static absl::StatusOr<Tensor> FromVector(const Shape& shape,
                                           absl::Span<const T> values);
  template <typename T>
  static absl::StatusOr<Tensor> FromVector(const Shape& shape,
                                           std::initializer_list<T> values) {
    return FromVector<T>(shape, absl::Span<const T>(values.begin(), values.size()));
  }
  // A tensor of `shape` with every element `value`.
  template <typename T>
  static Tensor Filled(const Shape& shape, T value);
  // A scalar f32 tensor.
  static Tensor Scalar(float value) { return Filled<float>(Shape(), value); }

  bool empty() const { return buffer_ == nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t num_elements() const { return num_elements_; }
  size_t nbytes() const { return num_elements_ * DTypeSize(dtype_); }

  void* raw_data() const { return buffer_.get(); }
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  absl::Span<T> flat() const {
    return absl::Span<T>(data<T>(), num_elements_);
  }

  // A view of the same buffer with another shape of as many elements.
  Tensor Reshaped(const Shape& shape) const;

  // A view of the same buffer as `dtype` and `shape`; the buffer must hold
  // at least that many bytes (see capacity()). Lets the executor reuse one
  // buffer for values whose lifetimes do not overlap.
  Tensor ViewAs(DType dtype, const Shape& shape) const;

  // Bytes the buffer can hold.
  size_t capacity() const { return capacity_; }

  // An independent copy.
  Tensor Clone() const;

  // Copies `other`'s elements into this tensor's buffer; dtype and element
  // count must match.
  absl::Status CopyFrom(const Tensor& other);

  // True when the tensors share a buffer.
  bool SharesBufferWith(const Tensor& other) const {
    return buffer_ == other.buffer_;
  }

  // "f32[2,3]".
  std::string DebugString() const;

  // Exact equality of dtype, shape and bytes.
  bool BitwiseEquals(const Tensor& other) const;

 private:
  std::shared_ptr<char> buffer_;
  DType dtype_ = DType::kInvalid;
  Shape shape_;
  int64_t num_elements_ = 0;
  size_t capacity_ = 0;
};

// Conversion to and from the serialized form. FromProto validates the shape
// against `max_elements` and the byte count against the shape.
void TensorToProto(const Tensor& tensor, proto::TensorProto* proto);
absl::StatusOr<Tensor> TensorFromProto(const proto::TensorProto& proto,
                                       int64_t max_elements = kDefaultMaxElements);

namespace internal {
// OK when `shape` is valid, fully defined and has `count` elements.
absl::Status CheckValueCount(const Shape& shape, size_t count);
}  // namespace internal

template <typename T>
absl::StatusOr<Tensor> Tensor::FromVector(const Shape& shape,
                                          absl::Span<const T> values) {
  absl::Status valid = internal::CheckValueCount(shape, values.size());
  if (!valid.ok()) return valid;
  Tensor t(DTypeOf<T>(), shape);
  if (!values.empty()) {
    std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  }
  return t;
}

template <typename T>
Tensor Tensor::Filled(const Shape& shape, T value) {
  Tensor t(DTypeOf<T>(), shape);
  for (T& v : t.flat<T>()) v = value;
  return t;
}

}  // namespace nabla

#endif  // NABLA_CORE_TENSOR_H_
