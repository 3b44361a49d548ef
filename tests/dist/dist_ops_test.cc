// The AllReduce op family and DistributedOptimizer on one process (no MPI
// job): shapes, values, gradients, bucketing and graph order. The
// multi-process behaviour is tested under mpirun by the scripts beside
// this file.

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "dist/distributed_optimizer.h"
#include "dist/ops.h"
#include "gmock/gmock.h"
#include "graph/autodiff.h"
#include "graph/graph_def.h"
#include "graph/session.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "tests/test_util.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::ToDoubles;
using ::testing::HasSubstr;

TEST(AllReduceShapes, KeepTheInputSpec) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3});
  Output y = AllReduce(x, dist::Reduction::kSum);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(y.shape(), Shape({kUnknownDim, 3}));
  Output bucket = AllReduceBucket(b, 10);
  EXPECT_EQ(bucket.shape(), Shape({10}));
  Output w = b.Variable("w", {2, 3}, Initializer::Zeros());
  Output put = AllReducePut(bucket, w, 4);
  Output taken = AllReduceTake(AllReduceWait(AllReduceStart(put, dist::Reduction::kMean)),
                               4, Shape({3, 2}));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(put.shape(), Shape({10}));
  EXPECT_EQ(taken.shape(), Shape({3, 2}));
}

TEST(AllReduceShapes, RefuseBadAttributesAndRanges) {
  {
    GraphBuilder b;
    AllReduce(b.Placeholder("x", {2}), dist::Reduction::kSum);
    b.AddOp1("AllReduce", {b.Placeholder("z", {2})},
             {{"reduction", StringAttr("max")}});
    EXPECT_THAT(std::string(b.status().message()),
                HasSubstr("reduction must be 'sum' or 'mean', not 'max'"));
  }
  {
    GraphBuilder b;
    Output bucket = AllReduceBucket(b, 5);
    AllReducePut(bucket, b.Variable("w", {2, 3}, Initializer::Zeros()), 0);
    EXPECT_THAT(std::string(b.status().message()),
                HasSubstr("elements [0, 6) do not lie in the bucket of 5"));
  }
  {
    GraphBuilder b;
    AllReduceTake(AllReduceBucket(b, 5), 4, Shape({2}));
    EXPECT_THAT(std::string(b.status().message()),
                HasSubstr("elements [4, 6) do not lie in the bucket of 5"));
  }
  {
    GraphBuilder b;
    AllReducePut(AllReduceBucket(b, 5), b.Placeholder("x", {kUnknownDim}), 0);
    EXPECT_THAT(std::string(b.status().message()), HasSubstr("known shape"));
  }
  {
    GraphBuilder b;
    AllReduceBucket(b, 0);
    EXPECT_THAT(std::string(b.status().message()),
                HasSubstr("at least one element"));
  }
}

// One process: a sum or a mean over one process is the value itself.
TEST(AllReduceValues, AreTheIdentityOnOneProcess) {
  for (dist::Reduction reduction : {dist::Reduction::kSum, dist::Reduction::kMean}) {
    GraphBuilder b;
    Output x = b.Placeholder("x", {2, 3});
    Output y = AllReduce(x, reduction);
    Tensor value = RandomTensor(Shape({2, 3}), 1);
    auto out = RunOnce(b, {{x, value}}, {y});
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectTensorNear((*out)[0], Shape({2, 3}), ToDoubles(value), 0, 0);
  }
}

TEST(AllReduceValues, BucketRoundTripsEachValueAtItsOffset) {
  GraphBuilder b;
  Output p = b.Placeholder("p", {2, 3});
  Output q = b.Placeholder("q", {4});
  Output bucket = AllReducePut(AllReducePut(AllReduceBucket(b, 10), p, 0), q, 6);
  Output done = AllReduceWait(AllReduceStart(bucket, dist::Reduction::kMean));
  Output p2 = AllReduceTake(done, 0, Shape({2, 3}));
  Output q2 = AllReduceTake(done, 6, Shape({4}));
  Tensor pv = RandomTensor(Shape({2, 3}), 2), qv = RandomTensor(Shape({4}), 3);
  auto out = RunOnce(b, {{p, pv}, {q, qv}}, {p2, q2, done});
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectTensorNear((*out)[0], Shape({2, 3}), ToDoubles(pv), 0, 0);
  ExpectTensorNear((*out)[1], Shape({4}), ToDoubles(qv), 0, 0);
  std::vector<double> flat = ToDoubles(pv);
  for (double v : ToDoubles(qv)) flat.push_back(v);
  ExpectTensorNear((*out)[2], Shape({10}), flat, 0, 0);
}

