#include "ops/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "graph/op_registry.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::nabla::testing::ToDoubles;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Tensor F32(const Shape& shape, std::initializer_list<float> values) {
  return *Tensor::FromVector<float>(shape, values);
}

// ---------------------------------------------------------------------------
// ArgMax

struct ArgMaxShapeCase {
  Shape x;
  int64_t axis;
  Shape expected;
  const char* error;  // a substring of the message, or "" for success
};

TEST(ArgMaxTest, InfersShapes) {
  const ArgMaxShapeCase cases[] = {
      {{kUnknownDim, 10}, -1, {kUnknownDim}, ""},
      {{2, 3, 4}, 1, {2, 4}, ""},
      {{2, 3, 4}, 0, {3, 4}, ""},
      {{2, 3, 4}, -1, {2, 3}, ""},
      {{5}, 0, {}, ""},
      {{}, -1, {}, "x must have rank >= 1 to take an argmax along an axis"},
      {{2, 3}, 2, {}, "axis 2 is out of range for rank 2"},
      {{2, 3}, -3, {}, "axis -3 is out of range for rank 2"},
      {{4, 0}, -1, {}, "axis -1 of [4,0] is empty, so it has no maximum"},
  };
  for (const ArgMaxShapeCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.x.ToString(), " axis ", c.axis));
    GraphBuilder b;
    Output y = ArgMax(b.Placeholder("x", c.x), c.axis, "argmax");
    if (*c.error != '\0') {
      EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(c.error)));
      continue;
    }
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(y.shape(), c.expected);
    EXPECT_EQ(y.dtype(), DType::kI64);
  }
}

TEST(ArgMaxTest, RejectsU8) {
  GraphBuilder b;
  ArgMax(b.Placeholder("x", {2, 3}, DType::kU8));
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'x' must be f32 or i32 or i64, got u8")));
}

// Ties go to the first maximum.
TEST(ArgMaxTest, PicksFirstMaximum) {
  const Tensor x = F32({3, 3}, {1, 3, 3,     //
                                5, -1, 2,    //
                                -2, -2, -2});
  GraphBuilder b;
  Output xp = b.Placeholder("x", {3, 3});
  Output rows = ArgMax(xp);
  Output columns = ArgMax(xp, 0);
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{xp, x}}, {rows, columns}));
  ASSERT_EQ(out[0].dtype(), DType::kI64);
  EXPECT_THAT(out[0].flat<int64_t>(), ElementsAre(1, 0, 0));
  // Columns: {1, 5, -2} -> 1; {3, -1, -2} -> 0; {3, 2, -2} -> 0.
  EXPECT_THAT(out[1].flat<int64_t>(), ElementsAre(1, 0, 0));
}

TEST(ArgMaxTest, MiddleAxisOfRank3) {
  // x[i][j][k] = values below; argmax over j for each (i, k).
  const Tensor x = F32({2, 3, 2}, {0, 9,   //
                                   4, 1,   //
                                   4, 9,   //
                                   -1, -5, //
                                   -3, -5, //
                                   -2, -4});
  GraphBuilder b;
  Output xp = b.Placeholder("x", {2, 3, 2});
  Output y = ArgMax(xp, 1);
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{xp, x}}, {y}));
  EXPECT_EQ(out[0].shape(), Shape({2, 2}));
  EXPECT_THAT(out[0].flat<int64_t>(), ElementsAre(1, 0, 0, 2));
}

TEST(ArgMaxTest, IntegerInputs) {
  GraphBuilder b;
  Output a = b.Placeholder("a", {2, 3}, DType::kI32);
  Output c = b.Placeholder("c", {2, 3}, DType::kI64);
  Output ya = ArgMax(a);
  Output yc = ArgMax(c);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out,
      RunOnce(b,
              {{a, *Tensor::FromVector<int32_t>({2, 3}, {2, 7, 7, -9, -8, -8})},
               {c, *Tensor::FromVector<int64_t>(
                       {2, 3}, {int64_t{1} << 40, 0, int64_t{1} << 41, 3, 3, 3})}},
              {ya, yc}));
  EXPECT_THAT(out[0].flat<int64_t>(), ElementsAre(1, 1));
  EXPECT_THAT(out[1].flat<int64_t>(), ElementsAre(2, 0));
}

