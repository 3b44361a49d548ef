// The shipped model reads the shipped sample images (data/digits, drawn by
// tools/make_digit_samples.py) through ReadImage, PrepareDigit and
// DigitClassifier: every one of them right.

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "infer/digit_classifier.h"
#include "io/digit.h"
#include "io/image.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

constexpr char kSamples[] = "data/digits";

TEST(DigitSamplesTest, ShippedModelReadsEverySample) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string model_dir, ShippedModelDir());
  NABLA_ASSERT_OK_AND_ASSIGN(std::unique_ptr<DigitClassifier> classifier,
                             DigitClassifier::Load(model_dir));
  std::ifstream labels(absl::StrCat(kSamples, "/labels.csv"));
  ASSERT_TRUE(labels.good());
  std::string line;
  std::getline(labels, line);
  EXPECT_EQ(line, "file,digit");
  std::vector<std::string> files;
  std::vector<int> truth;
  std::vector<MnistDigit> digits;
  int counts[10] = {};
  while (std::getline(labels, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    ASSERT_EQ(fields.size(), 2u) << line;
    int digit;
    ASSERT_TRUE(absl::SimpleAtoi(fields[1], &digit)) << line;
    NABLA_ASSERT_OK_AND_ASSIGN(GrayImage image,
                               ReadImage(absl::StrCat(kSamples, "/", fields[0])));
    // Like a user's: larger than MNIST's 28x28.
    EXPECT_GT(std::max(image.width, image.height), kMnistSide) << fields[0];
    NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit prepared, PrepareDigit(image));
    files.push_back(fields[0]);
    truth.push_back(digit);
    digits.push_back(prepared);
    ++counts[digit];
  }
  for (int d = 0; d < 10; ++d) EXPECT_GE(counts[d], 2) << "samples of " << d;
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<DigitPrediction> predictions,
                             classifier->Predict(digits));
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(predictions[i].digit, truth[i])
        << files[i] << " (probability " << predictions[i].probabilities[predictions[i].digit]
        << ")";
    EXPECT_GT(predictions[i].probabilities[truth[i]], 0.5) << files[i];
  }
}

}  // namespace
}  // namespace nabla
