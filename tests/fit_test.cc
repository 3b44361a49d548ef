#include "train/fit.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "ops/dense.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// y = x . [1, -2, 0.5, 3] + 0.7 for x uniform in [-1, 1)^4.
Dataset MakeData(int64_t n, uint64_t seed) {
  Dataset data{RandomTensor({n, 4}, seed), Tensor(DType::kF32, Shape({n, 1}))};
  const float coefficients[4] = {1, -2, 0.5f, 3};
  for (int64_t i = 0; i < n; ++i) {
    float y = 0.7f;
    for (int j = 0; j < 4; ++j) {
      y += coefficients[j] * data.inputs.data<float>()[i * 4 + j];
    }
    data.labels.data<float>()[i] = y;
  }
  return data;
}

// A two-layer regression model (4 -> 8 ReLU -> 1) with a mean squared error
// loss, built from arithmetic ops, and its training step.
struct Model {
  std::unique_ptr<Session> session;
  ModelSpec spec;
  std::string scope;
  Graph graph;
};

absl::StatusOr<Model> BuildModel(Optimizer& optimizer) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output y = b.Placeholder("y", {kUnknownDim, 1});
  Output w1 = b.Variable("dense1/w", {4, 8}, Initializer::GlorotUniform(1));
  Output b1 = b.Variable("dense1/b", {8}, Initializer::Zeros());
  Output w2 = b.Variable("dense2/w", {8, 1}, Initializer::GlorotUniform(2));
  Output b2 = b.Variable("dense2/b", {1}, Initializer::Zeros());
  Output prediction = Dense(Dense(x, w1, b1, Activation::kRelu), w2, b2);
  Output error = Sub(prediction, y);
  Output loss = Mean(Mul(error, error), {}, false, "loss");
  // Any per-batch mean serves as the "accuracy" metric.
  Output mean_error = Mean(error, {}, false, "mean_error");
  NABLA_ASSIGN_OR_RETURN(TrainStep train,
                         optimizer.Minimize(loss, {w1, b1, w2, b2}));
  Model model;
  model.scope = train.scope;
  model.spec.inputs = x;
  model.spec.labels = y;
  model.spec.loss = loss;
  model.spec.accuracy = mean_error;
  model.spec.train_targets = train.targets();
  NABLA_ASSIGN_OR_RETURN(model.graph, b.Build());
  NABLA_ASSIGN_OR_RETURN(model.session, Session::Create(model.graph));
  return model;
}

FitOptions Quiet(int64_t epochs, int64_t batch_size = 32) {
  FitOptions options;
  options.epochs = epochs;
  options.batch_size = batch_size;
  options.verbosity = Verbosity::kSilent;
  return options;
}

void ExpectSameVariables(const Session& a, const Session& b) {
  ASSERT_EQ(a.variables().Names(), b.variables().Names());
  for (const std::string& name : a.variables().Names()) {
    EXPECT_TRUE(a.variables().Find(name)->BitwiseEquals(*b.variables().Find(name)))
        << name;
  }
}

struct OptimizerCase {
  const char* name;
  std::function<std::unique_ptr<Optimizer>()> make;
};

class FitLossTest : public ::testing::TestWithParam<OptimizerCase> {};

TEST_P(FitLossTest, LossFallsTenfold) {
  std::unique_ptr<Optimizer> optimizer = GetParam().make();
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(*optimizer));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec, 1));
  FitOptions options = Quiet(30);
  options.validation = MakeData(50, 99);
  // 200 examples in batches of 32: six full batches and one of 8.
  NABLA_ASSERT_OK_AND_ASSIGN(History history,
                             trainer->Fit(MakeData(200, 5), options));
  ASSERT_EQ(history.size(), 30u);
  EXPECT_EQ(history.loss.size(), 30u);
  EXPECT_EQ(history.accuracy.size(), 30u);
  EXPECT_EQ(history.val_loss.size(), 30u);
  EXPECT_EQ(history.val_accuracy.size(), 30u);
  EXPECT_EQ(history.seconds.size(), 30u);
  EXPECT_EQ(history.epoch.front(), 1);
  EXPECT_EQ(history.epoch.back(), 30);
  EXPECT_LT(history.loss.back(), history.loss.front() / 10);
  EXPECT_LT(history.val_loss.back(), history.val_loss.front() / 10);
  EXPECT_EQ(trainer->epoch(), 30);
  EXPECT_EQ(trainer->step(), 30 * 7);
  // The graph's own step counter agrees with the loop's.
  EXPECT_EQ(model.session->variables()
                .Find(model.scope + "/iterations")
                ->data<int64_t>()[0],
            30 * 7);
}

