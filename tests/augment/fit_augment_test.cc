// The fit loop with augmentation: epochs prepared on a background thread,
// resumable bit for bit, waits recorded, errors returned as Status.

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "graph/builder.h"
#include "graph/session.h"
#include "gtest/gtest.h"
#include "ops/arith.h"
#include "ops/dense.h"
#include "ops/losses.h"
#include "ops/metrics.h"
#include "ops/shape_ops.h"
#include "tests/test_util.h"
#include "train/augment.h"
#include "train/fit.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kSide = 6;
constexpr int64_t kClasses = 3;

// 60 u8 images of 6x6 whose class is which third of the image is bright.
Dataset MakeImages(int64_t n = 60) {
  Dataset data{Tensor(DType::kU8, Shape({n, 1, kSide, kSide})),
               Tensor(DType::kI32, Shape({n}))};
  for (int64_t i = 0; i < n; ++i) {
    const int label = i % kClasses;
    data.labels.data<int32_t>()[i] = label;
    for (int64_t p = 0; p < kSide * kSide; ++p) {
      const int64_t column = p % kSide;
      const bool bright = column / 2 == label;
      data.inputs.data<uint8_t>()[i * kSide * kSide + p] =
          static_cast<uint8_t>((bright ? 200 : 20) + (i * 7 + p * 13) % 40);
    }
  }
  return data;
}

struct Model {
  std::unique_ptr<Session> session;
  ModelSpec spec;
};

// A softmax regression on the scaled pixels, trained with Adam.
absl::StatusOr<Model> BuildModel() {
  GraphBuilder b;
  Output x = b.Placeholder("images", {kUnknownDim, 1, kSide, kSide}, DType::kU8);
  Output y = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
  Output w = b.Variable("w", {kSide * kSide, kClasses},
                        Initializer::GlorotUniform(3));
  Output bias = b.Variable("b", {kClasses}, Initializer::Zeros());
  Output logits = Dense(Flatten(Cast(x, 1.0f / 255)), w, bias);
  Output loss = SoftmaxCrossEntropy(logits, y, Reduction::kMean, "loss");
  Output accuracy = Accuracy(logits, y, "accuracy");
  Adam adam;
  NABLA_ASSIGN_OR_RETURN(TrainStep train, adam.Minimize(loss, {w, bias}));
  Model model;
  model.spec.inputs = x;
  model.spec.labels = y;
  model.spec.loss = loss;
  model.spec.accuracy = accuracy;
  model.spec.train_targets = train.targets();
  NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
  NABLA_ASSIGN_OR_RETURN(model.session, Session::Create(graph));
  return model;
}

AugmentOptions Options() {
  AugmentOptions options;
  options.max_shift_pixels = 1.5;
  options.max_rotation_degrees = 20;
  options.scale_range = 0.15;
  options.elastic_alpha = 2;
  options.elastic_sigma = 1.5;
  options.seed = 11;
  return options;
}

FitOptions Quiet(int64_t epochs) {
  FitOptions options;
  options.epochs = epochs;
  options.batch_size = 16;
  options.verbosity = Verbosity::kSilent;
  return options;
}

void ExpectSameVariables(const Session& a, const Session& b) {
  ASSERT_EQ(a.variables().Names(), b.variables().Names());
  for (const std::string& name : a.variables().Names()) {
    EXPECT_TRUE(a.variables().Find(name)->BitwiseEquals(*b.variables().Find(name)))
        << name;
  }
}

// Fits a fresh model for `epochs` epochs with `augment`.
struct FitRun {
  Model model;
  History history;
};
absl::StatusOr<FitRun> FitFresh(int64_t epochs, EpochInputsFn augment,
                             uint64_t seed = 5) {
  FitRun run;
  NABLA_ASSIGN_OR_RETURN(run.model, BuildModel());
  NABLA_ASSIGN_OR_RETURN(
      auto trainer, Trainer::Create(run.model.session.get(), run.model.spec, seed));
  FitOptions options = Quiet(epochs);
  options.augment = std::move(augment);
  NABLA_ASSIGN_OR_RETURN(run.history, trainer->Fit(MakeImages(), options));
  return run;
}