TEST(AllReduceGradient, MatchesFiniteDifferences) {
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return AllReduce(Mul(in[0], in[0]), dist::Reduction::kMean);
      },
      {RandomTensor(Shape({3, 4}), 5)}, {0});
}

TEST(AllReduceGradient, IsTheSameReductionOfDy) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {3});
  Output y = AllReduce(x, dist::Reduction::kSum, "reduce");
  auto grads = Gradients(Sum(y), {x});
  ASSERT_TRUE(grads.ok()) << grads.status();
  const Node& node = b.graph().node((*grads)[0].ref().node);
  ASSERT_EQ(node.op(), "AllReduce");
  EXPECT_EQ(AttrReader(&node.attrs).GetString("reduction"), "sum");
}

// A small three-layer model for the optimizer tests.
struct Mlp {
  Output x, labels, loss;
  std::vector<Output> variables;
};

Mlp BuildMlp(GraphBuilder& b) {
  Mlp m;
  m.x = b.Placeholder("x", {kUnknownDim, 8});
  m.labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
  Output h = m.x;
  int64_t width = 8;
  for (int layer = 0; layer < 3; ++layer) {
    int64_t units = layer == 2 ? 3 : 16;
    Output w = b.Variable(absl::StrCat("l", layer, "/w"), {width, units},
                          Initializer::GlorotUniform(layer + 1));
    Output bias = b.Variable(absl::StrCat("l", layer, "/b"), {units},
                             Initializer::Zeros());
    m.variables.push_back(w);
    m.variables.push_back(bias);
    h = Dense(h, w, bias, layer == 2 ? Activation::kLinear : Activation::kRelu,
              absl::StrCat("l", layer));
    width = units;
  }
  m.loss = SoftmaxCrossEntropy(h, m.labels, Reduction::kMean, "loss");
  return m;
}

TEST(DistributedOptimizer, BucketsFollowTheBackwardPass) {
  for (int64_t bucket_bytes : {int64_t{0}, int64_t{600}, int64_t{1} << 20}) {
    GraphBuilder b;
    Mlp m = BuildMlp(b);
    Adam adam;
    dist::DistributedOptions options;
    options.bucket_bytes = bucket_bytes;
    dist::DistributedOptimizer optimizer(&adam, options);
    ASSERT_TRUE(optimizer.Minimize(m.loss, m.variables).ok());
    const auto& buckets = optimizer.bucket_plan().buckets;
    std::vector<int> order;
    for (const auto& bucket : buckets) {
      for (int v : bucket) order.push_back(v);
    }
    // The last layer's gradients are complete first: l2/b, l2/w, l1/b, ...
    EXPECT_EQ(order, (std::vector<int>{5, 4, 3, 2, 1, 0})) << bucket_bytes;
    if (bucket_bytes == 0) {
      EXPECT_EQ(buckets.size(), 6u);
    }
    // l2 is 16*3+3 floats (204 bytes), l1 16*16+16 (1088): 600 bytes closes
    // a bucket after l1/w, then l0 fills the last.
    if (bucket_bytes == 600) {
      EXPECT_EQ(buckets, (std::vector<std::vector<int>>{{5, 4, 3, 2}, {1, 0}}));
    }
    if (bucket_bytes == int64_t{1} << 20) {
      EXPECT_EQ(buckets.size(), 1u);
    }
  }
}

