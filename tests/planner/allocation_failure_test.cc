// Nothing escapes the session's entry points: running out of memory at any
// tensor allocation of creating a session, compiling a training step and
// running it gives RESOURCE_EXHAUSTED, and the session still works after.
//
// The fault is injected with core's test hook FailNthTensorAllocation,
// which fails the n-th tensor buffer allocation (every tensor, arena buffer
// and kernel scratchpad nabla allocates). The test loops n over every such
// allocation of Session::Create + Compile + Plan::Run of a small MLP's SGD
// step, then does the same through Session::Run. Allocations made with
// operator new (containers, strings, and oneDNN's own inside libdnnl) are
// not injected here; the entry points catch std::bad_alloc from them the
// same way.

#include <cstdio>

#include "absl/strings/match.h"
#include "core/tensor.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "ops/ops.h"
#include "tests/test_util.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kBatch = 4;

struct Mlp {
  Graph graph;
  Output x, labels, loss;
  std::vector<NodeOutput> targets;
};

Mlp BuildMlp() {
  GraphBuilder b;
  Mlp mlp;
  mlp.x = b.Placeholder("x", {kUnknownDim, 6});
  mlp.labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
  Output w1 = b.Variable("w1", {6, 8}, Initializer::GlorotUniform(1));
  Output b1 = b.Variable("b1", {8}, Initializer::Zeros());
  Output w2 = b.Variable("w2", {8, 3}, Initializer::GlorotUniform(2));
  Output b2 = b.Variable("b2", {3}, Initializer::Zeros());
  Output h = Dense(mlp.x, w1, b1, Activation::kRelu);
  mlp.loss = SoftmaxCrossEntropy(Dense(h, w2, b2), mlp.labels);
  absl::StatusOr<TrainStep> train =
      Sgd(0.5f).Minimize(mlp.loss, {w1, b1, w2, b2});
  EXPECT_TRUE(train.ok()) << train.status();
  mlp.targets = train->targets();
  absl::StatusOr<Graph> graph = b.Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  mlp.graph = *std::move(graph);
  return mlp;
}

class AllocationFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    images_ = RandomTensor({kBatch, 6}, 11);
    labels_ = Tensor(DType::kI32, Shape({kBatch}));
    for (int64_t i = 0; i < kBatch; ++i) labels_.data<int32_t>()[i] = i % 3;
    // The losses of two steps with nothing failing.
    NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(mlp_.graph));
    NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan, Compile(*session));
    for (float& loss : reference_) {
      NABLA_ASSERT_OK_AND_ASSIGN(loss, RunStep(plan));
    }
    ASSERT_LT(reference_[1], reference_[0]);  // SGD is learning
  }
  void TearDown() override { FailNthTensorAllocation(0); }

  absl::StatusOr<Plan*> Compile(Session& session) {
    return session.Compile(
        {{mlp_.x, Shape({kBatch, 6})}, {mlp_.labels, Shape({kBatch})}},
        {mlp_.loss}, mlp_.targets);
  }
  absl::StatusOr<float> RunStep(Plan* plan) {
    std::vector<Tensor> out;
    NABLA_RETURN_IF_ERROR(plan->Run({images_, labels_}, &out));
    return out[0].data<float>()[0];
  }
  absl::StatusOr<float> SessionRunStep(Session& session) {
    NABLA_ASSIGN_OR_RETURN(
        std::vector<Tensor> out,
        session.Run({{mlp_.x, images_}, {mlp_.labels, labels_}}, {mlp_.loss},
                    mlp_.targets));
    return out[0].data<float>()[0];
  }
  // With the hook off, the session compiles and runs two steps that give
  // the reference losses: a failure lost or corrupted nothing.
  void ExpectUsable(Session& session, Plan* plan, int64_t n) {
    FailNthTensorAllocation(0);
    if (plan == nullptr) {
      absl::StatusOr<Plan*> compiled = Compile(session);
      ASSERT_TRUE(compiled.ok())
          << "after failing allocation " << n << ": " << compiled.status();
      plan = *compiled;
    }
    for (float expected : reference_) {
      absl::StatusOr<float> loss = RunStep(plan);
      ASSERT_TRUE(loss.ok())
          << "after failing allocation " << n << ": " << loss.status();
      EXPECT_FLOAT_EQ(*loss, expected) << "after failing allocation " << n;
    }
  }

  Mlp mlp_ = BuildMlp();
  Tensor images_, labels_;
  float reference_[2] = {0, 0};
};

