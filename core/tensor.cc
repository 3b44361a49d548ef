#include "core/tensor.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "proto/graph.pb.h"

namespace nabla {
namespace {

constexpr size_t kAlignment = 64;

// FailNthTensorAllocation's countdown: allocations left before the one that
// fails; 0 when none is to fail.
std::atomic<int64_t> allocations_before_failure{0};

// True when the test hook says this allocation fails.
bool InjectedFailure() {
  if (allocations_before_failure.load(std::memory_order_relaxed) <= 0) {
    return false;
  }
  return allocations_before_failure.fetch_sub(1, std::memory_order_relaxed) ==
         1;
}

std::shared_ptr<char> AllocateAligned(size_t nbytes, DType dtype,
                                      const Shape& shape) {
  // aligned_alloc wants a multiple of the alignment; a zero-byte tensor
  // still gets a buffer so that "empty" means "no tensor".
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  char* p = InjectedFailure()
                ? nullptr
                : static_cast<char*>(std::aligned_alloc(kAlignment, rounded));
  if (p == nullptr) throw TensorAllocationError(nbytes, dtype, shape);
  std::memset(p, 0, rounded);
  return std::shared_ptr<char>(p, [](char* q) { std::free(q); });
}

}  // namespace

TensorAllocationError::TensorAllocationError(size_t bytes, DType dtype,
                                             const Shape& shape) {
  // Shape::ToString allocates; the dims are written here instead.
  int length = std::snprintf(message_, sizeof(message_),
                             "cannot allocate %zu bytes for a tensor %s[",
                             bytes, DTypeName(dtype).data());
  for (int i = 0; i < shape.rank() && length > 0 &&
                  length < static_cast<int>(sizeof(message_));
       ++i) {
    length += std::snprintf(message_ + length, sizeof(message_) - length,
                            i == 0 ? "%lld" : ",%lld",
                            static_cast<long long>(shape[i]));
  }
  if (length > 0 && length < static_cast<int>(sizeof(message_))) {
    std::snprintf(message_ + length, sizeof(message_) - length, "]");
  }
}

absl::Status OutOfMemoryStatus(absl::string_view what,
                               const std::bad_alloc& e) {
  if (dynamic_cast<const TensorAllocationError*>(&e) == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory"));
  }
  return absl::ResourceExhaustedError(
      absl::StrCat(what, ": out of memory: ", e.what()));
}

void FailNthTensorAllocation(int64_t n) {
  allocations_before_failure.store(n > 0 ? n : 0, std::memory_order_relaxed);
}

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kI32:
      return "i32";
    case DType::kI64:
      return "i64";
    case DType::kU8:
      return "u8";
    case DType::kInvalid:
      break;
  }
  return "invalid";
}

Tensor::Tensor(DType dtype, const Shape& shape)
    : dtype_(dtype), shape_(shape), num_elements_(shape.NumElements()) {
  if (num_elements_ < 0) num_elements_ = 0;
  buffer_ = AllocateAligned(nbytes(), dtype_, shape_);
  capacity_ = nbytes();
}

Tensor Tensor::ViewAs(DType dtype, const Shape& shape) const {
  Tensor view = *this;
  view.dtype_ = dtype;
  view.shape_ = shape;
  view.num_elements_ = shape.NumElements();
  return view;
}

Tensor Tensor::Reshaped(const Shape& shape) const {
  Tensor view = *this;
  view.shape_ = shape;
  view.num_elements_ = shape.NumElements();
  return view;
}

Tensor Tensor::Clone() const {
  if (empty()) return Tensor();
  Tensor copy(dtype_, shape_);
  std::memcpy(copy.raw_data(), raw_data(), nbytes());
  return copy;
}

absl::Status Tensor::CopyFrom(const Tensor& other) {
  if (other.dtype_ != dtype_ || other.num_elements_ != num_elements_) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot copy ", other.DebugString(), " into ",
                     DebugString()));
  }
  if (raw_data() != other.raw_data()) {
    std::memcpy(raw_data(), other.raw_data(), nbytes());
  }
  return absl::OkStatus();
}

std::string Tensor::DebugString() const {
  return absl::StrCat(DTypeName(dtype_), shape_.ToString());
}

bool Tensor::BitwiseEquals(const Tensor& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         std::memcmp(raw_data(), other.raw_data(), nbytes()) == 0;
}

void TensorToProto(const Tensor& tensor, proto::TensorProto* proto) {
  proto->Clear();
  proto->set_dtype(static_cast<proto::DataType>(tensor.dtype()));
  for (int64_t d : tensor.shape().dims()) proto->add_dims(d);
  proto->set_content(static_cast<const char*>(tensor.raw_data()),
                     tensor.nbytes());
}

absl::StatusOr<Tensor> TensorFromProto(const proto::TensorProto& proto,
                                       int64_t max_elements) {
  DType dtype = static_cast<DType>(proto.dtype());
  if (DTypeSize(dtype) == 0 || proto.dtype() > proto::DT_UINT8) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor has invalid dtype ", proto.dtype()));
  }
  Shape shape(absl::MakeConstSpan(proto.dims().data(), proto.dims_size()));
  NABLA_RETURN_IF_ERROR(shape.Validate(max_elements));
  if (!shape.IsFullyDefined()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor shape ", shape.ToString(), " has an unknown dimension"));
  }
  // The content's length is checked against the declared shape before the
  // tensor is allocated, so that a file's lie costs an error, not memory.
  // Validate bounded the element count; the multiplication is still
  // checked, since max_elements is the caller's.
  const int64_t elements = shape.NumElements();
  const int64_t element_size = static_cast<int64_t>(DTypeSize(dtype));
  if (elements > std::numeric_limits<int64_t>::max() / element_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", DTypeName(dtype), shape.ToString(),
        " needs more bytes than a file can hold"));
  }
  const int64_t needed = elements * element_size;
  if (static_cast<uint64_t>(needed) != proto.content().size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor ", DTypeName(dtype), shape.ToString(), " needs ", needed,
        " bytes but has ", proto.content().size()));
  }
  Tensor t(dtype, shape);
  std::memcpy(t.raw_data(), proto.content().data(), t.nbytes());
  return t;
}

namespace internal {

absl::Status CheckValueCount(const Shape& shape, size_t count) {
  NABLA_RETURN_IF_ERROR(shape.Validate());
  if (!shape.IsFullyDefined()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Tensor::FromVector: shape ", shape.ToString(),
        " has an unknown dimension"));
  }
  if (static_cast<uint64_t>(shape.NumElements()) != count) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Tensor::FromVector: shape ", shape.ToString(), " has ",
        shape.NumElements(), " elements but ", count, " values were given"));
  }
  return absl::OkStatus();
}

}  // namespace internal

}  // namespace nabla
