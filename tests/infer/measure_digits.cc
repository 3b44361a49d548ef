// Measures how well the shipped model reads a folder of digit images made
// by tools/make_digit_samples.py (labels.csv: file,digit), through
// ReadImage, PrepareDigit and DigitClassifier, as `nabla predict` does.
//
//   bazel run -c opt //tests/infer:measure_digits -- /tmp/digits
//       [--sheet=/tmp/seen.pgm] [--prepared_dir=/tmp/prepared]
//       [--keep_stroke_width]
//
// Prints the accuracy, per digit and overall, and every mistake. --sheet
// writes what the network saw (the 28x28 digits, 40 to a row) as one PGM;
// --prepared_dir writes each as <file>.pgm there (for
// tools/make_preprocessing_figure.py). --keep_stroke_width turns step 6 of
// PrepareDigit off, to measure what it is worth.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/file.h"
#include "infer/digit_classifier.h"
#include "io/digit.h"
#include "io/image.h"

namespace nabla {
namespace {

void WritePgm(const std::string& path, int w, int h, const std::string& pixels) {
  std::ofstream(path, std::ios::binary) << absl::StrCat("P5\n", w, " ", h, "\n255\n") << pixels;
}

int Run(const std::string& dir, const std::string& sheet_path, const std::string& prepared_dir,
        const DigitOptions& options) {
  absl::StatusOr<std::string> model = ShippedModelDir();
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  auto classifier = DigitClassifier::Load(*model);
  if (!classifier.ok()) {
    std::fprintf(stderr, "%s\n", std::string(classifier.status().message()).c_str());
    return 1;
  }
  std::ifstream labels(dir + "/labels.csv");
  std::string line;
  std::getline(labels, line);  // the header
  std::vector<std::string> files;
  std::vector<int> truth;
  std::vector<MnistDigit> digits;
  int unreadable = 0;
  while (std::getline(labels, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    int digit;
    if (fields.size() != 2 || !absl::SimpleAtoi(fields[1], &digit)) continue;
    absl::StatusOr<GrayImage> image = ReadImage(absl::StrCat(dir, "/", fields[0]));
    absl::StatusOr<MnistDigit> prepared =
        image.ok() ? PrepareDigit(*image, options) : absl::StatusOr<MnistDigit>(image.status());
    if (!prepared.ok()) {
      std::printf("%s (a %d): %s\n", fields[0].c_str(), digit,
                  std::string(prepared.status().message()).c_str());
      ++unreadable;
      prepared = MnistDigit{};
    }
    files.push_back(fields[0]);
    truth.push_back(digit);
    digits.push_back(*prepared);
  }
  auto predictions = (*classifier)->Predict(digits);
  if (!predictions.ok()) {
    std::fprintf(stderr, "%s\n", std::string(predictions.status().message()).c_str());
    return 1;
  }
  int right = 0, per_right[10] = {}, per_count[10] = {};
  for (size_t i = 0; i < digits.size(); ++i) {
    const DigitPrediction& p = (*predictions)[i];
    ++per_count[truth[i]];
    if (p.digit == truth[i]) {
      ++right, ++per_right[truth[i]];
    } else {
      std::printf("%s: a %d read as %d (%.2f)\n", files[i].c_str(), truth[i], p.digit,
                  p.probabilities[p.digit]);
    }
  }
  for (int d = 0; d < 10; ++d) {
    std::printf("digit %d: %d of %d right\n", d, per_right[d], per_count[d]);
  }
  std::printf("accuracy %.2f%%: %d of %zu right (%d not prepared)\n",
              digits.empty() ? 0.0 : 100.0 * right / digits.size(), right, digits.size(),
              unreadable);
  if (!sheet_path.empty() && !digits.empty()) {
    const int per_row = 40, rows = (digits.size() + per_row - 1) / per_row;
    const int w = per_row * kMnistSide, h = rows * kMnistSide;
    std::string pixels(size_t(w) * h, '\0');
    for (size_t i = 0; i < digits.size(); ++i) {
      const int ox = (i % per_row) * kMnistSide, oy = (i / per_row) * kMnistSide;
      for (int y = 0; y < kMnistSide; ++y) {
        for (int x = 0; x < kMnistSide; ++x) {
          pixels[size_t(oy + y) * w + ox + x] = digits[i].pixels[y * kMnistSide + x];
        }
      }
    }
    WritePgm(sheet_path, w, h, pixels);
  }
  if (!prepared_dir.empty()) {
    for (size_t i = 0; i < digits.size(); ++i) {
      WritePgm(absl::StrCat(prepared_dir, "/", files[i], ".pgm"), kMnistSide, kMnistSide,
               std::string(digits[i].pixels.begin(), digits[i].pixels.end()));
    }
  }
  return 0;
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  std::string folder, sheet, prepared;
  nabla::DigitOptions options;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--keep_stroke_width") {
      options.normalize_stroke_width = false;
    } else if (absl::ConsumePrefix(&arg, "--sheet=")) {
      sheet = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--prepared_dir=")) {
      prepared = std::string(arg);
    } else if (folder.empty() && !absl::StartsWith(arg, "--")) {
      folder = std::string(arg);
    } else {
      folder.clear();
      break;
    }
  }
  if (folder.empty()) {
    std::fprintf(stderr,
                 "usage: measure_digits FOLDER [--sheet=FILE.pgm] [--prepared_dir=DIR] "
                 "[--keep_stroke_width]\n");
    return 2;
  }
  return nabla::Run(nabla::UserPath(folder), nabla::UserPath(sheet),
                    nabla::UserPath(prepared), options);
}
