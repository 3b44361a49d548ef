#include "ops/optimizers.h"

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::nabla::testing::ToDoubles;
using ::testing::HasSubstr;

Tensor I64Scalar(int64_t value) { return Tensor::Filled<int64_t>(Shape(), value); }

// Adds the op under test: given the variable "w", its fed gradient and the
// learning-rate variable, returns the update node's output.
using AddUpdateFn =
    std::function<Output(GraphBuilder& b, Output w, Output grad, Output lr)>;

// One update op on a variable "w" whose gradient is fed and whose learning
// rate is the variable "lr", compiled once and run step by step.
class UpdateHarness {
 public:
  absl::Status Init(const Tensor& w0, float lr, const AddUpdateFn& add_update) {
    Output w = b_.Variable("w", w0.shape(), Initializer::Value(w0));
    grad_ = b_.Placeholder("grad", w0.shape());
    Output rate = b_.Variable("lr", {}, Initializer::Constant(lr));
    Output update = add_update(b_, w, grad_, rate);
    NABLA_ASSIGN_OR_RETURN(Graph graph, b_.Build());
    NABLA_ASSIGN_OR_RETURN(session_, Session::Create(std::move(graph)));
    NABLA_ASSIGN_OR_RETURN(
        plan_, session_->Compile({FeedSpec{grad_, w0.shape()}}, {update}));
    return absl::OkStatus();
  }

  // Runs one step and returns the update op's output.
  absl::StatusOr<Tensor> Step(const Tensor& grad) {
    std::vector<Tensor> out;
    NABLA_RETURN_IF_ERROR(plan_->Run({grad}, &out));
    return out[0];
  }

  absl::Status SetLearningRate(float lr) {
    return session_->variables().Assign("lr", Tensor::Scalar(lr));
  }

  const Tensor& Value(const std::string& name) const {
    return *session_->variables().Find(name);
  }

 private:
  GraphBuilder b_;
  Output grad_;
  std::unique_ptr<Session> session_;
  Plan* plan_ = nullptr;
};

std::vector<Tensor> RandomGrads(const Shape& shape, int steps) {
  std::vector<Tensor> grads;
  for (int i = 0; i < steps; ++i) grads.push_back(RandomTensor(shape, 10 + i));
  return grads;
}

// Learning rates per step; the changes check that a rate assigned between
// steps takes effect on the next one.
const std::vector<float> kRates = {0.1f, 0.1f, 0.5f, 0.02f, 0.02f};

TEST(ApplySgdTest, MatchesFormulaOverSteps) {
  const Shape shape({2, 3});
  Tensor w0 = RandomTensor(shape, 1);
  UpdateHarness h;
  NABLA_ASSERT_OK(h.Init(w0, 0.1f, [](GraphBuilder&, Output w, Output g,
                                      Output lr) { return ApplySgd(w, g, lr); }));
  std::vector<double> w = ToDoubles(w0);
  std::vector<Tensor> grads = RandomGrads(shape, kRates.size());
  for (size_t step = 0; step < kRates.size(); ++step) {
    NABLA_ASSERT_OK(h.SetLearningRate(kRates[step]));
    NABLA_ASSERT_OK_AND_ASSIGN(Tensor out, h.Step(grads[step]));
    std::vector<double> g = ToDoubles(grads[step]);
    for (size_t i = 0; i < w.size(); ++i) w[i] -= kRates[step] * g[i];
    ExpectTensorNear(h.Value("w"), shape, w, 1e-6, 1e-6);
    // The op's output is the updated variable.
    EXPECT_TRUE(out.BitwiseEquals(h.Value("w")));
  }
}

class ApplyMomentumTest : public ::testing::TestWithParam<bool> {};

