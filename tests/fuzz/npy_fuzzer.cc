// Fuzz target: the .npy parser (io/npy.h) on any bytes. What parses must
// also survive a round trip: SerializeNpy of the tensor parses back to the
// same dtype, shape and bytes.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"
#include "io/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nabla::NpyLimits limits;
  limits.max_file_bytes = int64_t{1} << 20;
  absl::StatusOr<nabla::Tensor> tensor = nabla::ParseNpy(
      absl::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy",
      limits);
  nabla::fuzz::Note("ParseNpy", tensor.status());
  if (!tensor.ok()) return 0;

  const std::string bytes = nabla::SerializeNpy(*tensor);
  absl::StatusOr<nabla::Tensor> again =
      nabla::ParseNpy(bytes, "round trip", nabla::NpyLimits{});
  if (!again.ok() || again->dtype() != tensor->dtype() ||
      again->shape() != tensor->shape() ||
      again->nbytes() != tensor->nbytes() ||
      (tensor->nbytes() > 0 && std::memcmp(again->raw_data(),
                                           tensor->raw_data(),
                                           tensor->nbytes()) != 0)) {
    std::fprintf(stderr, "npy_fuzzer: %s does not round-trip: %s\n",
                 tensor->DebugString().c_str(),
                 again.ok() ? again->DebugString().c_str()
                            : again.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
