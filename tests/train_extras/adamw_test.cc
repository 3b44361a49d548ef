// Decoupled weight decay (ApplyAdamW, AdamOptions::weight_decay and its
// filters) and L2 regularization (AddL2Regularization).

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "ops/optimizers.h"
#include "tests/test_util.h"
#include "tests/train_extras/golden_util.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::GoldenCases;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::ReadTrainExtrasGolden;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::nabla::testing::ToDoubles;
using ::testing::HasSubstr;

Tensor F32(const Shape& shape, const std::vector<double>& values) {
  std::vector<float> f(values.begin(), values.end());
  return *Tensor::FromVector<float>(shape, absl::MakeConstSpan(f));
}

// One ApplyAdam or ApplyAdamW on a variable "w" whose gradient is fed, run
// step by step with the step count incremented before each update.
class AdamHarness {
 public:
  absl::Status Init(const Tensor& w0, float lr, float weight_decay,
                    bool use_adamw, float epsilon = 1e-7f) {
    Output w = b_.Variable("w", w0.shape(), Initializer::Value(w0));
    Output m = b_.Variable("m", w0.shape(), Initializer::Zeros());
    Output v = b_.Variable("v", w0.shape(), Initializer::Zeros());
    grad_ = b_.Placeholder("grad", w0.shape());
    Output rate = b_.Variable("lr", {}, Initializer::Constant(lr));
    Output counter = b_.Variable("step", {}, Initializer::Zeros(), DType::kI64);
    Output step =
        AssignAdd(counter, b_.Constant(Tensor::Filled<int64_t>(Shape(), 1)));
    Output update =
        use_adamw ? ApplyAdamW(w, m, v, grad_, rate, step,
                               b_.Constant(Tensor::Scalar(0.9f)), weight_decay,
                               0.999f, epsilon)
                  : ApplyAdam(w, m, v, grad_, rate, step, 0.9f, 0.999f,
                              epsilon);
    NABLA_ASSIGN_OR_RETURN(Graph graph, b_.Build());
    NABLA_ASSIGN_OR_RETURN(session_, Session::Create(std::move(graph)));
    NABLA_ASSIGN_OR_RETURN(
        plan_, session_->Compile({FeedSpec{grad_.ref(), w0.shape()}},
                                 {update.ref()}));
    return absl::OkStatus();
  }

  absl::StatusOr<Tensor> Step(const Tensor& grad) {
    std::vector<Tensor> out;
    NABLA_RETURN_IF_ERROR(plan_->Run({grad}, &out));
    return out[0].Clone();
  }

 private:
  GraphBuilder b_;
  Output grad_;
  std::unique_ptr<Session> session_;
  Plan* plan_ = nullptr;
};

// The formula of ops/optimizers.h in double.
struct AdamWRef {
  std::vector<double> w, m, v;
  double lr, wd, beta1 = 0.9, beta2 = 0.999, eps = 1e-7;
  int t = 0;

