// The executor: plans compiled once and run many times, against reference
// loops; variables persisting; pruning; feed errors; buffer reuse.

#include "graph/session.h"

#include "graph/builder.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

// y = relu(x · w + b) - 0.5, checked against a double loop.
TEST(SessionTest, RunsAgainstReferenceLoop) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3});
  Tensor w_value = RandomTensor({3, 4}, 1);
  Tensor b_value = RandomTensor({4}, 2);
  Output w = b.Variable("w", {3, 4}, Initializer::Value(w_value));
  Output bias = b.Variable("b", {4}, Initializer::Value(b_value));
  Output y = Sub(Relu(Add(MatMul(x, w), bias)), b.Scalar(0.5f));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  Tensor input = RandomTensor({6, 3}, 3);
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, session->Run({{x, input}}, {y}));
  std::vector<double> expected;
  for (int n = 0; n < 6; ++n) {
    for (int j = 0; j < 4; ++j) {
      double acc = b_value.data<float>()[j];
      for (int k = 0; k < 3; ++k) {
        acc += double{input.data<float>()[n * 3 + k]} * w_value.data<float>()[k * 4 + j];
      }
      expected.push_back(std::max(acc, 0.0) - 0.5);
    }
  }
  ExpectTensorNear(out[0], {6, 4}, expected, 1e-5, 1e-5);
}

TEST(SessionTest, SamePlanTwiceGivesIdenticalResults) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 16});
  Output w = b.Variable("w", {16, 8}, Initializer::GlorotUniform(4));
  Output bias = b.Variable("b", {8}, Initializer::Zeros());
  Output y = Tanh(Dense(x, w, bias));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan,
                             session->Compile({{x, Shape({32, 16})}}, {y}));
  Tensor input = RandomTensor({32, 16}, 5);
  std::vector<Tensor> first, second;
  NABLA_ASSERT_OK(plan->Run({input}, &first));
  NABLA_ASSERT_OK(plan->Run({input}, &second));
  EXPECT_TRUE(first[0].BitwiseEquals(second[0]));
}

TEST(SessionTest, RunReusesFetchBuffers) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {4});
  Output y = Relu(x);
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan, session->Compile({{x, Shape({4})}}, {y}));
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(plan->Run({*Tensor::FromVector<float>({4}, {1, -1, 2, -2})}, &out));
  void* buffer = out[0].raw_data();
  NABLA_ASSERT_OK(plan->Run({*Tensor::FromVector<float>({4}, {-1, 3, 2, -2})}, &out));
  EXPECT_EQ(out[0].raw_data(), buffer);
  ExpectTensorNear(out[0], {4}, {0, 3, 2, 0});
}

TEST(SessionTest, VariablesPersistAcrossRuns) {
  GraphBuilder b;
  Output v = b.Variable("v", {3}, Initializer::Constant(2.0f));
  Output doubled = Mul(v, b.Scalar(2.0f));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, session->Run({}, {doubled}));
  ExpectTensorNear(out[0], {3}, {4, 4, 4});
  NABLA_ASSERT_OK(session->variables().Assign(
      "v", *Tensor::FromVector<float>({3}, {1, 2, 3})));
  NABLA_ASSERT_OK_AND_ASSIGN(out, session->Run({}, {doubled}));
  ExpectTensorNear(out[0], {3}, {2, 4, 6});
  EXPECT_THAT(session->variables().Assign("v", Tensor::Scalar(1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variable 'v' is f32[3]; cannot assign f32[]")));
}

TEST(SessionTest, FetchedValuesAreCopies) {
  GraphBuilder b;
  Output v = b.Variable("v", {2}, Initializer::Constant(1.0f));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, session->Run({}, {v}));
  out[0].data<float>()[0] = 99;
  EXPECT_EQ(session->variables().Find("v")->data<float>()[0], 1.0f);
}

TEST(SessionTest, PrunesToWhatFetchesNeed) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2});
  Output unused_input = b.Placeholder("unused", {2});
  Output y = Relu(x);
  Relu(unused_input);
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  // "unused" need not be fed: nothing asked for depends on it.
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan, session->Compile({{x, Shape({2})}}, {y}));
  EXPECT_EQ(plan->stats().num_steps, 1);
}

TEST(SessionTest, FeedErrorsAreClear) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3});
  Output labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
  Output y = Relu(x);
  Output w = b.Variable("w", {3}, Initializer::Zeros());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));

  EXPECT_THAT(session->Run({{x, Tensor(DType::kF32, {2, 4})}}, {y}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("placeholder 'x' is f32[?,3]; cannot feed "
                                 "shape [2,4]")));
  EXPECT_THAT(session->Run({{x, Tensor(DType::kI32, {2, 3})}}, {y}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("feed 0 is i32[2,3] but the plan was compiled "
                                 "for f32[2,3]")));
  EXPECT_THAT(session->Run({}, {y}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("placeholder 'x' f32[?,3] must be fed")));
  EXPECT_THAT(session->Run({{w, Tensor(DType::kF32, {3})}}, {y}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variable 'w' cannot be fed")));
  EXPECT_THAT(session->Run({}, {NodeOutput{99, 0}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not have")));
  (void)labels;

  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan,
                             session->Compile({{x, Shape({2, 3})}}, {y}));
  std::vector<Tensor> out;
  EXPECT_THAT(plan->Run({Tensor(DType::kF32, {3, 3})}, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("compiled for f32[2,3]")));
  EXPECT_THAT(plan->Run({}, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("plan takes 1 feeds, got 0")));
}

TEST(SessionTest, FeedingAnIntermediateValuePrunesWhatComputesIt) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2});
  Output h = Tanh(x, "h");
  Output y = Relu(h);
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  // x need not be fed: h is, so Tanh does not run.
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan, session->Compile({{h, Shape({1, 2})}}, {y}));
  EXPECT_EQ(plan->stats().num_steps, 1);
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(plan->Run({*Tensor::FromVector<float>({1, 2}, {-3, 4})}, &out));
  ExpectTensorNear(out[0], {1, 2}, {0, 4});
  // A fetched value that is fed comes back as fed.
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto same, session->Run({{h, *Tensor::FromVector<float>({1, 2}, {5, 6})}}, {h}));
  ExpectTensorNear(same[0], {1, 2}, {5, 6});
  EXPECT_THAT(session->Run({{h, Tensor(DType::kF32, {1, 3})}}, {y}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("value 'h' is f32[?,2]; cannot feed shape [1,3]")));
}

