// Learning-rate schedules (train/schedule.h, ScheduleLearningRate in
// ops/optimizers.h): the rate at every step against the formula computed
// here in double and against PyTorch's schedulers, resumption from a
// checkpoint, and the settings refused.

#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "export/graph_parts.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "ops/dense.h"
#include "ops/losses.h"
#include "ops/optimizers.h"
#include "tests/test_util.h"
#include "tests/train_extras/golden_util.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::GoldenCases;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::ReadTrainExtrasGolden;
using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;

// The references, written from the formulas' sources (PyTorch's schedulers)
// rather than from the kernel. k is the number of steps taken before.
double StepDecayRef(double base, int64_t step_size, double gamma, int64_t k) {
  return base * std::pow(gamma, std::floor(static_cast<double>(k) / step_size));
}

double CosineRef(double base, int64_t total, double floor, int64_t warmup,
                 int64_t k) {
  if (k < warmup) return base * k / warmup;
  double progress = std::min<double>(k - warmup, total - warmup);
  return floor +
         (base - floor) * (1 + std::cos(kPi * progress / (total - warmup))) / 2;
}

// PyTorch OneCycleLR.get_lr, two phases, cosine annealing.
double OneCycleRef(double max_lr, int64_t total, double pct_start,
                   double div_factor, double final_div_factor, int64_t k) {
  const double initial = max_lr / div_factor;
  const double min_lr = initial / final_div_factor;
  struct Phase {
    double end_step, start_lr, end_lr;
  };
  const Phase phases[2] = {{pct_start * total - 1, initial, max_lr},
                           {static_cast<double>(total) - 1, max_lr, min_lr}};
  const double step = std::min<double>(k, total - 1);
  double start_step = 0;
  for (int i = 0; i < 2; ++i) {
    if (step <= phases[i].end_step || i == 1) {
      double pct = (step - start_step) / (phases[i].end_step - start_step);
      return phases[i].end_lr + (phases[i].start_lr - phases[i].end_lr) / 2 *
                                    (std::cos(kPi * pct) + 1);
    }
    start_step = phases[i].end_step;
  }
  return 0;
}

// A tiny model trained by SGD with a schedule; Rates() runs `steps` steps
// and returns the learning rate each one used, as the plan fetched it.
class ScheduledSgd {
 public:
  absl::Status Init(float lr, const LearningRateSchedule& schedule) {
    Output w = b_.Variable("w", {3}, Initializer::Value(RandomTensor({3}, 5)));
    Output loss = Sum(Mul(w, w));
    Sgd sgd(lr);
    sgd.set_learning_rate_schedule(schedule);
    NABLA_ASSIGN_OR_RETURN(train_, sgd.Minimize(loss, {w}));
    NABLA_ASSIGN_OR_RETURN(Graph graph, b_.Build());
    NABLA_ASSIGN_OR_RETURN(session_, Session::Create(std::move(graph)));
    NABLA_ASSIGN_OR_RETURN(
        plan_, session_->Compile({}, {train_.learning_rate.ref()},
                                 train_.targets()));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<float>> Rates(int steps) {
    std::vector<float> rates;
    for (int i = 0; i < steps; ++i) {
      std::vector<Tensor> out;
      NABLA_RETURN_IF_ERROR(plan_->Run({}, &out));
      rates.push_back(out[0].data<float>()[0]);
    }
    return rates;
  }

  Session* session() { return session_.get(); }
  const TrainStep& train() const { return train_; }

 private:
  GraphBuilder b_;
  TrainStep train_;
  std::unique_ptr<Session> session_;
  Plan* plan_ = nullptr;
};

// The op rounds its double result to f32 once: within half an ulp.
void ExpectRate(float actual, double expected, int64_t k) {
  EXPECT_NEAR(actual, expected, std::abs(expected) * 6e-8 + 1e-30)
      << "at step k = " << k;
}

TEST(ScheduleTest, ConstantAddsNoNode) {
  GraphBuilder b;
  Output w = b.Variable("w", {2}, Initializer::Zeros());
  Sgd sgd(0.5f);
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep train, sgd.Minimize(Sum(Mul(w, w)), {w}));
  EXPECT_EQ(train.learning_rate.ref().node, train.base_learning_rate.ref().node);
  EXPECT_FALSE(b.graph().FindNode("SGD/scheduled_learning_rate").ok());
}

