// Fuzz target: DecodeImage and PrepareDigit on arbitrary bytes. Whatever
// the bytes, the result is an image or an error, never a crash, a hang or
// an allocation beyond ImageLimits. Built with libFuzzer by
// tests/io/run_fuzzers.sh; replayed over its corpus by image_fuzzer_replay.

#include <cstddef>
#include <cstdint>

#include "io/digit.h"
#include "io/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nabla::ImageLimits limits;
  limits.max_pixels = 1 << 20;  // keeps each run fast; the checks are the same
  absl::StatusOr<nabla::GrayImage> image = nabla::DecodeImage(
      absl::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (image.ok()) {
    if (image->pixels.size() != size_t(image->width) * image->height) __builtin_trap();
    for (float v : image->pixels) {
      if (!(v >= 0 && v <= 1)) __builtin_trap();
    }
    (void)nabla::PrepareDigit(*image);
  }
  return 0;
}