TEST(SessionTest, InPlaceUpdateWaitsForReadersOfViews) {
  // The update is built before the view's reader, so node order alone would
  // run it first; the reader must still see the value before the update.
  GraphBuilder b;
  Output v = b.Variable("v", {2, 2}, Initializer::Constant(1.0f));
  Output grad = b.Constant(Tensor::Filled<float>(Shape({2, 2}), 1.0f));
  Output update = ApplySgd(v, grad, b.Scalar(0.5f));
  Output read = Mul(Reshape(v, {4}), b.Scalar(3.0f));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, session->Run({}, {read}, {update}));
  ExpectTensorNear(out[0], {4}, {3, 3, 3, 3});
  NABLA_ASSERT_OK_AND_ASSIGN(out, session->Run({}, {read}, {update}));
  ExpectTensorNear(out[0], {4}, {1.5, 1.5, 1.5, 1.5});
}

TEST(SessionTest, BatchSizeIsResolvedPerPlan) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2});
  Output y = Sum(Relu(x), {1});
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  for (int batch : {1, 3, 7}) {
    Tensor input = Tensor::Filled<float>(Shape({batch, 2}), 1.5f);
    NABLA_ASSERT_OK_AND_ASSIGN(auto out, session->Run({{x, input}}, {y}));
    ExpectTensorNear(out[0], Shape({batch}), std::vector<double>(batch, 3.0));
  }
}

TEST(SessionTest, LivenessPlanningSharesBuffers) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 256});
  Output h = x;
  for (int i = 0; i < 6; ++i) h = Tanh(h);
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan,
                             session->Compile({{x, Shape({64, 256})}}, {h}));
  // Six same-sized values in a chain need two buffers, not six.
  EXPECT_EQ(plan->stats().unshared_bytes, 6u * 64 * 256 * 4);
  EXPECT_EQ(plan->stats().arena_bytes, 2u * 64 * 256 * 4);
  Tensor input = RandomTensor({64, 256}, 9);
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(plan->Run({input}, &out));
  std::vector<double> expected;
  for (float v : input.flat<float>()) {
    double t = v;
    for (int i = 0; i < 6; ++i) t = std::tanh(t);
    expected.push_back(t);
  }
  ExpectTensorNear(out[0], {64, 256}, expected, 1e-5, 1e-5);
}

TEST(SessionTest, PlansShareTheSessionArena) {
  // A small plan compiled after a large one reuses its buffers, and the
  // large one still computes correctly when they alternate.
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 64});
  Output y = Tanh(Tanh(x));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * small, session->Compile({{x, Shape({2, 64})}}, {y}));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * large, session->Compile({{x, Shape({50, 64})}}, {y}));
  Tensor small_in = RandomTensor({2, 64}, 1), large_in = RandomTensor({50, 64}, 2);
  std::vector<Tensor> small_out, large_out;
  for (int i = 0; i < 2; ++i) {
    NABLA_ASSERT_OK(small->Run({small_in}, &small_out));
    NABLA_ASSERT_OK(large->Run({large_in}, &large_out));
  }
  std::vector<double> expected;
  for (float v : large_in.flat<float>()) expected.push_back(std::tanh(std::tanh(double{v})));
  ExpectTensorNear(large_out[0], {50, 64}, expected, 1e-6, 1e-5);
  expected.clear();
  for (float v : small_in.flat<float>()) expected.push_back(std::tanh(std::tanh(double{v})));
  ExpectTensorNear(small_out[0], {2, 64}, expected, 1e-6, 1e-5);
}

TEST(SessionTest, ViewsKeepTheirSourceAlive) {
  // Reshape shares its input's buffer: the buffer must not be handed to a
  // later value while the view is still to be read.
  GraphBuilder b;
  Output x = b.Placeholder("x", {4, 4});
  Output a = Tanh(x);
  Output view = Reshape(a, {16});
  Output c = Tanh(Tanh(x));
  Output sum = Add(Reshape(c, {16}), view);
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  Tensor input = RandomTensor({4, 4}, 10);
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, session->Run({{x, input}}, {sum}));
  std::vector<double> expected;
  for (float v : input.flat<float>()) {
    expected.push_back(std::tanh(std::tanh(double{v})) + std::tanh(double{v}));
  }
  ExpectTensorNear(out[0], {16}, expected, 1e-5, 1e-5);
}

}  // namespace
}  // namespace nabla
