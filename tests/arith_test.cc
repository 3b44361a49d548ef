// Add, Sub, Mul with broadcasting; Sum, Mean, SumTo; ZerosLike.

#include "ops/arith.h"

#include "graph/autodiff.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

struct BroadcastCase {
  Shape a, b, out;
};

TEST(ArithShapeTest, BroadcastsLikeNumPy) {
  const BroadcastCase cases[] = {
      {{2, 3}, {3}, {2, 3}},
      {{2, 3}, {}, {2, 3}},
      {{4, 1, 5}, {3, 1}, {4, 3, 5}},
      {{kUnknownDim, 10}, {10}, {kUnknownDim, 10}},
      {{kUnknownDim, 1}, {1, 7}, {kUnknownDim, 7}},
      {{1}, {kUnknownDim}, {kUnknownDim}},
  };
  for (const BroadcastCase& c : cases) {
    GraphBuilder b;
    Output y = Add(b.Placeholder("a", c.a), b.Placeholder("b", c.b));
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(y.shape(), c.out) << c.a.ToString() << " + " << c.b.ToString();
  }
}

TEST(ArithShapeTest, Errors) {
  {
    GraphBuilder b;
    Mul(b.Placeholder("a", {2, 3}), b.Placeholder("b", {4}), "m");
    EXPECT_THAT(b.status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("Mul node 'm' (inputs f32[2,3], f32[4]): "
                                   "shapes [2,3] and [4] do not broadcast")));
  }
  {
    GraphBuilder b;
    Sum(b.Placeholder("a", {2, 3}), {2}, false, "s");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("axis 2 is out of range for rank 2")));
  }
  {
    GraphBuilder b;
    SumTo(b.Placeholder("a", {2, 3}), {4}, "st");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("cannot sum [2,3] to [4]")));
  }
  {
    GraphBuilder b;
    Add(b.Placeholder("a", {2}), b.Placeholder("b", {2}, DType::kI32), "mixed");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("must be f32, got i32")));
  }
}

TEST(ArithShapeTest, Reductions) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 4});
  EXPECT_EQ(Sum(x).shape(), Shape());
  EXPECT_EQ(Mean(x, {1}).shape(), Shape({kUnknownDim, 4}));
  EXPECT_EQ(Mean(x, {-1}, true).shape(), Shape({kUnknownDim, 3, 1}));
  EXPECT_EQ(SumTo(x, {3, 1}).shape(), Shape({3, 1}));
  EXPECT_EQ(SumTo(x, {kUnknownDim, 1, 4}).shape(), Shape({kUnknownDim, 1, 4}));
}

// Every broadcast direction, against a double loop on explicit indices.
TEST(ArithForwardTest, BroadcastBinaryOpsMatchReference) {
  Tensor a = RandomTensor({2, 3, 4}, 1);
  Tensor c = RandomTensor({3, 1}, 2);
  GraphBuilder b;
  Output pa = b.Placeholder("a", a.shape());
  Output pc = b.Placeholder("c", c.shape());
  // a-op-c broadcasts the second operand; c-op-a the first.
  std::vector<Output> outs = {Add(pa, pc), Sub(pa, pc), Mul(pa, pc), Sub(pc, pa),
                              Add(pc, pa)};
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{pa, a}, {pc, c}}, outs));
  std::vector<std::vector<double>> expected(5);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) {
        double x = a.data<float>()[(i * 3 + j) * 4 + k], y = c.data<float>()[j];
        expected[0].push_back(x + y);
        expected[1].push_back(x - y);
        expected[2].push_back(x * y);
        expected[3].push_back(y - x);
        expected[4].push_back(y + x);
      }
    }
  }
  for (int n = 0; n < 5; ++n) ExpectTensorNear(out[n], {2, 3, 4}, expected[n]);
}

TEST(ArithForwardTest, ReductionsMatchReference) {
  Tensor x = RandomTensor({2, 3, 4}, 3);
  GraphBuilder b;
  Output p = b.Placeholder("x", x.shape());
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{p, x}},
                        {Sum(p), Mean(p, {1}), Sum(p, {0, 2}, true), SumTo(p, {3, 1}),
                         ZerosLike(p)}));
  const float* v = x.data<float>();
  double total = 0;
  std::vector<double> mean1(8, 0), sum02(3, 0);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) {
        double e = v[(i * 3 + j) * 4 + k];
        total += e;
        mean1[i * 4 + k] += e / 3;
        sum02[j] += e;
      }
    }
  }
  ExpectTensorNear(out[0], Shape(), {total}, 1e-5, 1e-5);
  ExpectTensorNear(out[1], {2, 4}, mean1, 1e-5, 1e-5);
  ExpectTensorNear(out[2], {1, 3, 1}, sum02, 1e-5, 1e-5);
  ExpectTensorNear(out[3], {3, 1}, sum02, 1e-5, 1e-5);
  ExpectTensorNear(out[4], {2, 3, 4}, std::vector<double>(24, 0.0));
}

TEST(ArithGradientTest, BinaryOps) {
  for (auto op : {&Add, &Sub, &Mul}) {
    CheckGradients(
        [op](GraphBuilder&, const std::vector<Output>& in) {
          return op(in[0], in[1], {});
        },
        {RandomTensor({3, 4}, 4), RandomTensor({4}, 5)}, {0, 1});
    CheckGradients(
        [op](GraphBuilder&, const std::vector<Output>& in) {
          return op(in[1], in[0], {});
        },
        {RandomTensor({2, 3}, 6), RandomTensor({2, 1}, 7)}, {0, 1});
  }
}

TEST(ArithGradientTest, Reductions) {
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return Add(Mean(in[0]), Sum(in[0], {1}, false));
      },
      {RandomTensor({3, 5}, 8)}, {0});
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return SumTo(in[0], {3, 1});
      },
      {RandomTensor({2, 3, 4}, 9)}, {0});
}

TEST(CastTest, ScalesEveryDtypeToFloat) {
  GraphBuilder b;
  Output bytes = b.Placeholder("bytes", {3}, DType::kU8);
  Output ints = b.Placeholder("ints", {2}, DType::kI64);
  Output floats = b.Placeholder("floats", {2});
  Tensor pixels(DType::kU8, {3});
  pixels.data<uint8_t>()[0] = 0;
  pixels.data<uint8_t>()[1] = 51;
  pixels.data<uint8_t>()[2] = 255;
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out,
      RunOnce(b,
              {{bytes, pixels},
               {ints, *Tensor::FromVector<int64_t>({2}, {-3, 5})},
               {floats, *Tensor::FromVector<float>({2}, {1.5f, -2})}},
              {Cast(bytes, 1.0f / 255), Cast(ints), Cast(floats, 2.0f)}));
  EXPECT_EQ(out[0].dtype(), DType::kF32);
  ExpectTensorNear(out[0], {3}, {0, 0.2, 1}, 1e-7, 1e-6);
  ExpectTensorNear(out[1], {2}, {-3, 5});
  ExpectTensorNear(out[2], {2}, {3, -4});
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) { return Cast(in[0], 3.0f); },
      {RandomTensor({4}, 11)}, {0});
}

TEST(ArithGradientTest, MeanOverUnknownBatch) {
  // The count divided by is known only when the plan is compiled.
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2});
  Output loss = Mean(x);
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, nabla::Gradients(loss, {x}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, Tensor(DType::kF32, {5, 2})}}, {grads[0]}));
  ExpectTensorNear(out[0], {5, 2}, std::vector<double>(10, 0.1));
}

}  // namespace
}  // namespace nabla
