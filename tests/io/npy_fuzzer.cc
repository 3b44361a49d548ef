// Fuzz target: ParseNpy on arbitrary bytes, and a round trip of whatever it
// accepts. Built with libFuzzer by tests/io/run_fuzzers.sh; replayed over
// its corpus by npy_fuzzer_replay.

#include <cstddef>
#include <cstdint>

#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<nabla::Tensor> tensor = nabla::ParseNpy(
      absl::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  if (tensor.ok()) {
    absl::StatusOr<nabla::Tensor> again = nabla::ParseNpy(nabla::SerializeNpy(*tensor), "again");
    if (!again.ok() || !again->BitwiseEquals(*tensor)) __builtin_trap();
  }
  return 0;
}