INSTANTIATE_TEST_SUITE_P(
    All, FitLossTest,
    ::testing::Values(
        OptimizerCase{"Sgd", [] { return std::make_unique<Sgd>(0.05f); }},
        OptimizerCase{"Momentum",
                      [] {
                        MomentumOptions o;
                        o.learning_rate = 0.02f;
                        o.nesterov = true;
                        return std::make_unique<Momentum>(o);
                      }},
        OptimizerCase{"Adam",
                      [] {
                        AdamOptions o;
                        o.learning_rate = 0.02f;
                        return std::make_unique<Adam>(o);
                      }}),
    [](const ::testing::TestParamInfo<OptimizerCase>& info) {
      return std::string(info.param.name);
    });

TEST(FitTest, EvaluateMatchesOneFullBatch) {
  Adam adam;
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(adam));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec));
  Dataset data = MakeData(100, 3);
  NABLA_ASSERT_OK(trainer->Fit(data, Quiet(2)).status());
  // Batches of 32 (with a last one of 4) average to the whole set's mean.
  NABLA_ASSERT_OK_AND_ASSIGN(EvalResult result, trainer->Evaluate(data, 32));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto whole, model.session->Run({{model.spec.inputs, data.inputs},
                                      {model.spec.labels, data.labels}},
                                     {model.spec.loss, model.spec.accuracy}));
  EXPECT_EQ(result.examples, 100);
  EXPECT_NEAR(result.loss, whole[0].data<float>()[0], 1e-5);
  ASSERT_TRUE(result.accuracy.has_value());
  EXPECT_NEAR(*result.accuracy, whole[1].data<float>()[0], 1e-5);
}

TEST(FitTest, HookReturningFalseStops) {
  Sgd sgd(0.01f);
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(sgd));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec));
  FitOptions options = Quiet(10);
  std::vector<int64_t> seen;
  options.callbacks.push_back(
      [&seen](Trainer& t, const EpochLogs& logs) -> absl::StatusOr<bool> {
        seen.push_back(logs.epoch);
        EXPECT_EQ(t.epoch(), logs.epoch);
        return logs.epoch < 3;
      });
  NABLA_ASSERT_OK_AND_ASSIGN(History history,
                             trainer->Fit(MakeData(64, 1), options));
  EXPECT_THAT(history.epoch, ElementsAre(1, 2, 3));
  EXPECT_THAT(seen, ElementsAre(1, 2, 3));
  EXPECT_EQ(trainer->epoch(), 3);
}

TEST(FitTest, HookErrorStopsFit) {
  Sgd sgd(0.01f);
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(sgd));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec));
  FitOptions options = Quiet(10);
  options.callbacks.push_back(
      [](Trainer&, const EpochLogs&) -> absl::StatusOr<bool> {
        return absl::UnavailableError("disk full");
      });
  EXPECT_THAT(trainer->Fit(MakeData(64, 1), options),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("disk full")));
  EXPECT_EQ(trainer->epoch(), 1);
}

TEST(FitTest, EarlyStoppingStopsWhenTheLossStalls) {
  Sgd sgd(0.01f);
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(sgd));
  // With a learning rate of zero nothing improves after the first epoch.
  NABLA_ASSERT_OK(SetLearningRate(model.session.get(), model.scope, 0));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec));
  FitOptions options = Quiet(20);
  options.validation = MakeData(40, 2);
  EarlyStoppingOptions stopping;
  stopping.monitor = "val_loss";
  stopping.patience = 2;
  stopping.min_delta = 1e-6;
  options.callbacks.push_back(EarlyStopping(stopping));
  NABLA_ASSERT_OK_AND_ASSIGN(History history,
                             trainer->Fit(MakeData(64, 1), options));
  EXPECT_THAT(history.epoch, ElementsAre(1, 2, 3));
}

