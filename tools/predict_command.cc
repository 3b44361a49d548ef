// nabla predict [--model=DIR] [--json] IMAGE...: the digit in each image,
// its probability and the next two candidates. --model=DIR1,DIR2,... asks
// an ensemble, whose probabilities are the models' mean.

#include <cstdio>
#include <optional>

#include <algorithm>
#include <numeric>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/file.h"
#include "core/status.h"
#include "infer/digit_classifier.h"
#include "infer/ensemble.h"
#include "io/digit.h"
#include "io/image.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"

ABSL_DECLARE_FLAG(bool, json);

namespace nabla {
namespace {

// How many runners-up a line names after the predicted digit.
constexpr int kRunnersUp = 2;

struct ImageResult {
  std::string file;  // as the user typed it
  std::optional<DigitPrediction> prediction;
  std::string error;
};

// A probability as a percentage that tells confident answers apart:
// "97.31%", "99.9986%" rather than "100.00%", and "0.0021%" or "3.1e-07%"
// rather than "0.00%".
std::string Percent(float probability) {
  const double percent = 100.0 * probability;
  if (percent < 1) return absl::StrFormat("%.2g%%", percent);
  for (int decimals = 2; decimals <= 6; ++decimals) {
    std::string text = absl::StrFormat("%.*f", decimals, percent);
    if (!absl::StartsWith(text, "100")) return text + "%";
  }
  return "100%";
}

std::string TextLine(const ImageResult& result) {
  const DigitPrediction& p = *result.prediction;
  std::string line = absl::StrCat(result.file, ": ", p.digit, " (",
                                  Percent(p.probabilities[p.digit]), ")");
  for (int k = 1; k <= kRunnersUp; ++k) {
    int digit = p.ranking[k];
    absl::StrAppend(&line, k == 1 ? ", then " : ", ", digit, " (",
                    Percent(p.probabilities[digit]), ")");
  }
  return line;
}

nlohmann::ordered_json JsonEntry(const ImageResult& result) {
  nlohmann::ordered_json entry = {{"file", result.file}};
  if (!result.prediction) {
    entry["error"] = result.error;
    return entry;
  }
  const DigitPrediction& p = *result.prediction;
  entry["digit"] = p.digit;
  entry["probability"] = p.probabilities[p.digit];
  nlohmann::ordered_json next = nlohmann::ordered_json::array();
  for (int k = 1; k <= kRunnersUp; ++k) {
    next.push_back({{"digit", p.ranking[k]}, {"probability", p.probabilities[p.ranking[k]]}});
  }
  entry["next"] = next;
  entry["probabilities"] = p.probabilities;
  return entry;
}

// The ensemble of --model=DIR1,DIR2,..., checked to classify digits as
// DigitClassifier's models do.
absl::StatusOr<std::unique_ptr<Ensemble>> LoadDigitEnsemble(
    const std::vector<std::string>& models) {
  NABLA_ASSIGN_OR_RETURN(std::unique_ptr<Ensemble> ensemble, Ensemble::Load(models));
  if (ensemble->input_dtype() != DType::kU8 ||
      ensemble->input_shape() != Shape({kUnknownDim, 1, kMnistSide, kMnistSide}) ||
      ensemble->num_classes() != 10) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the models take ", DTypeName(ensemble->input_dtype()),
        ensemble->input_shape().ToString(), " images into ", ensemble->num_classes(),
        " classes, not u8[?,1,", kMnistSide, ",", kMnistSide,
        "] digits into 10: not digit classifiers"));
  }
  return ensemble;
}

// The ensemble's predictions for `digits`, as DigitClassifier gives them.
absl::StatusOr<std::vector<DigitPrediction>> PredictWithEnsemble(
    Ensemble& ensemble, const std::vector<MnistDigit>& digits) {
  constexpr int64_t kPixels = kMnistSide * kMnistSide;
  const int64_t n = static_cast<int64_t>(digits.size());
  Tensor images(DType::kU8, Shape({n, 1, kMnistSide, kMnistSide}));
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(digits[i].pixels.data(), kPixels, images.data<uint8_t>() + i * kPixels);
  }
  NABLA_ASSIGN_OR_RETURN(Tensor probabilities, ensemble.Predict(images));
  std::vector<DigitPrediction> predictions(n);
  for (int64_t i = 0; i < n; ++i) {
    DigitPrediction& p = predictions[i];
    std::copy_n(probabilities.data<float>() + i * 10, 10, p.probabilities.begin());
    std::iota(p.ranking.begin(), p.ranking.end(), 0);
    std::stable_sort(p.ranking.begin(), p.ranking.end(), [&p](int a, int b) {
      return p.probabilities[a] > p.probabilities[b];
    });
    p.digit = p.ranking[0];
  }
  return predictions;
}