TEST(FitAugmentTest, ResumingFromAnEpochCheckpointMatchesAStraightRun) {
  NABLA_ASSERT_OK_AND_ASSIGN(FitRun straight, FitFresh(5, Augmentation(Options(), 2)));
  ASSERT_EQ(straight.history.size(), 5u);

  const std::string dir = TestDir();
  {
    NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel());
    NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                               Trainer::Create(model.session.get(), model.spec, 5));
    FitOptions options = Quiet(2);
    options.augment = Augmentation(Options(), 2);
    options.callbacks.push_back(SaveCheckpointEachEpoch(dir + "/epoch-{epoch}.ckpt"));
    NABLA_ASSERT_OK(trainer->Fit(MakeImages(), options).status());
  }
  // A new process, in effect, on another thread count for augmenting.
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel());
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec, 999));
  NABLA_ASSERT_OK(trainer->RestoreCheckpoint(dir + "/epoch-2.ckpt"));
  FitOptions options = Quiet(5);
  options.augment = Augmentation(Options(), 3);
  NABLA_ASSERT_OK_AND_ASSIGN(History resumed, trainer->Fit(MakeImages(), options));
  EXPECT_THAT(resumed.epoch, ElementsAre(3, 4, 5));
  EXPECT_EQ(resumed.loss, std::vector<double>(straight.history.loss.begin() + 2,
                                              straight.history.loss.end()));
  EXPECT_EQ(resumed.accuracy,
            std::vector<double>(straight.history.accuracy.begin() + 2,
                                straight.history.accuracy.end()));
  ExpectSameVariables(*model.session, *straight.model.session);
}

TEST(FitAugmentTest, AugmentationChangesWhatIsTrainedOn) {
  NABLA_ASSERT_OK_AND_ASSIGN(FitRun plain, FitFresh(3, nullptr));
  EXPECT_TRUE(plain.history.augment_wait_seconds.empty());
  NABLA_ASSERT_OK_AND_ASSIGN(FitRun augmented, FitFresh(3, Augmentation(Options())));
  EXPECT_NE(plain.history.loss, augmented.history.loss);
  // Inputs copied unchanged train exactly as no augmentation does: the
  // double buffering itself changes nothing.
  NABLA_ASSERT_OK_AND_ASSIGN(
      FitRun copied, FitFresh(3, [](int64_t, const Tensor& source, Tensor* out) {
        return out->CopyFrom(source);
      }));
  EXPECT_EQ(copied.history.loss, plain.history.loss);
  EXPECT_EQ(copied.history.accuracy, plain.history.accuracy);
  ExpectSameVariables(*copied.model.session, *plain.model.session);
}

TEST(FitAugmentTest, EachEpochGetsItsOwnAugmentation) {
  // What epoch e trains on is AugmentImages(inputs, options, e): recorded
  // through a wrapper and compared with direct calls.
  auto seen = std::make_shared<std::vector<std::pair<int64_t, Tensor>>>();
  EpochInputsFn augment = Augmentation(Options());
  NABLA_ASSERT_OK_AND_ASSIGN(
      FitRun run, FitFresh(3, [augment, seen](int64_t epoch, const Tensor& source,
                                           Tensor* out) -> absl::Status {
        NABLA_RETURN_IF_ERROR(augment(epoch, source, out));
        seen->emplace_back(epoch, out->Clone());
        return absl::OkStatus();
      }));
  ASSERT_EQ(seen->size(), 3u);
  const Dataset data = MakeImages();
  for (int64_t e = 1; e <= 3; ++e) {
    EXPECT_EQ((*seen)[e - 1].first, e);
    Tensor expected(DType::kU8, data.inputs.shape());
    NABLA_ASSERT_OK(AugmentImages(data.inputs, Options(), e, &expected));
    EXPECT_TRUE((*seen)[e - 1].second.BitwiseEquals(expected)) << "epoch " << e;
  }
  EXPECT_FALSE((*seen)[0].second.BitwiseEquals((*seen)[1].second));
}