  void Step(const std::vector<double>& g) {
    ++t;
    const double alpha =
        lr * std::sqrt(1 - std::pow(beta2, t)) / (1 - std::pow(beta1, t));
    for (size_t i = 0; i < w.size(); ++i) {
      m[i] += (g[i] - m[i]) * (1 - beta1);
      v[i] += (g[i] * g[i] - v[i]) * (1 - beta2);
      w[i] = w[i] * (1 - lr * wd) - alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
};

TEST(AdamWTest, MatchesTheFormulaInDoubleAndTorch) {
  NABLA_ASSERT_OK_AND_ASSIGN(GoldenCases golden, ReadTrainExtrasGolden());
  const auto& c = golden.at("adamw");
  const std::vector<double>& params = c.at("params");
  const float lr = static_cast<float>(params[0]);
  const float wd = static_cast<float>(params[1]);
  const int steps = static_cast<int>(params[5]);
  const Shape shape({3, 4});
  AdamHarness adamw;
  NABLA_ASSERT_OK(adamw.Init(F32(shape, c.at("w0")), lr, wd, true));
  AdamWRef ref{c.at("w0"), std::vector<double>(12), std::vector<double>(12),
               lr, wd};
  for (int t = 1; t <= steps; ++t) {
    SCOPED_TRACE(absl::StrCat("step ", t));
    const std::vector<double>& g = c.at(absl::StrCat("grad", t));
    NABLA_ASSERT_OK_AND_ASSIGN(Tensor w, adamw.Step(F32(shape, g)));
    ref.Step(g);
    ExpectTensorNear(w, shape, ref.w, 2e-7, 2e-6);
    // torch.optim.AdamW's lr and weight_decay are doubles (0.01, 0.1), ours
    // f32: the difference is below f32 rounding of w.
    ExpectTensorNear(w, shape, c.at(absl::StrCat("w", t)), 2e-7, 2e-6);
  }
}

TEST(AdamWTest, DecayShrinksAVariableWithoutGradient) {
  // With a zero gradient Adam's step is 0, so only the decay acts:
  // w_t = w_0 * (1 - lr * wd)^t.
  Tensor w0 = RandomTensor({5}, 3);
  AdamHarness adamw;
  NABLA_ASSERT_OK(adamw.Init(w0, 0.5f, 0.2f, true));
  Tensor w;
  for (int t = 0; t < 3; ++t) {
    NABLA_ASSERT_OK_AND_ASSIGN(w, adamw.Step(Tensor(DType::kF32, Shape({5}))));
  }
  std::vector<double> expected = ToDoubles(w0);
  for (double& x : expected) x *= std::pow(1 - 0.5 * 0.2, 3);
  ExpectTensorNear(w, Shape({5}), expected, 0, 1e-6);
}

TEST(AdamWTest, ZeroDecayIsAdamBitForBit) {
  Tensor w0 = RandomTensor({40}, 4);
  AdamHarness adam, adamw;
  NABLA_ASSERT_OK(adam.Init(w0, 0.01f, 0, false));
  NABLA_ASSERT_OK(adamw.Init(w0, 0.01f, 0, true));
  for (int t = 0; t < 4; ++t) {
    Tensor g = RandomTensor({40}, 50 + t);
    NABLA_ASSERT_OK_AND_ASSIGN(Tensor a, adam.Step(g));
    NABLA_ASSERT_OK_AND_ASSIGN(Tensor b, adamw.Step(g));
    EXPECT_TRUE(a.BitwiseEquals(b)) << "step " << t + 1;
  }
}

TEST(AdamWTest, BadWeightDecayIsRefused) {
  for (float wd : {-0.1f, std::nanf(""), INFINITY}) {
    GraphBuilder b;
    Output w = b.Variable("w", {2}, Initializer::Zeros());
    Output lr = b.Variable("lr", {}, Initializer::Constant(0.1f));
    Output step = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
    ApplyAdamW(w, b.Variable("m", {2}, Initializer::Zeros()),
               b.Variable("v", {2}, Initializer::Zeros()),
               b.Placeholder("g", {2}), lr, step,
               b.Constant(Tensor::Scalar(0.9f)), wd);
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("weight_decay")));

    GraphBuilder ob;
    Output ow = ob.Variable("w", {2}, Initializer::Zeros());
    AdamOptions options;
    options.weight_decay = wd;
    Adam adam(options);
    EXPECT_THAT(adam.Minimize(Sum(Mul(ow, ow)), {ow}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("weight_decay")));
  }
}

// A linear loss sum(w * cw) + sum(bias * cb): constant gradients cw and cb,
// so that bias's updates do not depend on w's.
struct LinearModel {
  std::unique_ptr<Session> session;
  Plan* step = nullptr;
  std::vector<std::string> update_ops;  // the op of each update node
};

absl::StatusOr<LinearModel> BuildLinear(AdamOptions options) {
  GraphBuilder b;
  Output w = b.Variable("w", {2, 3}, Initializer::Value(RandomTensor({2, 3}, 8)));
  Output bias = b.Variable("bias", {3}, Initializer::Value(RandomTensor({3}, 9)));
  Output cw = b.Constant(RandomTensor({2, 3}, 10), "cw");
  Output cb = b.Constant(RandomTensor({3}, 12), "cb");
  Output loss = Add(Sum(Mul(w, cw)), Sum(Mul(bias, cb)));
  Adam adam(std::move(options));
  NABLA_ASSIGN_OR_RETURN(TrainStep train, adam.Minimize(loss, {w, bias}));
  LinearModel model;
  for (const Output& update : train.updates) {
    model.update_ops.push_back(
        std::string(b.graph().node(update.ref().node).op()));
  }
  NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
  NABLA_ASSIGN_OR_RETURN(model.session, Session::Create(std::move(graph)));
  NABLA_ASSIGN_OR_RETURN(model.step,
                         model.session->Compile({}, {}, train.targets()));
  return model;
}