TEST(ScheduleTest, StepDecayMatchesTheFormulaAndTorch) {
  NABLA_ASSERT_OK_AND_ASSIGN(GoldenCases golden, ReadTrainExtrasGolden());
  const std::vector<double>& torch = golden.at("step_lr").at("lr");
  ScheduledSgd model;
  NABLA_ASSERT_OK(model.Init(0.1f, LearningRateSchedule::StepDecay(7, 0.5f)));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<float> rates, model.Rates(40));
  ASSERT_EQ(torch.size(), rates.size());
  for (int k = 0; k < 40; ++k) {
    ExpectRate(rates[k], StepDecayRef(0.1f, 7, 0.5, k), k);
    EXPECT_NEAR(rates[k], torch[k], torch[k] * 1e-6) << k;
  }
  EXPECT_FLOAT_EQ(rates[6], 0.1f);
  EXPECT_FLOAT_EQ(rates[7], 0.05f);
}

TEST(ScheduleTest, CosineMatchesTheFormulaAndTorch) {
  NABLA_ASSERT_OK_AND_ASSIGN(GoldenCases golden, ReadTrainExtrasGolden());
  const std::vector<double>& torch = golden.at("cosine_annealing").at("lr");
  ScheduledSgd model;
  NABLA_ASSERT_OK(model.Init(0.1f, LearningRateSchedule::Cosine(50, 1e-4f)));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<float> rates, model.Rates(56));
  ASSERT_EQ(torch.size(), 51u);
  for (int k = 0; k < 56; ++k) {
    ExpectRate(rates[k], CosineRef(0.1f, 50, 1e-4f, 0, k), k);
    // PyTorch's recursive form agrees with the closed form to rounding.
    if (k <= 50) {
      EXPECT_NEAR(rates[k], torch[k], torch[k] * 1e-6) << k;
    }
  }
  // After the schedule it stays at the floor.
  EXPECT_FLOAT_EQ(rates[55], 1e-4f);
}

TEST(ScheduleTest, CosineWithWarmup) {
  ScheduledSgd model;
  NABLA_ASSERT_OK(
      model.Init(0.02f, LearningRateSchedule::Cosine(30, 1e-3f, 5)));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<float> rates, model.Rates(32));
  for (int k = 0; k < 32; ++k) {
    ExpectRate(rates[k], CosineRef(0.02f, 30, 1e-3f, 5, k), k);
  }
  EXPECT_EQ(rates[0], 0.0f);
  EXPECT_FLOAT_EQ(rates[1], 0.02f / 5);
  EXPECT_FLOAT_EQ(rates[5], 0.02f);  // the peak, where the cosine starts
  EXPECT_LT(rates[6], rates[5]);
  EXPECT_FLOAT_EQ(rates[30], 1e-3f);
}

