// Reading images: PNG (libpng), JPEG (libjpeg-turbo) and PGM/PPM, plain or
// raw (libnetpbm), decoded to one grey channel of floats, for recognising
// digits.
//
// Threat model: the bytes come from anyone (a user's file, an HTTP body).
// Only regular files are read, never more than ImageLimits::max_file_bytes;
// the declared width and height are checked against max_pixels before any
// pixel buffer is allocated; a truncated or corrupt stream is an error,
// never a partial image or a crash.
//
//   NABLA_ASSIGN_OR_RETURN(GrayImage image, ReadImage("digit.png"));
//   // image.width x image.height values in [0, 1], row-major, 1 = white.

#ifndef NABLA_IO_IMAGE_H_
#define NABLA_IO_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nabla {

// ImageLimits bound what a reader accepts before it allocates.
struct ImageLimits {
  int64_t max_file_bytes = int64_t{64} << 20;
  // Width times height as the header declares it.
  int64_t max_pixels = int64_t{40} << 20;
};

// GrayImage is a decoded image reduced to luminance.
struct GrayImage {
  int width = 0;
  int height = 0;
  // width * height values in [0, 1], row by row; 0 is black, 1 is white.
  std::vector<float> pixels;
};

// DecodeImage decodes PNG, JPEG, PGM or PPM bytes (chosen by their magic
// number, not a file name); colour is converted to luminance (Rec. 601),
// 16-bit samples keep their precision, a PGM/PPM's maxval scales to 1, and
// transparent pixels show white paper beneath. A JPEG that libjpeg would
// only warn about (truncated, corrupt data) is an error too. PGM/PPM
// decoding is serialized (libnetpbm's error handling is process-wide). InvalidArgument for bytes that are no
// supported image, are truncated or corrupt, or declare a 0x0 image;
// ResourceExhausted for an image larger than `limits`.
absl::StatusOr<GrayImage> DecodeImage(absl::string_view bytes,
                                      const ImageLimits& limits = {});

// ReadImage reads the regular file `path` and decodes it; errors name the
// file.
absl::StatusOr<GrayImage> ReadImage(const std::string& path,
                                    const ImageLimits& limits = {});

}  // namespace nabla

#endif  // NABLA_IO_IMAGE_H_
