// QuantizeModel on the shipped lecture model: what it rewrites, that the
// saved folder loads as any model, and the int8 model's accuracy on the
// first 2000 MNIST test digits against the f32 model's.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "infer/digit_classifier.h"
#include "infer/quantize.h"
#include "infer/saved_model.h"
#include "ops/ops.h"
#include "tests/test_util.h"
#include "train/idx.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

MnistData LoadU8(const std::string& prefix) {
  IdxOptions options;
  options.images_as_float = false;
  absl::StatusOr<MnistData> data = LoadMnist("data/mnist", prefix, options);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *std::move(data) : MnistData{};
}

// The first `n` examples of `data`.
MnistData First(const MnistData& data, int64_t n) {
  MnistData out;
  out.images = Tensor(DType::kU8, data.images.shape().WithDim(0, n));
  std::copy_n(data.images.data<uint8_t>(), out.images.num_elements(),
              out.images.data<uint8_t>());
  out.labels = Tensor(DType::kI32, Shape({n}));
  std::copy_n(data.labels.data<int32_t>(), n, out.labels.data<int32_t>());
  return out;
}

std::vector<std::string> Ops(const proto::GraphDef& def) {
  std::vector<std::string> ops;
  for (const proto::NodeDef& node : def.node()) {
    if (node.op() != "Variable") ops.push_back(node.op());
  }
  return ops;
}

TEST(QuantizeModelTest, TheLectureModelKeepsItsAccuracyInInt8) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string dir, ShippedModelDir());
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel model, LoadSavedModel(dir));
  const MnistData train = LoadU8("train");
  NABLA_ASSERT_OK_AND_ASSIGN(QuantizedGraph q,
                             QuantizeModel(model, First(train, 512).images));
  EXPECT_THAT(q.quantized_nodes,
              ElementsAre("conv1", "pool1", "conv2", "pool2", "dense1", "dense2"));
  // The pixels go in as they are; Flatten is folded into dense1; the
  // training part is gone.
  EXPECT_THAT(Ops(q.graph),
              ElementsAre("Placeholder", "QuantizedConv2D", "QuantizedMaxPool2D",
                          "QuantizedConv2D", "QuantizedMaxPool2D",
                          "QuantizedDense", "QuantizedDense", "Softmax"));
  ASSERT_EQ(q.ranges.size(), 7u);  // rescale, conv1, pool1, conv2, flatten, dense1, dense2
  EXPECT_EQ(q.ranges[0].value, "rescale");
  EXPECT_FLOAT_EQ(q.ranges[0].max, 1.0f);
  for (const ActivationRange& range : q.ranges) EXPECT_GT(range.max, 0) << range.value;

  const std::string out = testing::TestDir() + "/lecture_int8";
  NABLA_ASSERT_OK(SaveQuantizedModel(q, model, out));
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel int8, LoadSavedModel(out));

  const MnistData test = First(LoadU8("t10k"), 2000);
  NABLA_ASSERT_OK_AND_ASSIGN(
      double f32_accuracy,
      ClassificationAccuracy(*model.session, test.images, test.labels));
  NABLA_ASSERT_OK_AND_ASSIGN(
      double int8_accuracy,
      ClassificationAccuracy(*int8.session, test.images, test.labels));
  std::printf("first 2000 MNIST test digits: f32 accuracy %.4f, int8 %.4f\n",
              f32_accuracy, int8_accuracy);
  EXPECT_GT(f32_accuracy, 0.98);
  EXPECT_NEAR(int8_accuracy, f32_accuracy, 0.003)
      << "f32 " << f32_accuracy << ", int8 " << int8_accuracy;

  // DigitClassifier takes the int8 folder as any model.
  NABLA_ASSERT_OK_AND_ASSIGN(auto classifier, DigitClassifier::Load(out));
  std::vector<MnistDigit> digits;
  for (int i = 0; i < 20; ++i) {
    digits.push_back(*DigitFromPixels(test.images.data<uint8_t>() + i * 784, 784));
  }
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<DigitPrediction> predictions,
                             classifier->Predict(digits));
  int correct = 0;
  for (int i = 0; i < 20; ++i) {
    correct += predictions[i].digit == test.labels.data<int32_t>()[i];
  }
  EXPECT_GE(correct, 19);
}

TEST(QuantizeModelTest, ErrorsNameTheNode) {
  // Weights that are no Variable.
  {
    GraphBuilder b;
    Output x = b.Placeholder("images", {kUnknownDim, 4}, DType::kU8);
    Output w = b.Constant(Tensor::Filled<float>(Shape({4, 3}), 0.1f), "w");
    Output bias = b.Variable("b", {3}, Initializer::Zeros());
    Softmax(Dense(Cast(x, 1.0f / 255), w, bias, Activation::kRelu, "dense"), -1,
            "probabilities");
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    SavedModel model;
    NABLA_ASSERT_OK_AND_ASSIGN(model.session, Session::Create(std::move(graph)));
    EXPECT_THAT(QuantizeModel(model, Tensor(DType::kU8, Shape({8, 4}))),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("Dense node 'dense' takes its weights from "
                                   "Const node 'w'")));
  }
  // Explicit padding, which the int8 convolution does not take.
  {
    GraphBuilder b;
    Output x = b.Placeholder("images", {kUnknownDim, 1, 6, 6}, DType::kU8);
    Output w = b.Variable("w", {2, 1, 3, 3}, Initializer::GlorotUniform(1));
    Output bias = b.Variable("b", {2}, Initializer::Zeros());
    Conv2DOptions o;
    o.padding = "explicit";
    o.explicit_paddings = {1, 0, 0, 1};
    Softmax(Flatten(Conv2D(Cast(x, 1.0f / 255), w, bias, o, "conv")), -1,
            "probabilities");
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    SavedModel model;
    NABLA_ASSERT_OK_AND_ASSIGN(model.session, Session::Create(std::move(graph)));
    EXPECT_THAT(QuantizeModel(model, Tensor(DType::kU8, Shape({4, 1, 6, 6}))),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("Conv2DWithBias node 'conv' has explicit padding")));
  }
  // An input that goes negative.
  {
    GraphBuilder b;
    Output x = b.Placeholder("images", {kUnknownDim, 4});
    Output w = b.Variable("w", {4, 3}, Initializer::GlorotUniform(1));
    Output bias = b.Variable("b", {3}, Initializer::Zeros());
    Softmax(Dense(x, w, bias, Activation::kRelu, "dense"), -1, "probabilities");
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    SavedModel model;
    NABLA_ASSERT_OK_AND_ASSIGN(model.session, Session::Create(std::move(graph)));
    EXPECT_THAT(
        QuantizeModel(model, testing::RandomTensor(Shape({8, 4}), 3)),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr("Dense node 'dense''s input 'images' reached -")));
    // Wrong calibration images.
    EXPECT_THAT(QuantizeModel(model, Tensor(DType::kU8, Shape({8, 4}))),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("placeholder 'images' takes f32")));
  }
}

}  // namespace
}  // namespace nabla
