// Reshape, Flatten and Identity: shapes, zero-copy views, gradients.

#include "ops/shape_ops.h"

#include "ops/activations.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ShapeOpsTest, ShapeInference) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 64, 4, 4});
  EXPECT_EQ(Flatten(x).shape(), Shape({kUnknownDim, 1024}));
  EXPECT_EQ(Reshape(x, {kUnknownDim, 16, 64}).shape(), Shape({kUnknownDim, 16, 64}));
  Output y = b.Placeholder("y", {6, 4});
  EXPECT_EQ(Reshape(y, {kUnknownDim, 3}).shape(), Shape({8, 3}));
  EXPECT_EQ(Reshape(y, {2, 12}).shape(), Shape({2, 12}));
  EXPECT_EQ(Identity(y).shape(), Shape({6, 4}));
  ASSERT_TRUE(b.ok()) << b.status();
}

TEST(ShapeOpsTest, Errors) {
  struct Case {
    Shape in, target;
    const char* message;
  };
  const Case cases[] = {
      {{6, 4}, {5, 5}, "cannot reshape [6,4] (24 elements) to [5,5] (25)"},
      {{6, 4}, {kUnknownDim, 5}, "cannot reshape [6,4] (24 elements) to [?,5]"},
      {{kUnknownDim, 4}, {2, 2}, "cannot reshape [?,4] to the fixed shape [2,2]"},
      {{6, 4}, {kUnknownDim, kUnknownDim}, "more than one unknown dimension"},
  };
  for (const Case& c : cases) {
    GraphBuilder b;
    Reshape(b.Placeholder("x", c.in), c.target, "r");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr(c.message)));
  }
  GraphBuilder b;
  Flatten(b.Placeholder("s", Shape()), "f");
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("Flatten node 'f' (inputs f32[]): "
                                             "cannot flatten a scalar")));
}

TEST(ShapeOpsTest, ViewsKeepElementOrder) {
  Tensor x = RandomTensor({2, 3, 2, 2}, 1);
  GraphBuilder b;
  Output p = b.Placeholder("x", {kUnknownDim, 3, 2, 2});
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{p, x}}, {Flatten(p), Reshape(p, {4, kUnknownDim}),
                                      Identity(p)}));
  std::vector<double> flat(x.flat<float>().begin(), x.flat<float>().end());
  ExpectTensorNear(out[0], {2, 12}, flat, 0, 0);
  ExpectTensorNear(out[1], {4, 6}, flat, 0, 0);
  ExpectTensorNear(out[2], {2, 3, 2, 2}, flat, 0, 0);
}

TEST(ShapeOpsTest, Gradients) {
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return Tanh(Reshape(Flatten(Identity(in[0])), {kUnknownDim, 2}));
      },
      {RandomTensor({2, 3, 2}, 2)}, {0});
}

}  // namespace
}  // namespace nabla
