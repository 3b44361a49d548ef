// End-to-end checks through whole models: an MLP learns XOR with binary
// cross-entropy, and a small CNN's gradients match finite differences
// through the whole chain.

#include "graph/autodiff.h"
#include "ops/ops.h"
#include "tests/test_util.h"
#include "train/fit.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::GradCheckOptions;
using ::nabla::testing::RandomTensor;

TEST(TrainingTest, MlpLearnsXorWithBinaryCrossEntropy) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2});
  Output y = b.Placeholder("y", {kUnknownDim, 1});
  Output w1 = b.Variable("w1", {2, 8}, Initializer::GlorotUniform(1));
  Output b1 = b.Variable("b1", {8}, Initializer::Zeros());
  Output w2 = b.Variable("w2", {8, 1}, Initializer::GlorotUniform(2));
  Output b2 = b.Variable("b2", {1}, Initializer::Zeros());
  Output hidden = Tanh(Dense(x, w1, b1));
  Output probability = Sigmoid(Dense(hidden, w2, b2));
  Output loss = BinaryCrossEntropy(probability, y);
  AdamOptions options;
  options.learning_rate = 0.05f;
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep train,
                             Adam(options).Minimize(loss, {w1, b1, w2, b2}));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));

  Tensor inputs = *Tensor::FromVector<float>({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1});
  Tensor targets = *Tensor::FromVector<float>({4, 1}, {0, 1, 1, 0});
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * step, session->Compile({{x, Shape({4, 2})}, {y, Shape({4, 1})}},
                                    {loss}, train.targets()));
  std::vector<Tensor> out;
  float first_loss = 0;
  for (int i = 0; i < 500; ++i) {
    NABLA_ASSERT_OK(step->Run({inputs, targets}, &out));
    if (i == 0) first_loss = out[0].data<float>()[0];
  }
  NABLA_ASSERT_OK_AND_ASSIGN(auto predicted,
                             session->Run({{x, inputs}}, {probability}));
  int correct = 0;
  for (int i = 0; i < 4; ++i) {
    float p = predicted[0].data<float>()[i];
    correct += (p > 0.5f) == (targets.data<float>()[i] > 0.5f);
  }
  EXPECT_EQ(correct, 4) << "loss went from " << first_loss << " to "
                        << out[0].data<float>()[0];
  EXPECT_LT(out[0].data<float>()[0], 0.05f);
}

TEST(TrainingTest, SmallCnnGradientsMatchFiniteDifferencesThroughTheChain) {
  // conv (relu) > maxpool > flatten > dense > softmax cross-entropy, all
  // weights and the image checked at once.
  Tensor image = RandomTensor({2, 1, 6, 6}, 1, 0.0f, 1.0f);
  Tensor filters = RandomTensor({3, 1, 3, 3}, 2, -0.5f, 0.5f);
  Tensor bias = *Tensor::FromVector<float>({3}, {0.3f, 0.35f, 0.4f});
  Tensor dense_w = RandomTensor({12, 4}, 3, -0.5f, 0.5f);
  Tensor dense_b = RandomTensor({4}, 4, -0.1f, 0.1f);
  Tensor labels = *Tensor::FromVector<int32_t>({2}, {1, 3});
  Conv2DOptions relu;
  relu.activation = Activation::kRelu;
  GradCheckOptions options;
  // Max pooling and ReLU have kinks: a smaller step keeps the perturbation
  // inside one linear piece for these inputs.
  options.step = 2e-3;
  options.atol = 5e-3;
  CheckGradients(
      [relu](GraphBuilder&, const std::vector<Output>& in) {
        Output h = Conv2D(in[0], in[1], in[2], relu);
        Output pooled = MaxPool2D(h, {2, 2});
        Output logits = Dense(Flatten(pooled), in[3], in[4]);
        return SoftmaxCrossEntropy(logits, in[5]);
      },
      {image, filters, bias, dense_w, dense_b, labels}, {0, 1, 2, 3, 4},
      options);
}

}  // namespace
}  // namespace nabla
