// The graph builder: shape inference as nodes are added, and the first
// error kept and reported with the op, the node and the input shapes.

#include "graph/builder.h"

#include "graph/graph.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

TEST(GraphBuilderTest, InfersShapesAsNodesAreAdded) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output w = b.Variable("w", {4, 3}, Initializer::GlorotUniform(1));
  Output bias = b.Variable("b", {3}, Initializer::Zeros());
  Output y = Relu(Dense(x, w, bias));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(y.shape(), Shape({kUnknownDim, 3}));
  EXPECT_EQ(y.dtype(), DType::kF32);
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  EXPECT_EQ(g.num_nodes(), 5);
}

TEST(GraphBuilderTest, NamesNodesUniquely) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2});
  Output a = Relu(x);
  Output c = Relu(a);
  Output d = Relu(c, "my_relu");
  EXPECT_EQ(a.name(), "Relu");
  EXPECT_EQ(c.name(), "Relu_1");
  EXPECT_EQ(d.name(), "my_relu");
}

TEST(GraphBuilderTest, KeepsFirstErrorWithOpNodeAndShapes) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output w = b.Variable("w", {5, 3}, Initializer::Zeros());
  Output bias = b.Variable("b", {3}, Initializer::Zeros());
  Output y = Dense(x, w, bias, Activation::kLinear, "dense1");
  EXPECT_FALSE(y.valid());
  // Later calls on the failed value do nothing and keep the first error.
  Output z = Relu(y);
  EXPECT_FALSE(z.valid());
  Relu(b.Placeholder("other", {3}), "unrelated");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Dense node 'dense1' (inputs f32[?,4], "
                                 "f32[5,3], f32[3]): x has 4 features but w "
                                 "expects 5")));
  EXPECT_THAT(b.Build(), StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("dense1")));
}

TEST(GraphBuilderTest, RejectsDuplicateNames) {
  GraphBuilder b;
  b.Placeholder("x", {2});
  b.Placeholder("x", {3});
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kAlreadyExists,
                                   HasSubstr("Placeholder node 'x'")));
}

TEST(GraphBuilderTest, RejectsUnknownOp) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2});
  b.AddOp1("NoSuchOp", {x}, {}, "n");
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kNotFound,
                                   HasSubstr("NoSuchOp node 'n'")));
}

TEST(GraphBuilderTest, RejectsWrongInputCount) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2});
  b.AddOp1("Add", {x}, {}, "add");
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("takes 2 inputs, got 1")));
}

TEST(GraphBuilderTest, RejectsMissingAndIllTypedAttrs) {
  {
    GraphBuilder b;
    b.AddOp1("Placeholder", {}, {}, "p");
    EXPECT_THAT(b.status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("missing required attribute 'shape'")));
  }
  {
    GraphBuilder b;
    Output x = b.Placeholder("x", {2});
    b.AddOp1("LeakyRelu", {x}, {{"alpha", StringAttr("big")}}, "leaky");
    EXPECT_THAT(b.status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("attribute 'alpha' must be float")));
  }
  {
    GraphBuilder b;
    Output x = b.Placeholder("x", {2});
    b.AddOp1("Relu", {x}, {{"colour", IntAttr(1)}}, "r");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("has no attribute 'colour'")));
  }
}

TEST(GraphBuilderTest, RejectsValuesFromAnotherBuilder) {
  GraphBuilder b1, b2;
  Output x = b1.Placeholder("x", {2});
  Output y = b2.Placeholder("y", {2});
  Add(x, y, "mixed");
  EXPECT_THAT(b1.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("belongs to another GraphBuilder")));
}

TEST(GraphBuilderTest, OpOnInvalidOutputReturnsInvalid) {
  Output nothing;
  EXPECT_FALSE(Relu(nothing).valid());
  EXPECT_FALSE(Add(nothing, nothing).valid());
  EXPECT_EQ(nothing.dtype(), DType::kInvalid);
  EXPECT_EQ(nothing.name(), "<invalid>");
}

