// The demo server's parts without HTTP: the classifier pool under
// contention, and the activation curves' checks of what they are asked.

#include <atomic>
#include <thread>
#include <vector>

#include "examples/demo/activation_curves.h"
#include "examples/demo/classifier_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "infer/saved_model.h"
#include "train/idx.h"

namespace nabla {
namespace {

using ::testing::HasSubstr;

std::string ModelDir() {
  absl::StatusOr<std::string> dir = ShippedModelDir();
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.ok() ? *dir : "";
}

TEST(ClassifierPoolTest, LeasesAreExclusiveAndTimeOut) {
  absl::StatusOr<std::unique_ptr<ClassifierPool>> pool =
      ClassifierPool::Create(ModelDir(), 1);
  ASSERT_TRUE(pool.ok()) << pool.status();
  {
    absl::StatusOr<ClassifierPool::Lease> held = (*pool)->Acquire(absl::Seconds(1));
    ASSERT_TRUE(held.ok());
    absl::StatusOr<ClassifierPool::Lease> busy =
        (*pool)->Acquire(absl::Milliseconds(20));
    EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(busy.status().message(), HasSubstr("all 1 sessions stayed busy"));
    // A lease moved keeps the classifier; the moved-from one gives back
    // nothing.
    ClassifierPool::Lease moved = std::move(held).value();
    EXPECT_FALSE((*pool)->Acquire(absl::Milliseconds(1)).ok());
  }
  EXPECT_TRUE((*pool)->Acquire(absl::Milliseconds(1)).ok());
}

TEST(ClassifierPoolTest, RefusesEmptyPoolsAndMissingModels) {
  EXPECT_EQ(ClassifierPool::Create(ModelDir(), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ClassifierPool::Create("/nonexistent/model", 1).ok());
}

// More threads than classifiers, each predicting real MNIST digits through
// leases: every answer is the one a single thread gets.
TEST(ClassifierPoolTest, ConcurrentPredictionsAgreeWithSerialOnes) {
  absl::StatusOr<std::unique_ptr<ClassifierPool>> pool =
      ClassifierPool::Create(ModelDir(), 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  IdxOptions options;
  options.images_as_float = false;
  absl::StatusOr<MnistData> mnist = LoadMnist(
      std::string(std::getenv("TEST_SRCDIR")) + "/nabla/data/mnist", "t10k", options);
  ASSERT_TRUE(mnist.ok()) << mnist.status();
  constexpr int kDigits = 64;
  std::vector<MnistDigit> digits(kDigits);
  for (int n = 0; n < kDigits; ++n) {
    std::memcpy(digits[n].pixels.data(), mnist->images.data<uint8_t>() + 784 * n, 784);
  }
  std::vector<DigitPrediction> serial;
  {
    absl::StatusOr<ClassifierPool::Lease> lease = (*pool)->Acquire(absl::Seconds(1));
    ASSERT_TRUE(lease.ok());
    for (const MnistDigit& d : digits) {
      absl::StatusOr<std::vector<DigitPrediction>> p = (*lease)->Predict({d});
      ASSERT_TRUE(p.ok()) << p.status();
      serial.push_back(p->front());
    }
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (int n = t; n < kDigits; n += 6) {
          absl::StatusOr<ClassifierPool::Lease> lease =
              (*pool)->Acquire(absl::Seconds(30));
          if (!lease.ok()) {
            ++failures;
            continue;
          }
          absl::StatusOr<std::vector<DigitPrediction>> p = (*lease)->Predict({digits[n]});
          if (!p.ok()) {
            ++failures;
          } else if (p->front().probabilities != serial[n].probabilities) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ActivationCurvesTest, RefusesWhatItWasNotBuiltFor) {
  absl::StatusOr<std::unique_ptr<ActivationCurves>> curves = ActivationCurves::Create();
  ASSERT_TRUE(curves.ok()) << curves.status();
  CurveRange range;
  EXPECT_THAT((*curves)->Activation("swish", range, 0.2f).status().message(),
              HasSubstr("unknown activation 'swish'"));
  EXPECT_THAT((*curves)->Activation("leaky_relu", range, 0.33f).status().message(),
              HasSubstr("compiled for alpha in {0.01, 0.05"));
  EXPECT_TRUE((*curves)->Activation("leaky_relu", range, 0.05f).ok());
  for (CurveRange bad : {CurveRange{1, 1}, CurveRange{2, -2}, CurveRange{-101, 0},
                         CurveRange{0, std::nan("")}}) {
    EXPECT_EQ((*curves)->Activation("tanh", bad, 0).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((*curves)->Softmax(bad, 0, 0).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE((*curves)->Softmax(range, std::nanf(""), 0).ok());
  EXPECT_FALSE((*curves)->CrossEntropyAt(1.5f).ok());
  EXPECT_FALSE((*curves)->CrossEntropyAt(-0.1f).ok());
  // p = 0 is clipped to 1e-7, as training clips it: a finite loss.
  absl::StatusOr<std::array<float, 2>> zero = (*curves)->CrossEntropyAt(0);
  ASSERT_TRUE(zero.ok());
  EXPECT_NEAR((*zero)[0], -std::log(1e-7), 1e-3);
}

}  // namespace
}  // namespace nabla