TEST(AdamWTest, FiltersChooseWhichVariablesDecay) {
  AdamOptions plain;
  plain.learning_rate = 0.1f;
  AdamOptions all = plain;
  all.weight_decay = 0.3f;
  AdamOptions matrices = all;
  matrices.decay_filter = DecayOnlyMatrices();
  AdamOptions listed = all;

  NABLA_ASSERT_OK_AND_ASSIGN(LinearModel p, BuildLinear(plain));
  NABLA_ASSERT_OK_AND_ASSIGN(LinearModel a, BuildLinear(all));
  NABLA_ASSERT_OK_AND_ASSIGN(LinearModel m, BuildLinear(matrices));
  EXPECT_EQ(p.update_ops, (std::vector<std::string>{"ApplyAdam", "ApplyAdam"}));
  EXPECT_EQ(a.update_ops,
            (std::vector<std::string>{"ApplyAdamW", "ApplyAdamW"}));
  EXPECT_EQ(m.update_ops,
            (std::vector<std::string>{"ApplyAdamW", "ApplyAdam"}));
  for (int t = 0; t < 3; ++t) {
    for (LinearModel* model : {&p, &a, &m}) {
      std::vector<Tensor> out;
      NABLA_ASSERT_OK(model->step->Run({}, &out));
    }
  }
  auto value = [](const LinearModel& model, const char* name) {
    return model.session->variables().Find(name);
  };
  // The excluded bias trains exactly as under plain Adam; the decayed
  // variables do not.
  EXPECT_TRUE(value(m, "bias")->BitwiseEquals(*value(p, "bias")));
  EXPECT_FALSE(value(a, "bias")->BitwiseEquals(*value(p, "bias")));
  EXPECT_TRUE(value(m, "w")->BitwiseEquals(*value(a, "w")));
  EXPECT_FALSE(value(m, "w")->BitwiseEquals(*value(p, "w")));

  // The decayed w against the formula: its gradient is the constant cw.
  AdamWRef ref{ToDoubles(RandomTensor({2, 3}, 8)), std::vector<double>(6),
               std::vector<double>(6), 0.1f, 0.3f};
  for (int t = 0; t < 3; ++t) ref.Step(ToDoubles(RandomTensor({2, 3}, 10)));
  ExpectTensorNear(*value(m, "w"), Shape({2, 3}), ref.w, 1e-6, 1e-5);
}

TEST(AdamWTest, ExcludeFromWeightDecayNamesVariables) {
  GraphBuilder b;
  Output w = b.Variable("w", {2, 3}, Initializer::Zeros());
  Output v = b.Variable("v", {2, 3}, Initializer::Zeros());
  WeightDecayFilter filter = ExcludeFromWeightDecay({v});
  EXPECT_TRUE(filter(w));
  EXPECT_FALSE(filter(v));
  AdamOptions options;
  options.weight_decay = 0.01f;
  options.decay_filter = ExcludeFromWeightDecay({v});
  Adam adam(options);
  NABLA_ASSERT_OK_AND_ASSIGN(
      TrainStep train, adam.Minimize(Add(Sum(Mul(w, w)), Sum(Mul(v, v))), {w, v}));
  EXPECT_EQ(b.graph().node(train.updates[0].ref().node).op(), "ApplyAdamW");
  EXPECT_EQ(b.graph().node(train.updates[1].ref().node).op(), "ApplyAdam");
}