TEST(FitTest, EarlyStoppingNeedsWhatItMonitors) {
  Sgd sgd(0.01f);
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(sgd));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec));
  FitOptions options = Quiet(3);
  options.callbacks.push_back(EarlyStopping());  // val_loss, no validation
  EXPECT_THAT(trainer->Fit(MakeData(64, 1), options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("monitors 'val_loss'")));
}

// Trains `epochs` epochs in one go.
std::unique_ptr<Session> TrainStraight(int64_t epochs, History* history,
                                       uint64_t seed = 7) {
  Adam adam;
  absl::StatusOr<Model> model = BuildModel(adam);
  EXPECT_TRUE(model.ok()) << model.status();
  auto trainer = Trainer::Create(model->session.get(), model->spec, seed);
  EXPECT_TRUE(trainer.ok());
  absl::StatusOr<History> h = (*trainer)->Fit(MakeData(100, 4), Quiet(epochs, 16));
  EXPECT_TRUE(h.ok()) << h.status();
  *history = *h;
  return std::move(model->session);
}

TEST(FitTest, SameSeedSameWeights) {
  History a, b;
  auto first = TrainStraight(3, &a);
  auto second = TrainStraight(3, &b);
  ExpectSameVariables(*first, *second);
  EXPECT_EQ(a.loss, b.loss);
  // The seed matters: it orders the batches.
  History c;
  auto third = TrainStraight(3, &c, /*seed=*/8);
  EXPECT_NE(a.loss, c.loss);
  EXPECT_FALSE(first->variables().Find("dense1/w")->BitwiseEquals(
      *third->variables().Find("dense1/w")));
}

TEST(FitTest, ResumingFromACheckpointMatchesAStraightRun) {
  History straight_history;
  auto straight = TrainStraight(5, &straight_history);

  std::string dir = TestDir();
  {
    Adam adam;
    NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(adam));
    NABLA_ASSERT_OK_AND_ASSIGN(
        auto trainer, Trainer::Create(model.session.get(), model.spec, 7));
    FitOptions options = Quiet(2, 16);
    options.callbacks.push_back(
        SaveCheckpointEachEpoch(dir + "/epoch-{epoch}.ckpt"));
    NABLA_ASSERT_OK(trainer->Fit(MakeData(100, 4), options).status());
  }

  // A new process, in effect: a fresh session and a trainer with another
  // seed, which the checkpoint's generator state replaces.
  Adam adam;
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(adam));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto trainer, Trainer::Create(model.session.get(), model.spec, 12345));
  NABLA_ASSERT_OK(trainer->RestoreCheckpoint(dir + "/epoch-2.ckpt"));
  EXPECT_EQ(trainer->epoch(), 2);
  EXPECT_EQ(trainer->step(), 2 * 7);  // 100 examples in batches of 16
  NABLA_ASSERT_OK_AND_ASSIGN(History resumed,
                             trainer->Fit(MakeData(100, 4), Quiet(5, 16)));
  EXPECT_THAT(resumed.epoch, ElementsAre(3, 4, 5));
  EXPECT_EQ(resumed.loss, std::vector<double>(straight_history.loss.begin() + 2,
                                              straight_history.loss.end()));
  ExpectSameVariables(*model.session, *straight);
}