TEST(GraphBuilderTest, RejectsAbsurdSizes) {
  GraphBuilder b(GraphOptions{/*max_elements=*/1000});
  b.Placeholder("x", {10, 101});
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("more than 1000 elements")));

  GraphBuilder overflow;
  overflow.Placeholder("y", {int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_THAT(overflow.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than")));
}

TEST(GraphBuilderTest, RejectsVariableWithUnknownDimension) {
  GraphBuilder b;
  b.Variable("v", {kUnknownDim, 3}, Initializer::Zeros());
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("must be fully defined")));
}

TEST(GraphBuilderTest, FindsOutputsByName) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2});
  Relu(x, "r");
  NABLA_ASSERT_OK_AND_ASSIGN(Output r, b.Find("r"));
  EXPECT_EQ(r.ref().node, 1);
  EXPECT_THAT(b.Find("r:3"), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("which has 1")));
  EXPECT_THAT(b.Find("nope"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
}

TEST(ShapeTest, ToStringAndCompatibility) {
  EXPECT_EQ(Shape({kUnknownDim, 1, 28, 28}).ToString(), "[?,1,28,28]");
  EXPECT_EQ(Shape().ToString(), "[]");
  EXPECT_TRUE(Shape({kUnknownDim, 3}).IsCompatibleWith(Shape({8, 3})));
  EXPECT_FALSE(Shape({4, 3}).IsCompatibleWith(Shape({8, 3})));
  EXPECT_FALSE(Shape({3}).IsCompatibleWith(Shape({1, 3})));
  EXPECT_EQ(Shape({2, 3, 4}).NumElements(), 24);
  EXPECT_EQ(Shape({kUnknownDim, 3}).NumElements(), -1);
  EXPECT_EQ(Shape().NumElements(), 1);
}

TEST(TensorTest, SharesBufferAndClones) {
  Tensor a = *Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4});
  Tensor view = a.Reshaped(Shape({4}));
  view.data<float>()[0] = 10;
  EXPECT_EQ(a.data<float>()[0], 10);
  Tensor copy = a.Clone();
  copy.data<float>()[1] = 20;
  EXPECT_EQ(a.data<float>()[1], 2);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.raw_data()) % 64, 0u);
  EXPECT_EQ(a.DebugString(), "f32[2,2]");
}

TEST(InitializerTest, GlorotUniformIsSeededAndBounded) {
  GraphBuilder b;
  b.Variable("w", {100, 50}, Initializer::GlorotUniform(3));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto s1, Session::Create(g));
  NABLA_ASSERT_OK_AND_ASSIGN(auto s2, Session::Create(g));
  const Tensor* w1 = s1->variables().Find("w");
  const Tensor* w2 = s2->variables().Find("w");
  ASSERT_NE(w1, nullptr);
  EXPECT_TRUE(w1->BitwiseEquals(*w2));
  double limit = std::sqrt(6.0 / 150), max_abs = 0, sum = 0;
  for (float v : w1->flat<float>()) {
    max_abs = std::max(max_abs, std::abs(static_cast<double>(v)));
    sum += v;
  }
  EXPECT_LE(max_abs, limit);
  EXPECT_GT(max_abs, 0.9 * limit);  // the range is used
  EXPECT_LT(std::abs(sum / 5000), 0.01);
}

TEST(InitializerTest, HeNormalHasRequestedDeviation) {
  GraphBuilder b;
  b.Variable("w", {200, 100}, Initializer::HeNormal(5));
  NABLA_ASSERT_OK_AND_ASSIGN(auto s, Session::Create(*b.Build()));
  double sum_sq = 0;
  const Tensor* w = s->variables().Find("w");
  for (float v : w->flat<float>()) sum_sq += v * v;
  double stddev = std::sqrt(sum_sq / w->num_elements());
  EXPECT_NEAR(stddev, std::sqrt(2.0 / 200), 0.05 * std::sqrt(2.0 / 200));
}

TEST(InitializerTest, ValueMustMatchVariable) {
  GraphBuilder b;
  b.Variable("v", {3}, Initializer::Value(*Tensor::FromVector<float>({2}, {1, 2})));
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("does not match")));
}

}  // namespace
}  // namespace nabla