absl::Status RunPredict(const Invocation& invocation) {
  NABLA_RETURN_IF_ERROR(ApplyThreadsFlag());
  NABLA_ASSIGN_OR_RETURN(std::vector<std::string> models, ModelsFromFlag());
  NABLA_RETURN_IF_ERROR(CheckNoBareGraph(models));
  const std::string model = absl::StrJoin(models, ",");
  std::unique_ptr<DigitClassifier> classifier;
  std::unique_ptr<Ensemble> ensemble;
  if (models.size() > 1) {
    NABLA_ASSIGN_OR_RETURN(ensemble, LoadDigitEnsemble(models));
  } else {
    NABLA_ASSIGN_OR_RETURN(classifier, DigitClassifier::Load(model));
  }

  // Every image is tried; the ones that cannot be read are reported and
  // make the exit code 1, the others are still classified.
  std::vector<ImageResult> results;
  std::vector<MnistDigit> digits;
  std::vector<size_t> classified;  // indices into results
  for (const std::string& file : invocation.args) {
    ImageResult result{file, std::nullopt, ""};
    absl::StatusOr<GrayImage> image = ReadImage(UserPath(file));
    absl::StatusOr<MnistDigit> digit =
        image.ok() ? PrepareDigit(*image) : absl::StatusOr<MnistDigit>(image.status());
    if (digit.ok()) {
      classified.push_back(results.size());
      digits.push_back(*digit);
    } else if (image.ok()) {
      result.error = absl::StrCat("'", file, "': ", digit.status().message());
    } else {
      result.error = std::string(digit.status().message());
    }
    results.push_back(std::move(result));
  }
  if (!digits.empty()) {
    NABLA_ASSIGN_OR_RETURN(std::vector<DigitPrediction> predictions,
                           ensemble != nullptr ? PredictWithEnsemble(*ensemble, digits)
                                               : classifier->Predict(digits));
    for (size_t i = 0; i < classified.size(); ++i) {
      results[classified[i]].prediction = predictions[i];
    }
  }

  int failed = 0;
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  for (const ImageResult& result : results) {
    if (!result.prediction) {
      ++failed;
      std::fprintf(stderr, "nabla predict: %s\n", result.error.c_str());
    }
    if (absl::GetFlag(FLAGS_json)) {
      entries.push_back(JsonEntry(result));
    } else if (result.prediction) {
      std::printf("%s\n", TextLine(result).c_str());
    }
  }
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::ordered_json document = {{"model", model}, {"predictions", entries}};
    PrintJson(document);
  }
  if (failed > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(failed, " of ", results.size(), " images could not be classified"));
  }
  return absl::OkStatus();
}

}  // namespace

const Command& PredictCommand() {
  static const Command* const kCommand = new Command{
      "predict",
      "Recognise the handwritten digit in each image (PNG, JPEG, PGM)",
      "predict [--model=DIR] [--json] [--threads=N] IMAGE...",
      "Prepares each image as MNIST digits are (grey, ink light on dark, 20x20\n"
      "in a 28x28 frame, centred on its centre of mass), classifies them in one\n"
      "batch and prints, per image, the predicted digit with its probability\n"
      "and the next two:\n\n"
      "  seven.png: 7 (99.93%), then 2 (0.041%), 1 (0.0082%)\n\n"
      "An image that cannot be read is reported on stderr; the others are\n"
      "still classified, and the exit code is 1. --model=DIR1,DIR2,... asks an\n"
      "ensemble of saved models, whose probabilities are averaged. --json\n"
      "prints, for each image, its file, digit, probability, the next two and\n"
      "all ten probabilities, or its error.",
      {"model", "json", "threads"},
      /*min_args=*/1,
      /*max_args=*/-1,
      RunPredict};
  return *kCommand;
}

}  // namespace nabla
