// Placeholder: implemented by the io/infer work (issue 9).
#include "infer/saved_model.h"
namespace nabla {
absl::StatusOr<Graph> LoadModelGraph(const std::string&) {
  return absl::UnimplementedError("LoadModelGraph is not implemented yet");
}
absl::StatusOr<SavedModel> LoadSavedModel(const std::string&) {
  return absl::UnimplementedError("LoadSavedModel is not implemented yet");
}
absl::StatusOr<std::string> ShippedModelDir() {
  return absl::UnimplementedError("ShippedModelDir is not implemented yet");
}
}  // namespace nabla
