// Placeholder: implemented by the io/infer work (issue 9).
#include "infer/digit_classifier.h"
namespace nabla {
absl::StatusOr<std::unique_ptr<DigitClassifier>> DigitClassifier::Load(const std::string&) {
  return absl::UnimplementedError("DigitClassifier is not implemented yet");
}
absl::StatusOr<std::vector<DigitPrediction>> DigitClassifier::Predict(absl::Span<const MnistDigit>) {
  return absl::UnimplementedError("DigitClassifier is not implemented yet");
}
absl::StatusOr<FirstLayers> DigitClassifier::Explain(const MnistDigit&) {
  return absl::UnimplementedError("DigitClassifier is not implemented yet");
}
}  // namespace nabla
