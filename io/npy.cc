// Placeholder: implemented by the io/infer work (issue 9).
#include "io/npy.h"
namespace nabla {
absl::StatusOr<Tensor> ParseNpy(absl::string_view, absl::string_view, const NpyLimits&) {
  return absl::UnimplementedError("ParseNpy is not implemented yet");
}
absl::StatusOr<Tensor> ReadNpy(const std::string&, const NpyLimits&) {
  return absl::UnimplementedError("ReadNpy is not implemented yet");
}
std::string SerializeNpy(const Tensor&) { return ""; }
absl::Status WriteNpy(const Tensor&, const std::string&) {
  return absl::UnimplementedError("WriteNpy is not implemented yet");
}
}  // namespace nabla