TEST(FitAugmentTest, PreparesTheNextEpochWhileThisOneTrainsAndRecordsWaits) {
  // Epoch 2's preparation can only finish once epoch 1's callback has run,
  // so it must run beside epoch 1's training; it then takes 300 ms more,
  // which epoch 2 waits for. Epoch 1 waits for its own 100 ms.
  auto epoch1_done = std::make_shared<std::atomic<bool>>(false);
  auto saw_epoch1_done = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::vector<int64_t>>();
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel());
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec, 5));
  FitOptions options = Quiet(3);
  options.augment = [=](int64_t epoch, const Tensor& source,
                        Tensor* out) -> absl::Status {
    started->push_back(epoch);
    if (epoch == 1) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (epoch == 2) {
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!*epoch1_done && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      *saw_epoch1_done = epoch1_done->load();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return out->CopyFrom(source);
  };
  options.callbacks.push_back(
      [=](Trainer&, const EpochLogs& logs) -> absl::StatusOr<bool> {
        if (logs.epoch == 1) *epoch1_done = true;
        return true;
      });
  NABLA_ASSERT_OK_AND_ASSIGN(History history, trainer->Fit(MakeImages(), options));
  EXPECT_TRUE(*saw_epoch1_done);
  EXPECT_THAT(*started, ElementsAre(1, 2, 3));
  ASSERT_EQ(history.augment_wait_seconds.size(), 3u);
  EXPECT_GE(history.augment_wait_seconds[0], 0.09);
  EXPECT_GE(history.augment_wait_seconds[1], 0.29);
  EXPECT_GE(history.augment_wait_seconds[2], 0.0);
  // The wait is part of the epoch's time.
  EXPECT_GE(history.seconds[1], history.augment_wait_seconds[1]);
}

TEST(FitAugmentTest, StoppingEarlyWithAPreparationInFlight) {
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel());
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec, 5));
  FitOptions options = Quiet(10);
  options.augment = Augmentation(Options());
  options.callbacks.push_back(
      [](Trainer&, const EpochLogs&) -> absl::StatusOr<bool> { return false; });
  NABLA_ASSERT_OK_AND_ASSIGN(History history, trainer->Fit(MakeImages(), options));
  EXPECT_EQ(history.size(), 1u);
  EXPECT_EQ(trainer->epoch(), 1);
}

TEST(FitAugmentTest, ErrorsFromThePreparationComeBackAsStatus) {
  const auto fails_at_2 = [](int64_t epoch, const Tensor& source,
                             Tensor* out) -> absl::Status {
    if (epoch == 2) return absl::DataLossError("disk on fire");
    return out->CopyFrom(source);
  };
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel());
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec, 5));
  FitOptions options = Quiet(3);
  options.augment = fails_at_2;
  EXPECT_THAT(trainer->Fit(MakeImages(), options),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("preparing the inputs of epoch 2: disk on fire")));
  EXPECT_EQ(trainer->epoch(), 1);

  EXPECT_THAT(FitFresh(2, [](int64_t, const Tensor&, Tensor*) -> absl::Status {
                throw std::runtime_error("out of ideas");
              }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("out of ideas")));
  EXPECT_THAT(FitFresh(2, [](int64_t, const Tensor&, Tensor* out) {
                *out = Tensor(DType::kU8, Shape({2, 1, kSide, kSide}));
                return absl::OkStatus();
              }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("epoch 1: the function replaced its output buffer "
                                 "u8[60,1,6,6] by u8[2,1,6,6]")));
  // Even by one of the right shape: what it wrote would be lost.
  EXPECT_THAT(FitFresh(2, [](int64_t, const Tensor& source, Tensor* out) {
                *out = source.Clone();
                return absl::OkStatus();
              }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("instead of writing into it")));
  AugmentOptions bad = Options();
  bad.scale_range = 2;
  EXPECT_THAT(FitFresh(2, Augmentation(bad)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("preparing the inputs of epoch 1: "
                                 "augmentation: scale_range")));
}

}  // namespace
}  // namespace nabla