TEST_P(ApplyMomentumTest, MatchesFormulaOverSteps) {
  const bool nesterov = GetParam();
  const double mu = 0.8;
  const Shape shape({4, 5});
  Tensor w0 = RandomTensor(shape, 2);
  UpdateHarness h;
  NABLA_ASSERT_OK(h.Init(w0, kRates[0], [&](GraphBuilder& b, Output w,
                                            Output g, Output lr) {
    Output accum = b.Variable("accum", shape, Initializer::Zeros());
    return ApplyMomentum(w, accum, g, lr, static_cast<float>(mu), nesterov);
  }));
  std::vector<double> w = ToDoubles(w0);
  std::vector<double> velocity(w.size(), 0.0);
  std::vector<Tensor> grads = RandomGrads(shape, kRates.size());
  for (size_t step = 0; step < kRates.size(); ++step) {
    NABLA_ASSERT_OK(h.SetLearningRate(kRates[step]));
    NABLA_ASSERT_OK(h.Step(grads[step]).status());
    std::vector<double> g = ToDoubles(grads[step]);
    const double lr = kRates[step];
    for (size_t i = 0; i < w.size(); ++i) {
      velocity[i] = mu * velocity[i] - lr * g[i];
      w[i] += nesterov ? mu * velocity[i] - lr * g[i] : velocity[i];
    }
    ExpectTensorNear(h.Value("accum"), shape, velocity, 1e-6, 1e-5);
    ExpectTensorNear(h.Value("w"), shape, w, 1e-6, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Nesterov, ApplyMomentumTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Nesterov" : "Classic";
                         });

struct AdamCase {
  const char* name;
  double beta1, beta2, epsilon;
  int64_t size;  // elements; past 32768 the loop runs on several threads
};

class ApplyAdamTest : public ::testing::TestWithParam<AdamCase> {};

TEST_P(ApplyAdamTest, MatchesFormulaOverSteps) {
  const AdamCase& p = GetParam();
  const Shape shape({p.size});
  Tensor w0 = RandomTensor(shape, 3);
  UpdateHarness h;
  NABLA_ASSERT_OK(h.Init(w0, kRates[0], [&](GraphBuilder& b, Output w,
                                            Output g, Output lr) {
    Output m = b.Variable("m", shape, Initializer::Zeros());
    Output v = b.Variable("v", shape, Initializer::Zeros());
    Output counter = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
    Output step = AssignAdd(counter, b.Constant(I64Scalar(1)));
    return ApplyAdam(w, m, v, g, lr, step, p.beta1, p.beta2, p.epsilon);
  }));
  std::vector<double> w = ToDoubles(w0);
  std::vector<double> m(w.size(), 0.0), v(w.size(), 0.0);
  std::vector<Tensor> grads = RandomGrads(shape, kRates.size());
  // The f32 hyperparameters as the op sees them.
  const double b1 = static_cast<float>(p.beta1);
  const double b2 = static_cast<float>(p.beta2);
  const double eps = static_cast<float>(p.epsilon);
  for (size_t step = 0; step < kRates.size(); ++step) {
    NABLA_ASSERT_OK(h.SetLearningRate(kRates[step]));
    NABLA_ASSERT_OK(h.Step(grads[step]).status());
    const int t = static_cast<int>(step) + 1;
    std::vector<double> g = ToDoubles(grads[step]);
    const double alpha = kRates[step] * std::sqrt(1 - std::pow(b2, t)) /
                         (1 - std::pow(b1, t));
    for (size_t i = 0; i < w.size(); ++i) {
      m[i] += (g[i] - m[i]) * (1 - b1);
      v[i] += (g[i] * g[i] - v[i]) * (1 - b2);
      w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
    EXPECT_EQ(h.Value("step").data<int64_t>()[0], t);
    ExpectTensorNear(h.Value("m"), shape, m, 1e-6, 1e-5);
    ExpectTensorNear(h.Value("v"), shape, v, 1e-7, 1e-5);
    ExpectTensorNear(h.Value("w"), shape, w, 1e-5, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, ApplyAdamTest,
    ::testing::Values(AdamCase{"KerasDefaults", 0.9, 0.999, 1e-7, 7},
                      AdamCase{"OtherBetas", 0.5, 0.9, 1e-3, 13},
                      AdamCase{"ManyThreads", 0.9, 0.999, 1e-7, 100003}),
    [](const ::testing::TestParamInfo<AdamCase>& info) {
      return std::string(info.param.name);
    });

TEST(AdamStepTest, FailsOnAStepThatWasNotIncremented) {
  GraphBuilder b;
  Output w = b.Variable("w", {3}, Initializer::Zeros());
  Output m = b.Variable("m", {3}, Initializer::Zeros());
  Output v = b.Variable("v", {3}, Initializer::Zeros());
  Output step = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
  Output update = ApplyAdam(w, m, v, b.Constant(Tensor::Filled<float>({3}, 1)),
                            b.Scalar(0.1f), step);
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  EXPECT_THAT(session->Run({}, {update}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("step must be positive")));
}

TEST(AssignAddTest, IncrementsAndOutputsTheNewValue) {
  GraphBuilder b;
  Output counter = b.Variable("counter", {}, Initializer::Zeros(), DType::kI64);
  Output next = AssignAdd(counter, b.Constant(I64Scalar(3)));
  Output acc = b.Variable("acc", {2}, Initializer::Constant(1));
  Output acc_next =
      AssignAdd(acc, b.Constant(*Tensor::FromVector<float>({2}, {0.5f, -2})));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  for (int i = 1; i <= 3; ++i) {
    NABLA_ASSERT_OK_AND_ASSIGN(auto out, session->Run({}, {next, acc_next}));
    EXPECT_EQ(out[0].data<int64_t>()[0], 3 * i);
    ExpectTensorNear(out[1], {2}, {1 + 0.5 * i, 1 - 2.0 * i});
  }
}

TEST(AssignAddTest, RejectsAnotherDType) {
  GraphBuilder b;
  Output counter = b.Variable("counter", {}, Initializer::Zeros(), DType::kI64);
  AssignAdd(counter, b.Scalar(1));
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("delta is f32 but the variable "
                                             "is i64")));
}

TEST(OptimizerShapeTest, GradientOfAnotherShape) {
  GraphBuilder b;
  Output w = b.Variable("w", {2, 3}, Initializer::Zeros());
  ApplySgd(w, b.Placeholder("g", {3, 2}), b.Scalar(0.1f));
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'grad' has shape [3,2] but the "
                                 "variable has shape [2,3]")));
}

