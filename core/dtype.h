// Element types of nabla tensors.
//
// f32 is the compute type; i32 and i64 carry labels and indices; u8 holds
// oneDNN's pooling workspace, which users never see.

#ifndef NABLA_CORE_DTYPE_H_
#define NABLA_CORE_DTYPE_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace nabla {

enum class DType : signed char { kInvalid = 0, kF32, kI32, kI64, kU8 };

// DTypeSize returns the size in bytes of one element (0 for kInvalid).
constexpr size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kI64:
      return 8;
    case DType::kU8:
      return 1;
    case DType::kInvalid:
      break;
  }
  return 0;
}

// DTypeName returns "f32", "i32", "i64", "u8" or "invalid".
absl::string_view DTypeName(DType dtype);

// DTypeOf<T>() maps a C++ element type to its DType.
template <typename T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() { return DType::kF32; }
template <>
constexpr DType DTypeOf<int32_t>() { return DType::kI32; }
template <>
constexpr DType DTypeOf<int64_t>() { return DType::kI64; }
template <>
constexpr DType DTypeOf<uint8_t>() { return DType::kU8; }

}  // namespace nabla

#endif  // NABLA_CORE_DTYPE_H_
