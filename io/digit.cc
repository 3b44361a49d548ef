#include "io/digit.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace nabla {

absl::StatusOr<MnistDigit> PrepareDigit(const GrayImage&, const DigitOptions&) {
  return absl::UnimplementedError("PrepareDigit is not implemented yet");
}

absl::StatusOr<MnistDigit> DigitFromPixels(const uint8_t* pixels, int64_t count) {
  MnistDigit digit;
  if (pixels == nullptr || count != static_cast<int64_t>(digit.pixels.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an MNIST digit has ", kMnistSide, "x", kMnistSide, " = ",
        digit.pixels.size(), " pixels, not ", pixels == nullptr ? 0 : count));
  }
  std::memcpy(digit.pixels.data(), pixels, digit.pixels.size());
  return digit;
}

}  // namespace nabla
