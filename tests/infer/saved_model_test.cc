// Loading saved models (the shipped one, inference graphs, broken folders)
// and the digit classifier on real MNIST test digits.

#include "core/file.h"
#include "infer/saved_model.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "examples/lecture_model.h"
#include "graph/graph_def.h"
#include "gtest/gtest.h"
#include "infer/digit_classifier.h"
#include "tests/test_util.h"
#include "train/idx.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string Shipped() {
  absl::StatusOr<std::string> dir = ShippedModelDir();
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.value_or("");
}

// The first `n` MNIST test digits and their labels.
struct TestDigits {
  std::vector<MnistDigit> digits;
  std::vector<int> labels;
};
TestDigits FirstTestDigits(int n) {
  IdxOptions options;
  options.images_as_float = false;
  absl::StatusOr<MnistData> data = LoadMnist("data/mnist", "t10k", options);
  EXPECT_TRUE(data.ok()) << data.status();
  TestDigits out;
  for (int i = 0; i < n && data.ok(); ++i) {
    out.digits.push_back(*DigitFromPixels(
        data->images.data<uint8_t>() + i * kMnistSide * kMnistSide,
        kMnistSide * kMnistSide));
    out.labels.push_back(data->labels.data<int32_t>()[i]);
  }
  return out;
}

TEST(ShippedModelTest, FoundThroughRunfilesAndTheEnvironment) {
  std::string dir = Shipped();
  EXPECT_THAT(dir, HasSubstr("data/models/lecture"));
  setenv("NABLA_MODEL_DIR", dir.c_str(), 1);
  EXPECT_EQ(ShippedModelDir().value_or(""), dir);
  setenv("NABLA_MODEL_DIR", "/no/such/model", 1);
  EXPECT_THAT(ShippedModelDir(), StatusIs(absl::StatusCode::kNotFound,
                                          HasSubstr("$NABLA_MODEL_DIR is '/no/such/model'")));
  unsetenv("NABLA_MODEL_DIR");
  // Without Bazel's variables, the runfiles beside the binary.
  std::string runfiles = std::getenv("TEST_SRCDIR");
  unsetenv("TEST_SRCDIR");
  unsetenv("RUNFILES_DIR");
  EXPECT_THAT(ShippedModelDir().value_or(""),
              ::testing::EndsWith("saved_model_test.runfiles/nabla/data/models/lecture"));
  setenv("TEST_SRCDIR", runfiles.c_str(), 1);
}

TEST(ShippedModelTest, LoadsTheTrainedWeightsAndTheTrainingState) {
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel model, LoadSavedModel(Shipped()));
  EXPECT_THAT(model.graph_path, HasSubstr("model.pbtxt"));
  EXPECT_THAT(model.checkpoint_path, HasSubstr("checkpoint.ckpt"));
  EXPECT_EQ(model.info.epoch, 10);
  EXPECT_EQ(model.info.step, 4690);
  // The training graph: Adam's slots came back too, so training can resume.
  const Tensor* m = model.session->variables().Find("conv1/w/adam_m");
  ASSERT_NE(m, nullptr);
  EXPECT_NE(m->data<float>()[0], 0);
  const Tensor* w = model.session->variables().Find("conv1/w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape(), Shape({32, 1, 5, 5}));
}

// The lecture model alone, without loss gradients or optimizer, saved as
// a folder beside a copy of the shipped checkpoint.
std::string InferenceModelDir(const std::string& dir) {
  GraphBuilder b;
  BuildLectureModel(b, /*seed=*/1);
  Graph graph = *b.Build();
  EXPECT_TRUE(SaveGraph(graph, absl::StrCat(dir, "/model.pb")).ok());
  std::string checkpoint = *ReadFile(absl::StrCat(Shipped(), "/checkpoint.ckpt"));
  WriteText(absl::StrCat(dir, "/checkpoint.ckpt"), checkpoint);
  return dir;
}

TEST(SavedModelTest, InferenceGraphIgnoresTheOptimizerSlots) {
  std::string dir = InferenceModelDir(testing::TestDir());
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel inference, LoadSavedModel(dir));
  EXPECT_THAT(inference.graph_path, HasSubstr("model.pb"));
  EXPECT_EQ(inference.session->variables().size(), 8);
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel training, LoadSavedModel(Shipped()));
  EXPECT_TRUE(inference.session->variables().Find("dense2/w")->BitwiseEquals(
      *training.session->variables().Find("dense2/w")));
}

TEST(SavedModelTest, BareGraphDefKeepsInitialValues) {
  std::string path = absl::StrCat(Shipped(), "/model.pbtxt");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, LoadModelGraph(path));
  EXPECT_TRUE(graph.FindNode("probabilities").ok());
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel model, LoadSavedModel(path));
  EXPECT_EQ(model.checkpoint_path, "");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph from_dir, LoadModelGraph(Shipped()));
  EXPECT_EQ(from_dir.num_nodes(), graph.num_nodes());
}