TEST(FitTest, FailedRestoreChangesNothing) {
  std::string dir = TestDir();
  Adam adam;
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(adam));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec));
  NABLA_ASSERT_OK(trainer->Fit(MakeData(32, 1), Quiet(1)).status());
  // A checkpoint whose generator state is garbage.
  CheckpointInfo info;
  info.epoch = 9;
  info.rng_state = "not a generator";
  NABLA_ASSERT_OK(SaveCheckpoint(*model.session, info, dir + "/bad.ckpt"));
  NABLA_ASSERT_OK(trainer->Fit(MakeData(32, 1), Quiet(2)).status());
  std::string rng = trainer->rng_state();
  const Tensor before = model.session->variables().Find("dense1/w")->Clone();
  EXPECT_THAT(trainer->RestoreCheckpoint(dir + "/bad.ckpt"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not parse")));
  EXPECT_EQ(trainer->epoch(), 2);
  EXPECT_EQ(trainer->rng_state(), rng);
  EXPECT_TRUE(model.session->variables().Find("dense1/w")->BitwiseEquals(before));
}

TEST(FitTest, RejectsBadData) {
  Sgd sgd;
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(sgd));
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec));
  Dataset data = MakeData(10, 1);
  Dataset fewer_labels{data.inputs, Tensor(DType::kF32, Shape({9, 1}))};
  EXPECT_THAT(trainer->Fit(fewer_labels, Quiet(1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("have 10 inputs but 9 labels")));
  Dataset wide{Tensor(DType::kF32, Shape({10, 5})), data.labels};
  EXPECT_THAT(trainer->Fit(wide, Quiet(1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("placeholder 'x' is f32[?,4]")));
  Dataset ints{data.inputs, Tensor(DType::kI32, Shape({10, 1}))};
  EXPECT_THAT(trainer->Evaluate(ints),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("labels are i32[10,1]")));
  EXPECT_THAT(trainer->Fit(data, Quiet(1, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("batch_size must be positive")));
}

TEST(FitTest, RejectsBadModelSpec) {
  Sgd sgd;
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(sgd));
  ModelSpec spec = model.spec;
  spec.loss = spec.inputs;
  EXPECT_THAT(Trainer::Create(model.session.get(), spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be an f32 scalar")));
  spec = model.spec;
  spec.inputs = spec.loss;
  EXPECT_THAT(Trainer::Create(model.session.get(), spec),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be a Placeholder")));
  spec = model.spec;
  spec.train_targets.clear();
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), spec));
  EXPECT_THAT(trainer->Fit(MakeData(8, 1), Quiet(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no train targets")));
}

// Runs Fit with progress written to a memory stream and returns the text.
std::string FitOutput(Verbosity verbosity) {
  Sgd sgd;
  absl::StatusOr<Model> model = BuildModel(sgd);
  EXPECT_TRUE(model.ok());
  auto trainer = Trainer::Create(model->session.get(), model->spec);
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  FitOptions options = Quiet(2, 10);
  options.verbosity = verbosity;
  options.out = out;
  options.validation = MakeData(20, 2);
  EXPECT_TRUE((*trainer)->Fit(MakeData(64, 1), options).ok());
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

TEST(ProgressTest, EpochLinesWhenNotATerminal) {
  // A memory stream is not a terminal, so kAuto gives lines.
  std::string text = FitOutput(Verbosity::kAuto);
  EXPECT_THAT(text, HasSubstr("Epoch 1/2 - 7 steps - "));
  EXPECT_THAT(text, HasSubstr("Epoch 2/2 - 7 steps - "));
  EXPECT_THAT(text, HasSubstr(" - loss: "));
  EXPECT_THAT(text, HasSubstr(" - accuracy: "));
  EXPECT_THAT(text, HasSubstr(" - val_loss: "));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(ProgressTest, ProgressBar) {
  std::string text = FitOutput(Verbosity::kProgressBar);
  EXPECT_THAT(text, HasSubstr("Epoch 1/2\n"));
  EXPECT_THAT(text, HasSubstr("\r7/7 [==============================] - "));
  EXPECT_THAT(text, HasSubstr("ms/step - loss: "));
}

TEST(ProgressTest, SilentWritesNothing) {
  EXPECT_EQ(FitOutput(Verbosity::kSilent), "");
}

TEST(OptimizerTest, CreatesNamedSlotsAndVariables) {
  Adam adam;
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(adam));
  const VariableStore& vars = model.session->variables();
  for (const char* name :
       {"Adam/learning_rate", "Adam/iterations", "dense1/w/adam_m",
        "dense1/w/adam_v", "dense2/b/adam_m", "dense2/b/adam_v"}) {
    EXPECT_NE(vars.Find(name), nullptr) << name;
  }
  EXPECT_EQ(vars.Find("dense1/w/adam_m")->shape(), Shape({4, 8}));
  NABLA_ASSERT_OK_AND_ASSIGN(float lr,
                             GetLearningRate(*model.session, "Adam"));
  EXPECT_EQ(lr, 0.001f);
  NABLA_ASSERT_OK(SetLearningRate(model.session.get(), "Adam", 0.5f));
  NABLA_ASSERT_OK_AND_ASSIGN(lr, GetLearningRate(*model.session, "Adam"));
  EXPECT_EQ(lr, 0.5f);
  EXPECT_THAT(SetLearningRate(model.session.get(), "Nadam", 0.5f),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Nadam")));

  Momentum momentum;
  NABLA_ASSERT_OK_AND_ASSIGN(Model with_momentum, BuildModel(momentum));
  EXPECT_NE(with_momentum.session->variables().Find("dense1/w/momentum"),
            nullptr);
}

TEST(OptimizerTest, SecondMinimizeGetsItsOwnScope) {
  GraphBuilder b;
  Output w = b.Variable("w", {2}, Initializer::Constant(1));
  Output loss = Mean(Mul(w, w));
  Sgd first, second;
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep a, first.Minimize(loss, {w}));
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep c, second.Minimize(loss, {w}));
  EXPECT_EQ(a.scope, "SGD");
  EXPECT_EQ(c.scope, "SGD_1");
  EXPECT_EQ(b.graph().node(c.updates[0].ref().node).name, "SGD_1/update/w");
}

TEST(OptimizerTest, BadArgumentsLeaveTheBuilderUsable) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2});
  Output w = b.Variable("w", {2}, Initializer::Constant(1));
  Output loss = Mean(Mul(w, x));
  Sgd sgd;
  EXPECT_THAT(sgd.Minimize(loss, {x}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'x' is a Placeholder, not a Variable")));
  EXPECT_THAT(sgd.Minimize(loss, {w, w}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("listed twice")));
  MomentumOptions options;
  options.momentum = 2;
  Momentum momentum(options);
  EXPECT_THAT(momentum.Minimize(loss, {w}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("momentum must lie in [0, 1]")));
  Sgd negative(-1);
  EXPECT_THAT(negative.Minimize(loss, {w}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("learning rate")));
  EXPECT_TRUE(b.ok()) << b.status();
  NABLA_EXPECT_OK(sgd.Minimize(loss, {w}).status());
}

TEST(OptimizerTest, TrainingStepSurvivesSaveAndLoad) {
  // Train one copy of the model from the built graph and one from the graph
  // saved to a file and loaded back, finding the step by its scope.
  Adam adam;
  NABLA_ASSERT_OK_AND_ASSIGN(Model model, BuildModel(adam));
  std::string path = TestDir() + "/model.pb";
  NABLA_ASSERT_OK(SaveGraph(model.graph, path));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph loaded, LoadGraph(path));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<NodeOutput> targets,
                             TrainTargets(loaded, "Adam"));
  EXPECT_EQ(targets.size(), model.spec.train_targets.size());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(loaded));
  ModelSpec spec;
  NABLA_ASSERT_OK_AND_ASSIGN(spec.inputs, loaded.FindOutput("x"));
  NABLA_ASSERT_OK_AND_ASSIGN(spec.labels, loaded.FindOutput("y"));
  NABLA_ASSERT_OK_AND_ASSIGN(spec.loss, loaded.FindOutput("loss"));
  spec.train_targets = targets;

  Dataset data = MakeData(48, 6);
  NABLA_ASSERT_OK_AND_ASSIGN(auto a,
                             Trainer::Create(model.session.get(), model.spec, 3));
  NABLA_ASSERT_OK_AND_ASSIGN(auto b, Trainer::Create(session.get(), spec, 3));
  NABLA_ASSERT_OK(a->Fit(data, Quiet(2, 16)).status());
  NABLA_ASSERT_OK(b->Fit(data, Quiet(2, 16)).status());
  ExpectSameVariables(*model.session, *session);
  EXPECT_THAT(TrainTargets(loaded, "Momentum"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Momentum")));
}

}  // namespace
}  // namespace nabla
