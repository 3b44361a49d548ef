#include "ops/activations.h"

#include <cmath>

#include "graph/builder.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

struct ActivationCase {
  const char* name;
  Output (*apply)(Output);
  double (*reference)(double);
};

Output ApplyRelu(Output x) { return Relu(x); }
Output ApplySigmoid(Output x) { return Sigmoid(x); }
Output ApplyTanh(Output x) { return Tanh(x); }
Output ApplyLeaky(Output x) { return LeakyRelu(x, 0.1f); }

const ActivationCase kCases[] = {
    {"Relu", ApplyRelu, [](double x) { return x > 0 ? x : 0.0; }},
    {"Sigmoid", ApplySigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }},
    {"Tanh", ApplyTanh, [](double x) { return std::tanh(x); }},
    {"LeakyRelu", ApplyLeaky, [](double x) { return x > 0 ? x : 0.1 * x; }},
};

class ActivationTest : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ActivationTest, ShapeIsInputShape) {
  GraphBuilder b;
  Output y = GetParam().apply(b.Placeholder("x", {kUnknownDim, 3, 5}));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(y.shape(), Shape({kUnknownDim, 3, 5}));
  EXPECT_EQ(y.dtype(), DType::kF32);
}

TEST_P(ActivationTest, RejectsIntegerInput) {
  GraphBuilder b;
  GetParam().apply(b.Placeholder("labels", {4}, DType::kI32));
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("must be f32, got i32")));
}

TEST_P(ActivationTest, ForwardMatchesReference) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 7});
  Output y = GetParam().apply(x);
  Tensor input = RandomTensor({5, 7}, 1, -3, 3);
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{x, input}}, {y}));
  std::vector<double> expected;
  for (float v : input.flat<float>()) expected.push_back(GetParam().reference(v));
  ExpectTensorNear(out[0], {5, 7}, expected, 1e-6, 1e-5);
}

TEST_P(ActivationTest, GradientMatchesFiniteDifferences) {
  // Values at least 0.1 from the kink at 0, which a step of 0.01 never
  // crosses.
  Tensor x = RandomTensor({3, 8}, 2, 0.1f, 2.0f);
  for (int64_t i = 0; i < x.num_elements(); i += 2) x.data<float>()[i] *= -1;
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return GetParam().apply(in[0]);
      },
      {x}, {0});
}

INSTANTIATE_TEST_SUITE_P(
    All, ActivationTest, ::testing::ValuesIn(kCases),
    [](const ::testing::TestParamInfo<ActivationCase>& info) {
      return std::string(info.param.name);
    });

TEST(LeakyReluTest, RejectsNegativeAlpha) {
  GraphBuilder b;
  LeakyRelu(b.Placeholder("x", {2}), -0.5f, "leaky");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("LeakyRelu node 'leaky' (inputs f32[2]): "
                                 "alpha must be >= 0")));
}

}  // namespace
}  // namespace nabla