TEST(ScheduleTest, OneCycleMatchesTheFormulaAndTorch) {
  NABLA_ASSERT_OK_AND_ASSIGN(GoldenCases golden, ReadTrainExtrasGolden());
  for (const char* name : {"one_cycle_default", "one_cycle_short"}) {
    SCOPED_TRACE(name);
    const std::vector<double>& params = golden.at(name).at("params");
    const std::vector<double>& torch = golden.at(name).at("lr");
    const float max_lr = static_cast<float>(params[0]);
    const int64_t total = static_cast<int64_t>(params[1]);
    const float pct = static_cast<float>(params[2]);
    const float div = static_cast<float>(params[3]);
    const float final_div = static_cast<float>(params[4]);
    ScheduledSgd model;
    NABLA_ASSERT_OK(model.Init(
        max_lr, LearningRateSchedule::OneCycle(total, pct, div, final_div)));
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<float> rates,
                               model.Rates(total + 3));
    ASSERT_EQ(torch.size(), static_cast<size_t>(total));
    for (int64_t k = 0; k < total + 3; ++k) {
      ExpectRate(rates[k], OneCycleRef(max_lr, total, pct, div, final_div, k),
                 k);
      // pct_start travels as an f32 attr (0.3f for PyTorch's 0.3), which
      // moves the phase boundary by ~1e-6 of a step.
      if (k < total) {
        EXPECT_NEAR(rates[k], torch[k], torch[k] * 2e-6) << k;
      }
    }
    EXPECT_FLOAT_EQ(rates[0], max_lr / div);
    // The peak is max_lr, reached at step e1 = pct_start * T - 1 when that
    // is a whole step (29 for the default case; 8.25 for the short one).
    EXPECT_LE(*std::max_element(rates.begin(), rates.end()), max_lr);
    if (total == 100) {
      EXPECT_FLOAT_EQ(rates[29], max_lr);
    }
    EXPECT_FLOAT_EQ(rates[total + 2], rates[total - 1]);  // stays at the end
    EXPECT_NEAR(rates[total - 1], max_lr / div / final_div, 1e-12);
  }
}

TEST(ScheduleTest, SetLearningRateRescalesTheSchedule) {
  ScheduledSgd model;
  NABLA_ASSERT_OK(model.Init(0.1f, LearningRateSchedule::StepDecay(2, 0.5f)));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<float> first, model.Rates(3));
  EXPECT_FLOAT_EQ(first[2], 0.05f);
  NABLA_ASSERT_OK(
      SetLearningRate(model.session(), model.train().scope, 0.4f));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<float> later, model.Rates(1));
  EXPECT_FLOAT_EQ(later[0], 0.4f * 0.5f);  // k = 3: one decay of 0.4
  NABLA_ASSERT_OK_AND_ASSIGN(float base,
                             GetLearningRate(*model.session(), "SGD"));
  EXPECT_EQ(base, 0.4f);
}

// A regression model trained by Adam (with weight decay on the matrix) under
// a one-cycle schedule that also cycles beta1.
struct Regression {
  std::unique_ptr<Session> session;
  Plan* step = nullptr;
  Output x, y;
};

absl::StatusOr<Regression> BuildRegression() {
  GraphBuilder b;
  Regression r;
  r.x = b.Placeholder("x", {4, 3});
  r.y = b.Placeholder("y", {4, 2});
  Output w = b.Variable("w", {3, 2}, Initializer::Value(RandomTensor({3, 2}, 11)));
  Output bias = b.Variable("bias", {2}, Initializer::Zeros());
  Output out = Dense(r.x, w, bias);
  Output err = Sub(out, r.y);
  Output loss = Mean(Mul(err, err));
  AdamOptions options;
  options.learning_rate = 0.05f;
  options.weight_decay = 0.1f;
  options.decay_filter = DecayOnlyMatrices();
  Adam adam(options);
  adam.set_learning_rate_schedule(
      LearningRateSchedule::OneCycle(20).WithCycledMomentum());
  NABLA_ASSIGN_OR_RETURN(TrainStep train, adam.Minimize(loss, {w, bias}));
  NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
  NABLA_ASSIGN_OR_RETURN(r.session, Session::Create(std::move(graph)));
  NABLA_ASSIGN_OR_RETURN(
      r.step,
      r.session->Compile({FeedSpec{r.x.ref(), Shape({4, 3})},
                          FeedSpec{r.y.ref(), Shape({4, 2})}},
                         {loss.ref(), train.learning_rate.ref()},
                         train.targets()));
  return r;
}