// The executor runs ready nodes in graph order, so a reduction starts
// before the backward pass of the layers below it when its node comes
// first in the graph.
TEST(DistributedOptimizer, StartsReductionsBeforeEarlierLayersAreDifferentiated) {
  GraphBuilder b;
  Mlp m = BuildMlp(b);
  Adam adam;
  dist::DistributedOptions options;
  options.bucket_bytes = 0;
  dist::DistributedOptimizer optimizer(&adam, options);
  auto step = optimizer.Minimize(m.loss, m.variables);
  ASSERT_TRUE(step.ok()) << step.status();
  const Graph& g = b.graph();
  auto id = [&](const std::string& name) { return *g.FindNode(name); };
  // bucket_0 holds l2/b, the first gradient complete; l0's weight gradient
  // is built by the rule of node l0, last in the sweep.
  int first_start = id("AllReduce/bucket_0/start");
  int last_start = id("AllReduce/bucket_5/start");
  int first_wait = id("AllReduce/bucket_0/wait");
  int l0_weight_grad = -1;
  for (int i = 0; i < g.num_nodes(); ++i) {
    if (absl::StartsWith(g.node(i).name, "l0_grad/")) l0_weight_grad = i;
  }
  ASSERT_GE(l0_weight_grad, 0);
  EXPECT_LT(first_start, l0_weight_grad);
  EXPECT_GT(last_start, l0_weight_grad);
  EXPECT_GT(first_wait, last_start);
  EXPECT_LT(first_wait, id("Adam/update/l2/b"));
}

// Without an MPI job the added nodes are the identity: the distributed
// graph trains exactly like the plain one, also after a GraphDef round
// trip.
TEST(DistributedOptimizer, TrainsLikeThePlainOptimizerOnOneProcess) {
  auto train = [](bool distributed, bool round_trip) -> std::vector<Tensor> {
    GraphBuilder b;
    Mlp m = BuildMlp(b);
    Adam adam;
    dist::DistributedOptions options;
    options.bucket_bytes = 256;
    dist::DistributedOptimizer optimizer(&adam, options);
    absl::StatusOr<TrainStep> step =
        distributed ? optimizer.Minimize(m.loss, m.variables)
                    : adam.Minimize(m.loss, m.variables);
    EXPECT_TRUE(step.ok()) << step.status();
    absl::StatusOr<Graph> graph = b.Build();
    EXPECT_TRUE(graph.ok());
    if (round_trip) {
      graph = FromGraphDef(ToGraphDef(*graph));
      EXPECT_TRUE(graph.ok()) << graph.status();
    }
    auto session = Session::Create(*std::move(graph));
    EXPECT_TRUE(session.ok());
    auto targets = TrainTargets((*session)->graph(), "Adam");
    EXPECT_TRUE(targets.ok()) << targets.status();
    Tensor x = RandomTensor(Shape({12, 8}), 9);
    Tensor labels = *Tensor::FromVector<int32_t>(
        Shape({12}), {0, 1, 2, 0, 1, 2, 0, 1, 2, 2, 1, 0});
    NodeOutput xin = *(*session)->graph().FindOutput("x");
    NodeOutput lin = *(*session)->graph().FindOutput("labels");
    for (int i = 0; i < 5; ++i) {
      auto out = (*session)->Run({{xin, x}, {lin, labels}}, {}, *targets);
      EXPECT_TRUE(out.ok()) << out.status();
    }
    std::vector<Tensor> values;
    for (const std::string& name : (*session)->variables().Names()) {
      values.push_back((*session)->variables().Find(name)->Clone());
    }
    return values;
  };
  std::vector<Tensor> plain = train(false, false);
  for (bool round_trip : {false, true}) {
    std::vector<Tensor> distributed = train(true, round_trip);
    ASSERT_EQ(plain.size(), distributed.size());
    for (size_t i = 0; i < plain.size(); ++i) {
      EXPECT_TRUE(plain[i].BitwiseEquals(distributed[i])) << i;
    }
  }
}

TEST(DistributedOptimizer, RefusesBadOptions) {
  GraphBuilder b;
  Mlp m = BuildMlp(b);
  Adam adam;
  dist::DistributedOptions options;
  options.bucket_bytes = -1;
  dist::DistributedOptimizer optimizer(&adam, options);
  EXPECT_THAT(std::string(optimizer.Minimize(m.loss, m.variables).status().message()),
              HasSubstr("bucket_bytes must not be negative"));
  dist::DistributedOptimizer no_inner(nullptr);
  EXPECT_FALSE(no_inner.Minimize(m.loss, m.variables).ok());
}

}  // namespace
}  // namespace nabla
