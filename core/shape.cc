#include "core/shape.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nabla {

absl::StatusOr<int> ResolveAxis(int64_t axis, int rank) {
  int64_t resolved = axis < 0 ? axis + rank : axis;
  if (resolved < 0 || resolved >= rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for rank ", rank));
  }
  return static_cast<int>(resolved);
}

bool Shape::IsFullyDefined() const {
  for (int64_t d : dims_) {
    if (d < 0) return false;
  }
  return true;
}

int64_t Shape::NumElements() const {
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

absl::Status Shape::Validate(int64_t max_elements) const {
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (d < kUnknownDim) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ToString(), " has a negative dimension"));
    }
    if (d == kUnknownDim || d == 0) continue;
    if (n > max_elements / d) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ToString(), " has more than ", max_elements,
                       " elements"));
    }
    n *= d;
  }
  return absl::OkStatus();
}

Shape Shape::WithDim(int i, int64_t value) const {
  Shape copy = *this;
  copy.dims_[i] = value;
  return copy;
}

bool Shape::IsCompatibleWith(const Shape& other) const {
  if (rank() != other.rank()) return false;
  for (int i = 0; i < rank(); ++i) {
    if (dims_[i] >= 0 && other.dims_[i] >= 0 && dims_[i] != other.dims_[i]) {
      return false;
    }
  }
  return true;
}

std::string Shape::ToString() const {
  return absl::StrCat(
      "[",
      absl::StrJoin(dims_, ",",
                    [](std::string* out, int64_t d) {
                      absl::StrAppend(out, d < 0 ? "?" : absl::StrCat(d));
                    }),
      "]");
}

}  // namespace nabla