// NaN counts as the largest value, as in NumPy: the first NaN wins.
TEST(ArgMaxTest, FirstNanWins) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  GraphBuilder b;
  Output xp = b.Placeholder("x", {3, 3});
  Output y = ArgMax(xp);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{xp, F32({3, 3}, {1, nan, nan,  //
                                               nan, inf, 2,  //
                                               -inf, 0, inf})}},
                        {y}));
  EXPECT_THAT(out[0].flat<int64_t>(), ElementsAre(1, 0, 2));
}

TEST(ArgMaxTest, IsNotDifferentiable) {
  const OpSchema* schema = OpRegistry::Global().Find("ArgMax");
  ASSERT_NE(schema, nullptr);
  EXPECT_TRUE(schema->not_differentiable());
}

// ---------------------------------------------------------------------------
// Accuracy

struct AccuracyShapeCase {
  Shape scores;
  Shape labels;
  DType labels_dtype;
  const char* error;  // a substring of the message, or "" for success
};

TEST(AccuracyTest, InfersShapes) {
  const AccuracyShapeCase cases[] = {
      {{kUnknownDim, 10}, {kUnknownDim}, DType::kI64, ""},
      {{4, 10}, {4}, DType::kI32, ""},
      {{kUnknownDim, 10}, {kUnknownDim, 10}, DType::kF32, ""},
      {{4, 10}, {5}, DType::kI64, "got 5 labels for a batch of 4"},
      {{4, 10}, {4, 1}, DType::kI32,
       "class-index labels must be rank 1 [batch], got [4,1]"},
      {{4, 10}, {4, 9}, DType::kF32, "labels have 9 classes but scores have 10"},
      {{4, 10}, {3, 10}, DType::kF32, "got 3 label rows for a batch of 4"},
      {{4, 10}, {4}, DType::kF32,
       "f32 labels must be rows of class probabilities or one-hot rows [batch, classes], got [4]"},
      {{4, 10, 1}, {4}, DType::kI64,
       "scores must be rank 2 [batch, classes], got [4,10,1]"},
      {{4, 0}, {4}, DType::kI64, "scores must have at least one class"},
      {{4, 10}, {4}, DType::kU8,
       "input 'labels' must be f32 or i32 or i64, got u8"},
  };
  for (const AccuracyShapeCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.scores.ToString(), " ", c.labels.ToString(),
                              " ", DTypeName(c.labels_dtype)));
    GraphBuilder b;
    Output acc = Accuracy(b.Placeholder("scores", c.scores),
                          b.Placeholder("labels", c.labels, c.labels_dtype));
    if (*c.error != '\0') {
      EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(c.error)));
      continue;
    }
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(acc.spec(), (TensorSpec{DType::kF32, Shape()}));
  }
}

// Rows: right, right, a tie that the first maximum (class 0) wins, wrong.
const float kScores[] = {0.1f, 0.9f,  //
                         0.8f, 0.2f,  //
                         0.5f, 0.5f,  //
                         0.3f, 0.7f};

TEST(AccuracyTest, CountsRowsWhoseArgMaxIsTheLabel) {
  const Tensor label_forms[] = {
      *Tensor::FromVector<int64_t>({4}, {1, 0, 0, 0}),
      *Tensor::FromVector<int32_t>({4}, {1, 0, 0, 0}),
      F32({4, 2}, {0, 1, 1, 0, 1, 0, 1, 0}),
  };
  for (const Tensor& labels : label_forms) {
    SCOPED_TRACE(DTypeName(labels.dtype()));
    GraphBuilder b;
    Output s = b.Placeholder("scores", {kUnknownDim, 2});
    Output z = b.Placeholder("labels", labels.shape(), labels.dtype());
    Output acc = Accuracy(s, z);
    NABLA_ASSERT_OK_AND_ASSIGN(
        auto out,
        RunOnce(b, {{s, *Tensor::FromVector<float>({4, 2}, kScores)}, {z, labels}},
                {acc}));
    ExpectTensorNear(out[0], {}, {0.75}, 0, 0);
  }
}