absl::Status RunSteps(Regression& r, int first, int last,
                      std::vector<float>* rates) {
  for (int i = first; i < last; ++i) {
    std::vector<Tensor> out;
    NABLA_RETURN_IF_ERROR(r.step->Run(
        {RandomTensor({4, 3}, 100 + i), RandomTensor({4, 2}, 200 + i)}, &out));
    rates->push_back(out[1].data<float>()[0]);
  }
  return absl::OkStatus();
}

TEST(ScheduleTest, ResumedRunMatchesAStraightRunBitForBit) {
  constexpr int kSteps = 20, kSplit = 8;
  NABLA_ASSERT_OK_AND_ASSIGN(Regression straight, BuildRegression());
  std::vector<float> straight_rates;
  NABLA_ASSERT_OK(RunSteps(straight, 0, kSteps, &straight_rates));

  const std::string path = TestDir() + "/split.ckpt";
  {
    NABLA_ASSERT_OK_AND_ASSIGN(Regression first, BuildRegression());
    std::vector<float> rates;
    NABLA_ASSERT_OK(RunSteps(first, 0, kSplit, &rates));
    CheckpointInfo info;
    info.step = kSplit;
    NABLA_ASSERT_OK(SaveCheckpoint(*first.session, info, path));
  }
  // A fresh session, as a new process would have.
  NABLA_ASSERT_OK_AND_ASSIGN(Regression resumed, BuildRegression());
  NABLA_ASSERT_OK(LoadCheckpoint(path, resumed.session.get()).status());
  std::vector<float> resumed_rates;
  NABLA_ASSERT_OK(RunSteps(resumed, kSplit, kSteps, &resumed_rates));

  EXPECT_EQ(resumed_rates, std::vector<float>(straight_rates.begin() + kSplit,
                                              straight_rates.end()));
  // The schedule really moved over the resumed part.
  EXPECT_NE(resumed_rates.front(), resumed_rates.back());
  ASSERT_EQ(resumed.session->variables().Names(),
            straight.session->variables().Names());
  for (const std::string& name : straight.session->variables().Names()) {
    EXPECT_TRUE(resumed.session->variables().Find(name)->BitwiseEquals(
        *straight.session->variables().Find(name)))
        << name;
  }
  EXPECT_EQ(straight.session->variables().Find("Adam/iterations")
                ->data<int64_t>()[0],
            kSteps);
}