TEST(L2RegularizationTest, AddsLambdaTimesTheSumOfSquares) {
  GraphBuilder b;
  Tensor w1_value = RandomTensor({2, 3}, 31), w2_value = RandomTensor({4}, 32);
  Output w1 = b.Variable("w1", {2, 3}, Initializer::Value(w1_value));
  Output w2 = b.Variable("w2", {4}, Initializer::Value(w2_value));
  Output x = b.Placeholder("x", {2, 3});
  Output loss = Sum(Mul(w1, x), {}, false, "loss");
  NABLA_ASSERT_OK_AND_ASSIGN(Output regularized,
                             AddL2Regularization(loss, {w1, w2}, 0.05f));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads,
                             Gradients(regularized, {w1, w2}));
  Tensor x_value = RandomTensor({2, 3}, 33);
  NABLA_ASSERT_OK_AND_ASSIGN(
      std::vector<Tensor> out,
      RunOnce(b, {{x, x_value}}, {regularized, grads[0], grads[1]}));

  std::vector<double> w1d = ToDoubles(w1_value), w2d = ToDoubles(w2_value),
                      xd = ToDoubles(x_value);
  double expected = 0, squares = 0;
  std::vector<double> dw1(6), dw2(4);
  for (int i = 0; i < 6; ++i) {
    expected += w1d[i] * xd[i];
    squares += w1d[i] * w1d[i];
    dw1[i] = xd[i] + 2 * 0.05f * w1d[i];
  }
  for (int i = 0; i < 4; ++i) {
    squares += w2d[i] * w2d[i];
    dw2[i] = 2 * 0.05f * w2d[i];
  }
  expected += 0.05f * squares;
  ExpectTensorNear(out[0], Shape(), {expected});
  ExpectTensorNear(out[1], Shape({2, 3}), dw1);
  ExpectTensorNear(out[2], Shape({4}), dw2);
}

TEST(L2RegularizationTest, FiniteDifferences) {
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        Output loss = Sum(Mul(in[0], in[1]));
        return *AddL2Regularization(loss, {in[0], in[1]}, 0.3f);
      },
      {RandomTensor({3, 2}, 41), RandomTensor({3, 2}, 42)}, {0, 1});
}

TEST(L2RegularizationTest, BadArgumentsAreRefused) {
  GraphBuilder b;
  Output w = b.Variable("w", {3}, Initializer::Zeros());
  Output loss = Sum(Mul(w, w));
  EXPECT_THAT(AddL2Regularization(loss, {w}, -1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("l2")));
  EXPECT_THAT(AddL2Regularization(loss, {w}, std::nanf("")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("l2")));
  EXPECT_THAT(AddL2Regularization(w, {w}, 0.1f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("f32 scalar")));
  EXPECT_THAT(AddL2Regularization(loss, {}, 0.1f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no weights")));
  GraphBuilder other;
  Output elsewhere = other.Variable("u", {3}, Initializer::Zeros());
  EXPECT_THAT(AddL2Regularization(loss, {elsewhere}, 0.1f),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("weight 0")));
  NABLA_EXPECT_OK(b.status());
}

// Adam with weight decay under a one-cycle schedule that cycles beta1,
// against torch.optim.AdamW with OneCycleLR(cycle_momentum=True). The loss
// sum(w * g) has the fed g as its gradient.
TEST(CycledMomentumTest, MatchesTorchOneCycleWithAdamW) {
  NABLA_ASSERT_OK_AND_ASSIGN(GoldenCases golden, ReadTrainExtrasGolden());
  const auto& c = golden.at("adamw_one_cycle");
  const std::vector<double>& p = c.at("params");
  const int total = static_cast<int>(p[1]);
  const Shape shape({2, 3});
  std::vector<float> w0(c.at("w0").begin(), c.at("w0").end());

  GraphBuilder b;
  Output w = b.Variable(
      "w", shape,
      Initializer::Value(*Tensor::FromVector<float>(shape, absl::MakeConstSpan(w0))));
  Output g = b.Placeholder("g", shape);
  AdamOptions options;
  options.learning_rate = static_cast<float>(p[0]);
  options.beta2 = static_cast<float>(p[7]);
  options.weight_decay = static_cast<float>(p[8]);
  options.epsilon = static_cast<float>(p[9]);
  Adam adam(options);
  adam.set_learning_rate_schedule(
      LearningRateSchedule::OneCycle(total, static_cast<float>(p[2]),
                                     static_cast<float>(p[3]),
                                     static_cast<float>(p[4]))
          .WithCycledMomentum(static_cast<float>(p[5]),
                              static_cast<float>(p[6])));
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep train, adam.Minimize(Sum(Mul(w, g)), {w}));
  ASSERT_TRUE(train.momentum.valid());
  EXPECT_EQ(b.graph().node(train.updates[0].ref().node).op(), "ApplyAdamW");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan,
      session->Compile({FeedSpec{g.ref(), shape}},
                       {train.learning_rate.ref(), train.momentum.ref(),
                        train.updates[0].ref()},
                       train.targets()));
  for (int t = 1; t <= total; ++t) {
    SCOPED_TRACE(absl::StrCat("step ", t));
    const std::vector<double>& grad = c.at(absl::StrCat("grad", t));
    std::vector<float> gf(grad.begin(), grad.end());
    std::vector<Tensor> out;
    NABLA_ASSERT_OK(plan->Run(
        {*Tensor::FromVector<float>(shape, absl::MakeConstSpan(gf))}, &out));
    const double lr = c.at("lr")[t - 1], beta1 = c.at("beta1")[t - 1];
    EXPECT_NEAR(out[0].data<float>()[0], lr, lr * 2e-6);
    EXPECT_NEAR(out[1].data<float>()[0], beta1, 1e-7);
    // The formula of ScheduleMomentum in double, from the f32 attrs.
    const double e1 = static_cast<double>(static_cast<float>(p[2])) * total - 1;
    const double k = t - 1, low = static_cast<float>(p[5]),
                 high = static_cast<float>(p[6]);
    const double pct = k <= e1 ? k / e1 : (k - e1) / (total - 1 - e1);
    const double from = k <= e1 ? high : low, to = k <= e1 ? low : high;
    EXPECT_NEAR(out[1].data<float>()[0],
                to + (from - to) / 2 * (std::cos(3.14159265358979323846 * pct) + 1),
                6e-8);
    ExpectTensorNear(out[2], shape, c.at(absl::StrCat("w", t)), 1e-6, 1e-5);
  }
}