TEST(AccuracyTest, TieGoesToFirstClass) {
  // The same tied row scored against class 1 is wrong.
  GraphBuilder b;
  Output s = b.Placeholder("scores", {1, 3});
  Output z = b.Placeholder("labels", {1}, DType::kI64);
  Output acc = Accuracy(s, z);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto first, RunOnce(b, {{s, F32({1, 3}, {2, 2, 1})},
                              {z, *Tensor::FromVector<int64_t>({1}, {0})}},
                          {acc}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto second, RunOnce(b, {{s, F32({1, 3}, {2, 2, 1})},
                               {z, *Tensor::FromVector<int64_t>({1}, {1})}},
                           {acc}));
  EXPECT_THAT(ToDoubles(first[0]), ElementsAre(1.0));
  EXPECT_THAT(ToDoubles(second[0]), ElementsAre(0.0));
}

TEST(AccuracyTest, MatchesArgMaxOnRandomScores) {
  const int64_t n = 50, c = 7;
  Tensor scores = RandomTensor({n, c}, 3);
  Tensor labels(DType::kI64, {n});
  for (int64_t i = 0; i < n; ++i) labels.data<int64_t>()[i] = (i * 5) % c;
  GraphBuilder b;
  Output s = b.Placeholder("scores", {n, c});
  Output z = b.Placeholder("labels", {n}, DType::kI64);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{s, scores}, {z, labels}}, {Accuracy(s, z), ArgMax(s)}));
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    correct += out[1].data<int64_t>()[i] == labels.data<int64_t>()[i];
  }
  ExpectTensorNear(out[0], {}, {static_cast<double>(correct) / n}, 1e-7, 0);
}

TEST(AccuracyTest, EmptyBatchGivesZero) {
  GraphBuilder b;
  Output s = b.Placeholder("scores", {kUnknownDim, 3});
  Output z = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
  Output acc = Accuracy(s, z);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{s, Tensor(DType::kF32, {0, 3})},
                            {z, Tensor(DType::kI32, {0})}},
                        {acc}));
  ExpectTensorNear(out[0], {}, {0.0}, 0, 0);
}

TEST(AccuracyTest, OutOfRangeLabelFailsNamingIt) {
  GraphBuilder b;
  Output s = b.Placeholder("scores", {3, 4});
  Output z = b.Placeholder("labels", {3}, DType::kI64);
  Output acc = Accuracy(s, z, "acc");
  EXPECT_THAT(RunOnce(b, {{s, RandomTensor({3, 4}, 1)},
                          {z, *Tensor::FromVector<int64_t>({3}, {0, 3, 7})}},
                      {acc}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Accuracy node 'acc': labels[2] = 7 is not a "
                                 "class index in [0, 4)")));
}

// Gradients() stops at Accuracy: the scores get zeros, not an error.
TEST(AccuracyTest, GradientsStopHere) {
  GraphBuilder b;
  Output s = b.Placeholder("scores", {2, 3});
  Output z = b.Placeholder("labels", {2}, DType::kI32);
  Output acc = Accuracy(s, z);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads, Gradients(acc, {s}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{s, RandomTensor({2, 3}, 1)},
                            {z, *Tensor::FromVector<int32_t>({2}, {0, 1})}},
                        {grads[0]}));
  ExpectTensorNear(out[0], {2, 3}, std::vector<double>(6, 0.0), 0, 0);
}

}  // namespace
}  // namespace nabla
