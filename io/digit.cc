// Placeholder: implemented by the io/infer work (issue 9).
#include "io/digit.h"
namespace nabla {
absl::StatusOr<MnistDigit> PrepareDigit(const GrayImage&, const DigitOptions&) {
  return absl::UnimplementedError("PrepareDigit is not implemented yet");
}
absl::StatusOr<MnistDigit> DigitFromPixels(const uint8_t*, int64_t) {
  return absl::UnimplementedError("DigitFromPixels is not implemented yet");
}
}  // namespace nabla