TEST(SavedModelTest, BrokenFoldersAreClearErrors) {
  std::string dir = testing::TestDir();
  EXPECT_THAT(LoadSavedModel(absl::StrCat(dir, "/missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no model at")));
  EXPECT_THAT(LoadSavedModel(dir),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not a saved model folder")));

  std::string graph = *ReadFile(absl::StrCat(Shipped(), "/model.pbtxt"));
  std::string checkpoint = *ReadFile(absl::StrCat(Shipped(), "/checkpoint.ckpt"));
  WriteText(absl::StrCat(dir, "/model.pbtxt"), graph);
  EXPECT_THAT(LoadSavedModel(dir),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no checkpoint.ckpt")));

  WriteText(absl::StrCat(dir, "/checkpoint.ckpt"), checkpoint.substr(0, checkpoint.size() / 2));
  EXPECT_THAT(LoadSavedModel(dir), StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("checkpoint.ckpt")));

  WriteText(absl::StrCat(dir, "/model.pbtxt"), "node { this is not a graph");
  EXPECT_THAT(LoadSavedModel(dir),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("model.pbtxt")));

  // A checkpoint of another model: the shapes disagree.
  GraphBuilder b;
  b.Variable("conv1/w", {3}, Initializer::Zeros());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph other, b.Build());
  NABLA_ASSERT_OK(SaveGraph(other, absl::StrCat(dir, "/model.pbtxt")));
  WriteText(absl::StrCat(dir, "/checkpoint.ckpt"), checkpoint);
  EXPECT_THAT(LoadSavedModel(dir),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("conv1/w")));
  EXPECT_THAT(DigitClassifier::Load(dir).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("conv1/w")));
}

TEST(DigitClassifierTest, RefusesModelsWithoutTheInterface) {
  std::string dir = testing::TestDir();
  GraphBuilder b;
  b.Placeholder("images", {kUnknownDim, 784}, DType::kF32);
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK(SaveGraph(graph, absl::StrCat(dir, "/model.pbtxt")));
  EXPECT_THAT(DigitClassifier::Load(absl::StrCat(dir, "/model.pbtxt")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no placeholder 'images' of u8 [?, 1, 28, 28]")));
}

class ShippedClassifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DigitClassifier>> loaded =
        DigitClassifier::Load(Shipped());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    classifier_ = loaded->release();
  }
  static void TearDownTestSuite() { delete classifier_; }
  static DigitClassifier* classifier_;
};
DigitClassifier* ShippedClassifierTest::classifier_ = nullptr;

TEST_F(ShippedClassifierTest, ReadsMnistTestDigits) {
  TestDigits test = FirstTestDigits(300);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<DigitPrediction> p,
                             classifier_->Predict(test.digits));
  ASSERT_EQ(p.size(), 300u);
  int right = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    right += p[i].digit == test.labels[i];
    float sum = 0;
    for (float q : p[i].probabilities) sum += q;
    EXPECT_NEAR(sum, 1, 1e-5);
    EXPECT_EQ(p[i].ranking[0], p[i].digit);
    for (int k = 1; k < 10; ++k) {
      EXPECT_GE(p[i].probabilities[p[i].ranking[k - 1]],
                p[i].probabilities[p[i].ranking[k]]);
    }
  }
  // The model's test accuracy is 99.17%; the first 300 test digits are
  // easier than average.
  EXPECT_GE(right, 297) << right << " of 300 right";
}

TEST_F(ShippedClassifierTest, AnswersDoNotDependOnTheBatch) {
  TestDigits test = FirstTestDigits(5);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<DigitPrediction> all,
                             classifier_->Predict(test.digits));
  for (int i = 0; i < 5; ++i) {
    // Batch 1, then 3 (padded to 4), then the first plan again.
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<DigitPrediction> one,
                               classifier_->Predict({test.digits[i]}));
    NABLA_ASSERT_OK_AND_ASSIGN(
        std::vector<DigitPrediction> three,
        classifier_->Predict({test.digits[i], test.digits[0], test.digits[1]}));
    for (int k = 0; k < 10; ++k) {
      EXPECT_NEAR(one[0].probabilities[k], all[i].probabilities[k], 1e-5);
      EXPECT_NEAR(three[0].probabilities[k], all[i].probabilities[k], 1e-5);
    }
  }
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<DigitPrediction> none,
                             classifier_->Predict({}));
  EXPECT_TRUE(none.empty());
}

TEST_F(ShippedClassifierTest, ExplainMatchesAPlainConvolution) {
  TestDigits test = FirstTestDigits(1);
  const MnistDigit& digit = test.digits[0];
  NABLA_ASSERT_OK_AND_ASSIGN(FirstLayers layers, classifier_->Explain(digit));
  EXPECT_EQ(layers.conv1.shape(), Shape({32, 24, 24}));
  EXPECT_EQ(layers.pool1.shape(), Shape({32, 12, 12}));
  EXPECT_EQ(layers.filters.shape(), Shape({32, 1, 5, 5}));
  EXPECT_EQ(layers.bias.shape(), Shape({32}));
  const float* w = layers.filters.data<float>();
  double max_error = 0;
  for (int c = 0; c < 32; ++c) {
    for (int y = 0; y < 24; ++y) {
      for (int x = 0; x < 24; ++x) {
        double sum = layers.bias.data<float>()[c];
        for (int i = 0; i < 5; ++i) {
          for (int j = 0; j < 5; ++j) {
            sum += w[c * 25 + i * 5 + j] * (digit.pixels[(y + i) * 28 + x + j] / 255.0);
          }
        }
        double expected = std::max(sum, 0.0);
        max_error = std::max(
            max_error,
            std::abs(expected - layers.conv1.data<float>()[(c * 24 + y) * 24 + x]));
      }
    }
  }
  EXPECT_LT(max_error, 1e-4);
  // pool1 is the 2x2 maximum of conv1.
  for (int c = 0; c < 32; ++c) {
    const float* a = layers.conv1.data<float>() + c * 576;
    EXPECT_EQ(layers.pool1.data<float>()[c * 144 + 5 * 12 + 7],
              std::max({a[10 * 24 + 14], a[10 * 24 + 15], a[11 * 24 + 14], a[11 * 24 + 15]}));
  }
  // A second call gives tensors of its own.
  NABLA_ASSERT_OK_AND_ASSIGN(FirstLayers again, classifier_->Explain(MnistDigit{}));
  EXPECT_FALSE(again.conv1.SharesBufferWith(layers.conv1));
}

}  // namespace
}  // namespace nabla
