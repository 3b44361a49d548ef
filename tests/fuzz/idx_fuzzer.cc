// Fuzz target: the IDX reader (train/idx.h) on any bytes, plain or gzipped,
// as images and as labels, with a small element limit so that a header's
// claim cannot make the fuzzer allocate much.

#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_util.h"
#include "train/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static nabla::fuzz::ScratchFile* const file =
      new nabla::fuzz::ScratchFile("input-idx3-ubyte");
  const std::string& path = file->Write(data, size);
  nabla::IdxOptions options;
  options.max_elements = int64_t{1} << 20;
  absl::Status read = nabla::ReadIdx(path, options).status();
  nabla::fuzz::Note("ReadIdx", read);
  if (!read.ok()) return 0;
  // Only a well-formed file gets as far as the typed readers, each of
  // which reads it again and checks its own rank and values.
  nabla::fuzz::Note("ReadIdxImages", nabla::ReadIdxImages(path, options).status());
  options.images_as_float = false;
  nabla::fuzz::Note("ReadIdxImages u8",
                    nabla::ReadIdxImages(path, options).status());
  options.num_classes = 3;
  nabla::fuzz::Note("ReadIdxLabels", nabla::ReadIdxLabels(path, options).status());
  return 0;
}
