// The planner's passes (graph/planner.h), each run alone on a small graph
// or, for AssignBuffers, on a plan written by hand.

#include <algorithm>

#include "graph/builder.h"
#include "graph/planner.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace planner {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

int PositionOf(const std::vector<int>& order, NodeOutput ref) {
  return static_cast<int>(std::find(order.begin(), order.end(), ref.node) -
                          order.begin());
}

TEST(PruneTest, StopsAtFedValues) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output a = Relu(x, "a");
  Output c = Tanh(a, "c");
  Output unused = Sigmoid(x, "unused");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest r,
                             Prune(g, {{a, Shape({2, 4})}}, {c}, {}));
  EXPECT_TRUE(r.IsFed(a));
  EXPECT_FALSE(r.runs[x.ref().node]);
  EXPECT_FALSE(r.runs[a.ref().node]);
  EXPECT_TRUE(r.runs[c.ref().node]);
  EXPECT_FALSE(r.runs[unused.ref().node]);
}

TEST(PruneTest, FedPlaceholdersDoNotRunAndUnfedOnesAreErrors) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output y = b.Placeholder("y", {kUnknownDim, 4});
  Output sum = Add(x, y, "sum");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(
      PrunedRequest r,
      Prune(g, {{x, Shape({2, 4})}, {y, Shape({2, 4})}}, {sum}, {}));
  EXPECT_FALSE(r.runs[x.ref().node]);
  EXPECT_TRUE(r.runs[sum.ref().node]);
  EXPECT_THAT(Prune(g, {{x, Shape({2, 4})}}, {sum}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("placeholder 'y' f32[?,4] must be fed")));
}

TEST(PruneTest, RejectsBadFeeds) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output v = b.Variable("v", {4}, Initializer::Zeros());
  Output sum = Add(x, v);
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  EXPECT_THAT(Prune(g, {{v, Shape({4})}}, {sum}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variable 'v' cannot be fed")));
  EXPECT_THAT(Prune(g, {{x, Shape({2, 3})}}, {sum}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cannot feed shape [2,3]")));
  EXPECT_THAT(Prune(g, {{x, Shape({2, 4})}, {x, Shape({2, 4})}}, {sum}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'x' is fed twice")));
  EXPECT_THAT(Prune(g, {}, {NodeOutput{99, 0}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a fetch refers to output 0 of node 99")));
}

TEST(InferShapesTest, ResolvesTheFedBatch) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3});
  Output w = b.Variable("w", {3, 4}, Initializer::Zeros());
  Output y = Relu(MatMul(x, w));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  EXPECT_EQ(g.spec(y).shape, Shape({kUnknownDim, 4}));
  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest r,
                             Prune(g, {{x, Shape({5, 3})}}, {y}, {}));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeSpecs specs, InferShapes(g, r));
  EXPECT_EQ(specs[y.ref().node][0].shape, Shape({5, 4}));
  EXPECT_EQ(specs[w.ref().node][0].shape, Shape({3, 4}));
  EXPECT_TRUE(specs[x.ref().node].empty());  // fed, not run
  EXPECT_EQ(InputSpec(g, r, specs, x).shape, Shape({5, 3}));
}

// ApplySgd updates v in place; it is added before the nodes that read v
// directly and through a Reshape view, so only the ordering rule (not ids)
// puts it after them.
TEST(OrderNodesTest, InPlaceWritersRunAfterEveryReaderIncludingViews) {
  GraphBuilder b;
  Output v = b.Variable("v", {4}, Initializer::Constant(1.0f));
  Output grad = b.Placeholder("grad", {4});
  Output update = ApplySgd(v, grad, b.Scalar(0.1f), "update");
  Output view = Reshape(v, Shape({2, 2}), "view");
  Output through_view = Relu(view, "through_view");
  Output direct = Tanh(v, "direct");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(
      PrunedRequest r,
      Prune(g, {{grad, Shape({4})}}, {through_view, direct}, {update}));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<int> order, OrderNodes(g, r));
  const int writer = PositionOf(order, update);
  ASSERT_LT(writer, static_cast<int>(order.size()));
  EXPECT_GT(writer, PositionOf(order, through_view));
  EXPECT_GT(writer, PositionOf(order, direct));
  EXPECT_GT(writer, PositionOf(order, view));
  EXPECT_EQ(order.size(), 6u);  // v, lr, update, view, relu, tanh
}

TEST(OrderNodesTest, ReaderThatDependsOnTheWriterCannotBeOrdered) {
  GraphBuilder b;
  Output v = b.Variable("v", {4}, Initializer::Constant(1.0f));
  Output grad = b.Placeholder("grad", {4});
  Output update = ApplySgd(v, grad, b.Scalar(0.1f), "update");
  Output both = Add(v, update, "both");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest r,
                             Prune(g, {{grad, Shape({4})}}, {both}, {}));
  EXPECT_THAT(OrderNodes(g, r), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("cannot order node")));
}