TEST(CycledMomentumTest, OnlyAdamAndOneCycleCycleMomentum) {
  GraphBuilder b;
  Output w = b.Variable("w", {2}, Initializer::Zeros());
  Output loss = Sum(Mul(w, w));
  Momentum momentum;
  momentum.set_learning_rate_schedule(
      LearningRateSchedule::OneCycle(100).WithCycledMomentum());
  EXPECT_THAT(momentum.Minimize(loss, {w}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not support")));
  Adam adam;
  adam.set_learning_rate_schedule(
      LearningRateSchedule::Cosine(100).WithCycledMomentum());
  EXPECT_THAT(adam.Minimize(loss, {w}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("only the one-cycle schedule")));
  adam.set_learning_rate_schedule(
      LearningRateSchedule::OneCycle(100).WithCycledMomentum(0.95f, 0.85f));
  EXPECT_THAT(adam.Minimize(loss, {w}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("base_momentum <= max_momentum")));
  NABLA_EXPECT_OK(b.status());

  // The op checks the same when a graph is loaded.
  ScheduleLearningRateAttrs attrs;
  attrs.schedule = "one_cycle";
  attrs.total_steps = 100;
  attrs.max_momentum = 1.0f;
  GraphBuilder op;
  ScheduleMomentum(op.Variable("step", {}, Initializer::Zeros(), DType::kI64),
                   attrs);
  EXPECT_THAT(op.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("max_momentum < 1")));
}

TEST(CycledMomentumTest, BetaOutOfRangeFailsTheRun) {
  GraphBuilder b;
  Output w = b.Variable("w", {2}, Initializer::Zeros());
  Output lr = b.Variable("lr", {}, Initializer::Constant(0.1f));
  Output counter = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
  Output step =
      AssignAdd(counter, b.Constant(Tensor::Filled<int64_t>(Shape(), 1)));
  Output beta1 = b.Placeholder("beta1", {});
  Output update = ApplyAdamW(w, b.Variable("m", {2}, Initializer::Zeros()),
                             b.Variable("v", {2}, Initializer::Zeros()),
                             b.Constant(Tensor::Filled<float>({2}, 1)), lr,
                             step, beta1, 0);
  EXPECT_THAT(RunOnce(b, {{beta1, Tensor::Scalar(1.0f)}}, {update}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("beta1")));
}

}  // namespace
}  // namespace nabla
