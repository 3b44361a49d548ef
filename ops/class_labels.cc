#include "ops/class_labels.h"

#include "absl/strings/str_cat.h"

namespace nabla {

absl::Status CheckClassLabels(const Shape& x, const TensorSpec& labels,
                              absl::string_view what) {
  const Shape& z = labels.shape;
  if (x.rank() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be rank 2 [batch, classes], got ", x.ToString()));
  }
  if (x[1] == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must have at least one class, got ", x.ToString()));
  }
  if (labels.dtype != DType::kF32) {
    if (z.rank() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "class-index labels must be rank 1 [batch], got ", z.ToString()));
    }
    if (!DimsAgree(z[0], x[0])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "got ", z[0], " labels for a batch of ", x[0]));
    }
    return absl::OkStatus();
  }
  if (z.rank() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "f32 labels must be rows of class probabilities or one-hot rows [batch, classes], got ",
        z.ToString()));
  }
  if (!DimsAgree(z[0], x[0])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "got ", z[0], " label rows for a batch of ", x[0]));
  }
  if (!DimsAgree(z[1], x[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "labels have ", z[1], " classes but ", what, " have ", x[1]));
  }
  return absl::OkStatus();
}

}  // namespace nabla