TEST(OptimizerShapeTest, SlotOfAnotherShape) {
  GraphBuilder b;
  Output w = b.Variable("w", {4}, Initializer::Zeros());
  Output m = b.Variable("m", {4}, Initializer::Zeros());
  Output v = b.Variable("v", {5}, Initializer::Zeros());
  Output step = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
  ApplyAdam(w, m, v, b.Placeholder("g", {4}), b.Scalar(0.1f), step);
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("input 'v' has shape [5]")));
}

TEST(OptimizerShapeTest, LearningRateMustBeAScalar) {
  GraphBuilder b;
  Output w = b.Variable("w", {4}, Initializer::Zeros());
  ApplySgd(w, b.Placeholder("g", {4}),
           b.Constant(Tensor::Filled<float>({1}, 0.1f)));
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("input 'lr' must be a scalar")));
}

TEST(OptimizerShapeTest, StepMustBeI64) {
  GraphBuilder b;
  Output w = b.Variable("w", {4}, Initializer::Zeros());
  Output m = b.Variable("m", {4}, Initializer::Zeros());
  Output v = b.Variable("v", {4}, Initializer::Zeros());
  ApplyAdam(w, m, v, b.Placeholder("g", {4}), b.Scalar(0.1f), b.Scalar(1));
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("input 'step' must be i64")));
}

TEST(OptimizerShapeTest, UpdatedValueMustBeAVariable) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {4});
  ApplySgd(x, b.Placeholder("g", {4}), b.Scalar(0.1f));
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("must be a Variable")));
}

TEST(OptimizerShapeTest, SlotMustBeAVariable) {
  GraphBuilder b;
  Output w = b.Variable("w", {4}, Initializer::Zeros());
  ApplyMomentum(w, b.Constant(Tensor::Filled<float>({4}, 0)),
                b.Placeholder("g", {4}), b.Scalar(0.1f), 0.9f);
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("input 'accum' is updated in "
                                             "place")));
}

