// Turning a photo or scan of one handwritten digit into what an MNIST
// network was trained on: 28x28 u8 pixels, light ink (255) on black (0),
// the digit's longer side 20 pixels, its centre of mass at the centre.
// See README.md ("Recognising your own handwriting") for a real input and
// what the network sees.
//
//   NABLA_ASSIGN_OR_RETURN(GrayImage photo, ReadImage("my_seven.jpg"));
//   NABLA_ASSIGN_OR_RETURN(MnistDigit digit, PrepareDigit(photo));
//   // digit.pixels feeds the lecture model's u8 [1, 1, 28, 28] placeholder.
//
// PrepareDigit's steps, in order:
//  1. Reduce: an image larger than DigitOptions::working_side on its longer
//     side is area-averaged down to it (a photo's detail is far finer than
//     the 20 pixels the digit ends up with).
//  2. Paper: the paper's brightness is a quadratic surface in x and y (an
//     uneven light, a gradient across a photo, a vignette), fitted robustly:
//     the fit is repeated on the pixels within three noise widths of the
//     previous one, so the ink, a minority of the pixels, drops out. The
//     surface is subtracted; what is left is ink and noise. The noise is
//     measured as 1.4826 times the residuals' median absolute deviation.
//  3. Polarity: the ink is on the side (darker or lighter than the paper)
//     whose tail beyond the noise is heavier. Dark ink on light paper is
//     inverted, so that ink is always positive, as in MNIST; light ink on
//     dark paper (chalk on a blackboard) is kept.
//  4. Ink: a pixel is ink if it stands out by more than Otsu's threshold of
//     the ink strengths, and by at least five noise widths and
//     min_contrast. An image where nothing does is a blank page: an error.
//  5. Specks: connected marks (8-neighbours) smaller than
//     min_speck_fraction of the largest mark are dropped: dust, noise,
//     paper texture.
//  6. Stroke width: MNIST's strokes are about kMnistStroke pixels wide in
//     its 20-pixel box. Strokes far thinner (a fine pen in a large photo)
//     or thicker (a marker) are grown or thinned towards that through
//     their distance transform; thinning takes at most a third of the
//     width from each side, so strokes never break.
//  7. Scale: the marks' bounding box is scaled so that its longer side is
//     20 pixels, keeping the aspect ratio, by area averaging (never nearest
//     neighbour): edges come out anti-aliased, as MNIST's are.
//  8. Centre: the digit is placed in the 28x28 frame with its centre of
//     mass at the frame's centre, resampled at the sub-pixel offset that
//     puts it there (as MNIST did, parts may then leave the frame).

#ifndef NABLA_IO_DIGIT_H_
#define NABLA_IO_DIGIT_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "io/image.h"

namespace nabla {

// kMnistSide is the side of an MNIST image in pixels.
inline constexpr int kMnistSide = 28;

// kMnistBox is the side of the box MNIST scales each digit into.
inline constexpr int kMnistBox = 20;

// kMnistStroke is the median stroke width of MNIST's test digits in that
// box, in pixels, as step 6 measures it (area over half the perimeter).
inline constexpr double kMnistStroke = 1.84;

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
  // Step 1: the longer side the image is reduced to, at most.
  int working_side = 1024;
  // Step 4: the least difference from the paper that counts as ink, on
  // the image's 0-1 scale.
  double min_contrast = 0.05;
  // Step 5: marks smaller than this fraction of the largest are specks.
  double min_speck_fraction = 0.08;
  // Step 6: bring the stroke width to MNIST's.
  bool normalize_stroke_width = true;
};

// PrepareDigit runs the steps above. InvalidArgument for an image with no
// ink (a blank page) or an empty image.
absl::StatusOr<MnistDigit> PrepareDigit(const GrayImage& image,
                                        const DigitOptions& options = {});

// DigitFromPixels wraps 28x28 u8 pixels that are already in the MNIST
// convention (a drawing canvas, an MNIST file). InvalidArgument unless there
// are exactly 784 of them.
absl::StatusOr<MnistDigit> DigitFromPixels(const uint8_t* pixels, int64_t count);

}  // namespace nabla

#endif  // NABLA_IO_DIGIT_H_
