// Fuzz target: decoding images (io/image.h: PNG, JPEG, PGM/PPM) from any
// bytes, as the demo server does with an upload, then preparing the digit
// (io/digit.h). A decoded image must be what the header promised: width x
// height pixels, each in [0, 1].

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "io/digit.h"
#include "io/image.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nabla::ImageLimits limits;
  limits.max_file_bytes = int64_t{1} << 20;
  limits.max_pixels = int64_t{1} << 20;
  absl::StatusOr<nabla::GrayImage> image = nabla::DecodeImage(
      absl::string_view(reinterpret_cast<const char*>(data), size), limits);
  nabla::fuzz::Note("DecodeImage", image.status());
  if (!image.ok()) return 0;

  if (image->width <= 0 || image->height <= 0 ||
      image->pixels.size() != static_cast<size_t>(image->width) *
                                  static_cast<size_t>(image->height)) {
    std::fprintf(stderr, "image_fuzzer: a %dx%d image with %zu pixels\n",
                 image->width, image->height, image->pixels.size());
    std::abort();
  }
  for (float p : image->pixels) {
    if (!(p >= 0.0f && p <= 1.0f)) {
      std::fprintf(stderr, "image_fuzzer: pixel value %g outside [0, 1]\n", p);
      std::abort();
    }
  }
  nabla::fuzz::Note("PrepareDigit", nabla::PrepareDigit(*image).status());
  return 0;
}