TEST(AnalyzeLivenessTest, LastUsesFetchesAndViews) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output h = Relu(x, "h");
  Output flat = Reshape(h, Shape({kUnknownDim}), "flat");
  Output y = Tanh(flat, "y");
  Output z = Sigmoid(y, "z");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest r,
                             Prune(g, {{x, Shape({2, 4})}}, {z}, {}));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeSpecs specs, InferShapes(g, r));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<int> order, OrderNodes(g, r));
  ASSERT_THAT(order, ElementsAre(h.ref().node, flat.ref().node, y.ref().node,
                                 z.ref().node));
  ValueTable values = AnalyzeLiveness(g, r, specs, order);
  // The feed, then one slot per output in order.
  ASSERT_EQ(values.num_slots(), 5);
  EXPECT_EQ(values.num_feeds, 1);
  EXPECT_EQ(values.Slot(x), 0);
  EXPECT_EQ(values.Slot(h), 1);
  EXPECT_EQ(values.Slot(z), 4);
  EXPECT_EQ(values.specs[values.Slot(flat)].shape, Shape({8}));
  // h is read by the Reshape (position 1), but its view is read by Tanh
  // (position 2), so h lives until then.
  EXPECT_EQ(values.last_use[values.Slot(x)], 0);
  EXPECT_EQ(values.last_use[values.Slot(h)], 2);
  EXPECT_EQ(values.last_use[values.Slot(flat)], 2);
  EXPECT_EQ(values.last_use[values.Slot(y)], 3);
  EXPECT_EQ(values.last_use[values.Slot(z)], kLiveToEnd);
  EXPECT_THAT(values.fetch_slots, ElementsAre(4));
  EXPECT_TRUE(values.used[values.Slot(h)]);
  for (const Layout& layout : values.layouts) {
    EXPECT_EQ(layout.data.format_kind, dnnl_blocked);
  }
}

// Conv2D and MaxPool2D agree on a blocked layout, so nothing converts
// between them; the pooled value is fetched, so one reorder makes it plain.
TEST(ResolveModeTest, PlansThatTrainAreTrainingPlans) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output v = b.Variable("v", {4}, Initializer::Zeros());
  Output y = Relu(Add(x, v), "y");
  Output dx = ReluGrad(x, y, "dx");
  Output grad = b.Placeholder("grad", {4});
  Output update = ApplySgd(v, grad, b.Scalar(0.1f), "update");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  const FeedSpec feed_x{x, Shape({2, 4})};
  const FeedSpec feed_grad{grad, Shape({4})};

  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest forward, Prune(g, {feed_x}, {y}, {}));
  EXPECT_EQ(ResolveMode(g, forward, RunMode::kAuto), RunMode::kInference);
  EXPECT_EQ(ResolveMode(g, forward, RunMode::kTraining), RunMode::kTraining);

  // A gradient op makes a training plan, and so does an optimizer update.
  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest backward,
                             Prune(g, {feed_x}, {dx}, {}));
  EXPECT_EQ(ResolveMode(g, backward, RunMode::kAuto), RunMode::kTraining);
  EXPECT_EQ(ResolveMode(g, backward, RunMode::kInference),
            RunMode::kInference);
  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest step,
                             Prune(g, {feed_grad}, {}, {update}));
  EXPECT_EQ(ResolveMode(g, step, RunMode::kAuto), RunMode::kTraining);
}

TEST(ChooseKernelsTest, NegotiatesLayoutsAndReordersOnlyWhereNeeded) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 8, 12, 12});
  Output f = b.Placeholder("f", {16, 8, 3, 3});
  Output conv = Conv2D(x, f, Output(), Conv2DOptions(), "conv");
  Output pool = MaxPool2D(conv, {2, 2}, {}, "valid", "pool");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(
      PrunedRequest r,
      Prune(g, {{x, Shape({4, 8, 12, 12})}, {f, Shape({16, 8, 3, 3})}}, {pool},
            {}));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeSpecs specs, InferShapes(g, r));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<int> order, OrderNodes(g, r));
  ValueTable values = AnalyzeLiveness(g, r, specs, order);
  VariableStore variables;
  NABLA_ASSERT_OK_AND_ASSIGN(
      KernelPlan plan,
      ChooseKernels(g, r, specs, order, std::move(values), &variables));
  const ValueTable& v = plan.values;
  EXPECT_EQ(plan.num_positions, 2);
  EXPECT_EQ(plan.steps.size(), 2u + plan.num_reorders);
  // The pooling reads the convolution's output where the convolution wrote
  // it, in the layout the convolution chose (blocked or NHWC). Its step is
  // the first for its node: the fetch's reorder comes after it.
  const PlannedStep* pool_step = nullptr;
  for (const PlannedStep& step : plan.steps) {
    ASSERT_NE(step.kernel, nullptr);
    if (step.node == pool.ref().node && pool_step == nullptr) {
      pool_step = &step;
    }
  }
  ASSERT_NE(pool_step, nullptr);
  EXPECT_EQ(pool_step->inputs[0], v.Slot(conv));
  EXPECT_FALSE(v.layouts[v.Slot(conv)] ==
               PlainLayout(v.specs[v.Slot(conv)].shape));
  // The fetch is a reorder's plain output, made after the last node.
  ASSERT_EQ(v.fetch_slots.size(), 1u);
  const int fetched = v.fetch_slots[0];
  EXPECT_NE(fetched, v.Slot(pool));
  EXPECT_TRUE(v.layouts[fetched] == PlainLayout(Shape({4, 16, 5, 5})));
  EXPECT_EQ(plan.steps.back().outputs, std::vector<int>{fetched});
  EXPECT_EQ(plan.steps.back().position, plan.num_positions);
  EXPECT_EQ(v.last_use[fetched], kLiveToEnd);
  EXPECT_GE(plan.num_reorders, 1);
}