// Every failure the hook injects is a tensor's, so the message says how
// many bytes of what.
MATCHER(OutOfMemory, "") {
  return arg.code() == absl::StatusCode::kResourceExhausted &&
         absl::StrContains(arg.message(), "out of memory: cannot allocate ") &&
         absl::StrContains(arg.message(), " bytes for a tensor ");
}

TEST_F(AllocationFailureTest, EveryAllocationOfCreateCompileAndRun) {
  int failed_in_create = 0, failed_in_compile = 0, failed_in_run = 0;
  int64_t n = 1;
  for (;; ++n) {
    ASSERT_LT(n, 100000) << "the hook never stopped failing";
    FailNthTensorAllocation(n);
    absl::StatusOr<std::unique_ptr<Session>> session =
        Session::Create(mlp_.graph);
    if (!session.ok()) {
      EXPECT_THAT(session.status(), OutOfMemory())
          << "allocation " << n << ": " << session.status();
      if (failed_in_create++ == 0) {
        std::printf("first failure in Create: %s\n",
                    session.status().ToString().c_str());
      }
      continue;
    }
    absl::StatusOr<Plan*> plan = Compile(**session);
    if (!plan.ok()) {
      EXPECT_THAT(plan.status(), OutOfMemory())
          << "allocation " << n << ": " << plan.status();
      if (failed_in_compile++ == 0) {
        std::printf("first failure in Compile: %s\n",
                    plan.status().ToString().c_str());
      }
      ExpectUsable(**session, nullptr, n);
      continue;
    }
    absl::StatusOr<float> loss = RunStep(*plan);
    if (!loss.ok()) {
      EXPECT_THAT(loss.status(), OutOfMemory())
          << "allocation " << n << ": " << loss.status();
      if (failed_in_run++ == 0) {
        std::printf("first failure in Run: %s\n",
                    loss.status().ToString().c_str());
      }
      ExpectUsable(**session, *plan, n);
      continue;
    }
    // The n-th allocation came after the step: every one before failed once.
    FailNthTensorAllocation(0);
    EXPECT_FLOAT_EQ(*loss, reference_[0]);
    break;
  }
  std::printf("failed allocations: %d in Create, %d in Compile, %d in Run\n",
              failed_in_create, failed_in_compile, failed_in_run);
  EXPECT_GE(failed_in_create, 4);   // at least one per variable
  EXPECT_GT(failed_in_compile, 4);  // the arena, scratchpads, constants
  EXPECT_GE(failed_in_run, 1);      // the fetched loss
}

TEST_F(AllocationFailureTest, EveryAllocationOfSessionRun) {
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(mlp_.graph));
  int failures = 0;
  for (int64_t n = 1;; ++n) {
    ASSERT_LT(n, 100000) << "the hook never stopped failing";
    FailNthTensorAllocation(n);
    absl::StatusOr<float> loss = SessionRunStep(*session);
    FailNthTensorAllocation(0);
    if (loss.ok()) {
      EXPECT_FLOAT_EQ(*loss, reference_[0]);
      break;
    }
    EXPECT_THAT(loss.status(), OutOfMemory())
        << "allocation " << n << ": " << loss.status();
    ++failures;
  }
  EXPECT_GT(failures, 4);
  // The plan it cached (or compiles now) goes on from the first step.
  NABLA_ASSERT_OK_AND_ASSIGN(float second, SessionRunStep(*session));
  EXPECT_FLOAT_EQ(second, reference_[1]);
}

TEST_F(AllocationFailureTest, MessageSaysHowMuchAndWhere) {
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(mlp_.graph));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan, Compile(*session));
  // The step allocates nothing but the fetched loss on its first run.
  FailNthTensorAllocation(1);
  std::vector<Tensor> out;
  EXPECT_THAT(plan->Run({images_, labels_}, &out),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("Plan::Run: out of memory: cannot allocate "
                                 "4 bytes for a tensor f32[]")));
  ExpectUsable(*session, plan, 1);
}

}  // namespace
}  // namespace nabla