TEST(ScheduleTest, BadSchedulesAreRefusedAndLeaveTheBuilderUsable) {
  struct Case {
    LearningRateSchedule schedule;
    const char* message;
  };
  const Case cases[] = {
      {LearningRateSchedule::StepDecay(0, 0.5f), "step_size"},
      {LearningRateSchedule::StepDecay(3, -1), "gamma"},
      {LearningRateSchedule::Cosine(10, 0, 10), "warmup_steps < total_steps"},
      {LearningRateSchedule::Cosine(0), "warmup_steps < total_steps"},
      {LearningRateSchedule::Cosine(10, -1e-3f), "min_learning_rate"},
      {LearningRateSchedule::OneCycle(1), "total_steps >= 2"},
      {LearningRateSchedule::OneCycle(100, 0), "pct_start"},
      {LearningRateSchedule::OneCycle(3, 0.3f), "pct_start * total_steps > 1"},
      {LearningRateSchedule::OneCycle(100, 0.3f, 0), "div_factor"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    GraphBuilder b;
    Output w = b.Variable("w", {2}, Initializer::Zeros());
    Sgd sgd;
    sgd.set_learning_rate_schedule(c.schedule);
    EXPECT_THAT(sgd.Minimize(Sum(Mul(w, w)), {w}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(c.message)));
    NABLA_EXPECT_OK(b.status());
    EXPECT_FALSE(b.graph().FindNode("SGD/iterations").ok());
  }
}

// The op itself, as a loaded graph would hold it.
TEST(ScheduleLearningRateOpTest, ShapeInference) {
  GraphBuilder b;
  Output step = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
  Output lr = b.Variable("lr", {}, Initializer::Constant(0.1f));
  ScheduleLearningRateAttrs attrs;
  attrs.schedule = "cosine";
  attrs.total_steps = 10;
  Output out = ScheduleLearningRate(step, lr, attrs);
  NABLA_ASSERT_OK(b.status());
  EXPECT_EQ(out.dtype(), DType::kF32);
  EXPECT_EQ(out.shape(), Shape());

  GraphBuilder vector_rate;
  ScheduleLearningRate(
      vector_rate.Variable("step", {}, Initializer::Zeros(), DType::kI64),
      vector_rate.Variable("lr", {2}, Initializer::Zeros()), attrs);
  EXPECT_THAT(vector_rate.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be a scalar")));

  GraphBuilder f32_step;
  ScheduleLearningRate(f32_step.Variable("step", {}, Initializer::Zeros()),
                       f32_step.Variable("lr", {}, Initializer::Zeros()),
                       attrs);
  EXPECT_FALSE(f32_step.status().ok());

  GraphBuilder unknown;
  attrs.schedule = "linear";
  ScheduleLearningRate(
      unknown.Variable("step", {}, Initializer::Zeros(), DType::kI64),
      unknown.Variable("lr", {}, Initializer::Zeros()), attrs);
  EXPECT_THAT(unknown.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("\"linear\"")));
}

TEST(ScheduleLearningRateOpTest, StepZeroFailsTheRun) {
  GraphBuilder b;
  Output step = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
  Output lr = b.Variable("lr", {}, Initializer::Constant(0.1f));
  ScheduleLearningRateAttrs attrs;
  attrs.schedule = "step_decay";
  attrs.step_size = 2;
  Output out = ScheduleLearningRate(step, lr, attrs);
  EXPECT_THAT(RunOnce(b, {}, {out}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("must be positive")));
}

}  // namespace
}  // namespace nabla

namespace nabla {
namespace {

// A schedule belongs to the optimizer's part of a training graph, so the
// DOT drawing and the model summary see the same model with or without one.
TEST(ScheduleTest, ScheduleIsPartOfTheOptimizer) {
  auto split = [](bool scheduled) -> absl::StatusOr<std::pair<Graph, GraphParts>> {
    GraphBuilder b;
    Output x = b.Placeholder("x", {kUnknownDim, 3});
    Output w = b.Variable("w", {3, 2}, Initializer::Zeros());
    Output bias = b.Variable("bias", {2}, Initializer::Zeros());
    Output labels = b.Placeholder("labels", {kUnknownDim}, DType::kI64);
    Output loss = SoftmaxCrossEntropy(Dense(x, w, bias), labels);
    Adam adam;
    if (scheduled) {
      adam.set_learning_rate_schedule(LearningRateSchedule::Cosine(100));
    }
    NABLA_RETURN_IF_ERROR(adam.Minimize(loss, {w, bias}).status());
    NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
    GraphParts parts = SplitGraph(graph);
    return std::make_pair(std::move(graph), std::move(parts));
  };
  NABLA_ASSERT_OK_AND_ASSIGN(auto plain, split(false));
  NABLA_ASSERT_OK_AND_ASSIGN(auto scheduled, split(true));
  const Graph& graph = scheduled.first;
  const GraphParts& parts = scheduled.second;
  for (const char* name : {"Adam/scheduled_learning_rate", "Adam/learning_rate",
                           "Adam/iterations", "Adam/update/w"}) {
    NABLA_ASSERT_OK_AND_ASSIGN(int id, graph.FindNode(name));
    EXPECT_EQ(parts.part[id], GraphPart::kOptimizer) << name;
  }
  for (GraphPart part : {GraphPart::kModel, GraphPart::kLoss,
                         GraphPart::kBackward}) {
    EXPECT_EQ(parts.Count(part), plain.second.Count(part))
        << GraphPartName(part);
  }
  EXPECT_EQ(parts.Count(GraphPart::kOptimizer),
            plain.second.Count(GraphPart::kOptimizer) + 1);
}

}  // namespace
}  // namespace nabla