TEST(ChooseKernelsTest, FactoryErrorsNameTheNode) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  // A Variable's kernel finds its value in the store, which is empty here.
  Output v = b.Variable("v", {4}, Initializer::Zeros());
  Output y = Add(x, v, "y");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(PrunedRequest r,
                             Prune(g, {{x, Shape({2, 4})}}, {y}, {}));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeSpecs specs, InferShapes(g, r));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<int> order, OrderNodes(g, r));
  VariableStore empty;
  EXPECT_THAT(
      ChooseKernels(g, r, specs, order, AnalyzeLiveness(g, r, specs, order),
                    &empty),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("Variable node 'v'")));
}

// A chain a -> b -> c -> d of equal values needs two buffers: a's is free
// again for c, b's for d; a view of d takes none.
KernelPlan HandWrittenChain() {
  KernelPlan plan;
  ValueTable& v = plan.values;
  const TensorSpec spec{DType::kF32, Shape({16})};
  v.AddSlot(spec, PlainLayout(spec.shape), 1);           // a: read at 1
  v.AddSlot(spec, PlainLayout(spec.shape), 2);           // b: read at 2
  v.AddSlot(spec, PlainLayout(spec.shape), 3);           // c: read at 3
  v.AddSlot(spec, PlainLayout(spec.shape), kLiveToEnd);  // d: fetched
  v.AddSlot(spec, PlainLayout(spec.shape), kLiveToEnd);  // a view of d
  v.fetch_slots = {3, 4};
  plan.num_positions = 5;
  for (int pos = 0; pos < 5; ++pos) {
    PlannedStep step;
    step.node = pos;
    step.position = pos;
    if (pos > 0) step.inputs = {pos - 1};
    step.outputs = {pos};
    step.outputs_in_arena = pos < 4;
    plan.steps.push_back(std::move(step));
  }
  return plan;
}

TEST(AssignBuffersTest, SharesBuffersBetweenDisjointLifetimes) {
  BufferAssignment buffers = AssignBuffers(HandWrittenChain());
  EXPECT_THAT(buffers.buffer_bytes, ElementsAre(64, 64));
  ASSERT_EQ(buffers.placements.size(), 4u);
  EXPECT_EQ(buffers.placements[0].buffer, 0);
  EXPECT_EQ(buffers.placements[1].buffer, 1);
  EXPECT_EQ(buffers.placements[2].buffer, 0);
  EXPECT_EQ(buffers.placements[3].slot, 3);
  EXPECT_EQ(buffers.placements[3].buffer, 1);
  EXPECT_EQ(buffers.arena_bytes, 2u * 64);
  EXPECT_EQ(buffers.unshared_bytes, 4u * 64);
}

TEST(AssignBuffersTest, TakesTheSmallestFreeBufferThatFits) {
  KernelPlan plan;
  ValueTable& v = plan.values;
  auto add = [&](int64_t n, int last) {
    TensorSpec spec{DType::kF32, Shape({n})};
    return v.AddSlot(spec, PlainLayout(spec.shape), last);
  };
  add(64, 1);          // big, free after position 1
  add(16, 1);          // small, free after position 1
  add(8, kLiveToEnd);  // fits both: takes the small one
  plan.num_positions = 3;
  for (int pos = 0; pos < 3; ++pos) {
    PlannedStep step;
    step.position = pos;
    step.outputs = pos == 0 ? std::vector<int>{0, 1} : std::vector<int>{};
    if (pos == 2) step.outputs = {2};
    plan.steps.push_back(std::move(step));
  }
  BufferAssignment buffers = AssignBuffers(plan);
  EXPECT_THAT(buffers.buffer_bytes, ElementsAre(256, 64));
  ASSERT_EQ(buffers.placements.size(), 3u);
  EXPECT_EQ(buffers.placements[2].buffer, 1);
  EXPECT_EQ(buffers.unshared_bytes, 256u + 64 + 32);
}

}  // namespace
}  // namespace planner
}  // namespace nabla