TEST(OptimizerShapeTest, HyperparametersOutOfRange) {
  {
    GraphBuilder b;
    Output w = b.Variable("w", {4}, Initializer::Zeros());
    Output accum = b.Variable("a", {4}, Initializer::Zeros());
    ApplyMomentum(w, accum, b.Placeholder("g", {4}), b.Scalar(0.1f), 1.5f);
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("momentum must lie in [0, 1]")));
  }
  {
    GraphBuilder b;
    Output w = b.Variable("w", {4}, Initializer::Zeros());
    Output m = b.Variable("m", {4}, Initializer::Zeros());
    Output v = b.Variable("v", {4}, Initializer::Zeros());
    Output step = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
    ApplyAdam(w, m, v, b.Placeholder("g", {4}), b.Scalar(0.1f), step, 0.9f,
              1.0f);
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("beta2 must lie in [0, 1)")));
  }
}

TEST(OptimizerShapeTest, ResolvedShapesMustMatch) {
  // [?,3] is compatible with [2,3] while building, but a batch of 4 is not.
  GraphBuilder b;
  Output w = b.Variable("w", {2, 3}, Initializer::Zeros());
  Output g = b.Placeholder("g", {kUnknownDim, 3});
  Output update = ApplySgd(w, g, b.Scalar(0.1f));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  EXPECT_THAT(session->Compile({FeedSpec{g, Shape({4, 3})}}, {update}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has shape [4,3] but the variable has shape "
                                 "[2,3]")));
}

TEST(OptimizerOrderTest, ReadersOfTheVariableSeeTheOldValue) {
  GraphBuilder b;
  Tensor w0 = *Tensor::FromVector<float>({3}, {1, 2, 3});
  Output w = b.Variable("w", {3}, Initializer::Value(w0));
  Output x = b.Placeholder("x", {3});
  // One reader built before the update and one after it: the executor must
  // run both before the in-place write, whatever the node order.
  Output before = Mul(w, x, "before");
  Output grad = Mul(before, b.Scalar(1), "grad");
  Output update = ApplySgd(w, grad, b.Scalar(1.0f), "update");
  Output after = Add(w, b.Scalar(0), "after");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  Tensor xs = *Tensor::FromVector<float>({3}, {1, 1, 2});
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, session->Run({{x, xs}}, {before, after, update}));
  ExpectTensorNear(out[0], {3}, {1, 2, 6});
  ExpectTensorNear(out[1], {3}, {1, 2, 3});
  // w - w * x.
  ExpectTensorNear(out[2], {3}, {0, 0, -3});
  ExpectTensorNear(*session->variables().Find("w"), {3}, {0, 0, -3});
}

TEST(OptimizerOrderTest, AdamRunsAfterTheStepIncrement) {
  // The increment's output is Adam's input, so even with many updates in a
  // plan each sees step 1 on the first run.
  GraphBuilder b;
  Output counter = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
  Output step = AssignAdd(counter, b.Constant(I64Scalar(1)));
  std::vector<NodeOutput> targets = {step};
  for (int i = 0; i < 3; ++i) {
    std::string name = absl::StrCat("w", i);
    Output w = b.Variable(name, {2}, Initializer::Constant(1));
    Output m = b.Variable(name + "/m", {2}, Initializer::Zeros());
    Output v = b.Variable(name + "/v", {2}, Initializer::Zeros());
    targets.push_back(ApplyAdam(w, m, v,
                                b.Constant(Tensor::Filled<float>({2}, 0.5f)),
                                b.Scalar(0.1f), step));
  }
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  NABLA_ASSERT_OK(session->Run({}, {}, targets).status());
  // At step 1 Adam moves every weight by lr * g / (|g| + eps) ~ lr.
  for (int i = 0; i < 3; ++i) {
    ExpectTensorNear(*session->variables().Find(absl::StrCat("w", i)), {2},
                     {0.9, 0.9}, 1e-6);
  }
}

}  // namespace
}  // namespace nabla
