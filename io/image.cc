// Placeholder: implemented by the io/infer work (issue 9).
#include "io/image.h"
namespace nabla {
absl::StatusOr<GrayImage> DecodeImage(absl::string_view, const ImageLimits&) {
  return absl::UnimplementedError("DecodeImage is not implemented yet");
}
absl::StatusOr<GrayImage> ReadImage(const std::string&, const ImageLimits&) {
  return absl::UnimplementedError("ReadImage is not implemented yet");
}
}  // namespace nabla
