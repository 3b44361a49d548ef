// Turning a photo or scan of one handwritten digit into what an MNIST
// network was trained on: 28x28 u8 pixels, light ink (255) on black (0),
// the digit's longer side 20 pixels, its centre of mass at the centre.
// The steps (each documented at its function in digit.cc) follow the MNIST
// convention; see README.md for a real input and what the network sees.
//
//   NABLA_ASSIGN_OR_RETURN(GrayImage photo, ReadImage("my_seven.jpg"));
//   NABLA_ASSIGN_OR_RETURN(MnistDigit digit, PrepareDigit(photo));
//   // digit.pixels feeds the lecture model's u8 [1, 1, 28, 28] placeholder.

#ifndef NABLA_IO_DIGIT_H_
#define NABLA_IO_DIGIT_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "io/image.h"

namespace nabla {

// kMnistSide is the side of an MNIST image in pixels.
inline constexpr int kMnistSide = 28;

// MnistDigit is one digit in the MNIST convention.
struct MnistDigit {
  // Row-major, 0 = background, 255 = ink.
  std::array<uint8_t, kMnistSide * kMnistSide> pixels{};
};

// DigitOptions tune the preprocessing; the defaults suit photos and scans.
struct DigitOptions {
  // Decide the ink's polarity from the image (dark ink on light paper, or
  // light on dark); false treats the image as light ink on dark already.
  bool auto_invert = true;
};

// PrepareDigit estimates and removes the paper's brightness, inverts dark
// ink on light paper, crops to the ink's bounding box, scales its longer
// side to 20 pixels keeping the aspect ratio, and centres its centre of mass
// in a 28x28 frame. InvalidArgument for an image with no ink (a blank page)
// or an empty image.
absl::StatusOr<MnistDigit> PrepareDigit(const GrayImage& image,
                                        const DigitOptions& options = {});

// DigitFromPixels wraps 28x28 u8 pixels that are already in the MNIST
// convention (a drawing canvas, an MNIST file). InvalidArgument unless there
// are exactly 784 of them.
absl::StatusOr<MnistDigit> DigitFromPixels(const uint8_t* pixels, int64_t count);

}  // namespace nabla

#endif  // NABLA_IO_DIGIT_H_
