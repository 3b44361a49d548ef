// Inference plans convert convolution filters into oneDNN's blocked layout
// once and keep them (ops/conv.cc, CachedFiltersConvKernel); these tests
// check that the kept filters follow every write of the variable: an
// Assign, an optimizer step of a training plan of the same session, a
// checkpoint restore, and filters that are no variable at all (fed).
// Each result is checked against a plain convolution in double precision
// of the filters the variable holds at that moment.

#include <cmath>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "ops/conv.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::TestDir;
using ::nabla::testing::ToDoubles;

// x [N, C, H, W], filters [O, C, KH, KW], valid padding, stride 1, then
// bias and ReLU if given.
std::vector<double> ReferenceConv(const Tensor& x, const Tensor& filters,
                                  const Tensor* bias, bool relu) {
  const std::vector<double> xv = ToDoubles(x), wv = ToDoubles(filters);
  const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2],
                w = x.shape()[3];
  const int64_t o = filters.shape()[0], kh = filters.shape()[2],
                kw = filters.shape()[3];
  const int64_t oh = h - kh + 1, ow = w - kw + 1;
  std::vector<double> bv = bias ? ToDoubles(*bias) : std::vector<double>(o, 0);
  std::vector<double> y(n * o * oh * ow);
  for (int64_t in = 0; in < n; ++in)
    for (int64_t io = 0; io < o; ++io)
      for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
          double sum = bv[io];
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t b = 0; b < kw; ++b) {
                sum += xv[((in * c + ic) * h + y0 + a) * w + x0 + b] *
                       wv[((io * c + ic) * kh + a) * kw + b];
              }
          if (relu) sum = std::max(sum, 0.0);
          y[((in * o + io) * oh + y0) * ow + x0] = sum;
        }
  return y;
}

// Channels that oneDNN blocks on any x86 ISA (8 or 16 at a time), so that
// the primitive wants the filters in another layout than OIHW.
constexpr int64_t kBatch = 2, kIn = 16, kOut = 32, kSize = 7, kKernel = 3;
const Shape kImages({kBatch, kIn, kSize, kSize});
const Shape kFilters({kOut, kIn, kKernel, kKernel});
const Shape kOutput({kBatch, kOut, kSize - kKernel + 1, kSize - kKernel + 1});

struct ConvModel {
  GraphBuilder builder;
  Output x, w, bias, y, loss;
  std::unique_ptr<Session> session;
};

// y = relu(conv(x, w) + bias); loss = sum(y * y).
std::unique_ptr<ConvModel> MakeModel(bool with_bias) {
  auto m = std::make_unique<ConvModel>();
  GraphBuilder& b = m->builder;
  m->x = b.Placeholder("x", {kUnknownDim, kIn, kSize, kSize});
  m->w = b.Variable("w", kFilters, Initializer::GlorotUniform(3));
  Conv2DOptions options;
  options.activation = Activation::kRelu;
  if (with_bias) {
    m->bias = b.Variable("bias", {kOut}, Initializer::GlorotUniform(4));
  }
  m->y = Conv2D(m->x, m->w, m->bias, options, "conv");
  m->loss = Sum(Mul(m->y, m->y));
  return m;
}

std::vector<double> Expected(const ConvModel& m, const Tensor& x) {
  const VariableStore& vars = m.session->variables();
  return ReferenceConv(x, *vars.Find("w"),
                       m.bias.valid() ? vars.Find("bias") : nullptr, true);
}

absl::StatusOr<Plan*> CompileInference(ConvModel& m, RunMode mode =
                                                          RunMode::kInference) {
  return m.session->Compile({{m.x, kImages}}, {m.y}, {}, CompileOptions{mode});
}

TEST(CachedWeightsTest, InferencePlanDoesNotReorderTheFiltersEveryRun) {
  std::unique_ptr<ConvModel> m = MakeModel(/*with_bias=*/true);
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, m->builder.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(m->session, Session::Create(std::move(graph)));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan* inference, CompileInference(*m));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan* forward_in_training,
                             CompileInference(*m, RunMode::kTraining));
  // The same convolution; only the training plan's executor converts the
  // filters (one reorder step more: the images in and y out are the same).
  EXPECT_EQ(inference->stats().num_reorders + 1,
            forward_in_training->stats().num_reorders);
  const Tensor x = RandomTensor(kImages, 11);
  std::vector<Tensor> a, b;
  for (int run = 0; run < 3; ++run) {
    NABLA_ASSERT_OK(inference->Run({x}, &a));
    ExpectTensorNear(a[0], kOutput, Expected(*m, x), 1e-4, 1e-4);
  }
  NABLA_ASSERT_OK(forward_in_training->Run({x}, &b));
  ExpectTensorNear(b[0], kOutput, ToDoubles(a[0]), 1e-5, 1e-5);
}

TEST(CachedWeightsTest, AssignRefreshesTheKeptFilters) {
  std::unique_ptr<ConvModel> m = MakeModel(/*with_bias=*/false);
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, m->builder.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(m->session, Session::Create(std::move(graph)));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan* plan, CompileInference(*m));
  const Tensor x = RandomTensor(kImages, 12);
  std::vector<Tensor> before, after;
  NABLA_ASSERT_OK(plan->Run({x}, &before));
  ExpectTensorNear(before[0], kOutput, Expected(*m, x), 1e-4, 1e-4);
  const uint64_t version = *m->session->variables().Version("w");
  NABLA_ASSERT_OK(
      m->session->variables().Assign("w", RandomTensor(kFilters, 13)));
  EXPECT_GT(*m->session->variables().Version("w"), version);
  NABLA_ASSERT_OK(plan->Run({x}, &after));
  ExpectTensorNear(after[0], kOutput, Expected(*m, x), 1e-4, 1e-4);
  EXPECT_FALSE(after[0].BitwiseEquals(before[0]));
}

TEST(CachedWeightsTest, OptimizerStepRefreshesTheKeptFilters) {
  std::unique_ptr<ConvModel> m = MakeModel(/*with_bias=*/true);
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep train,
                             Sgd(0.05f).Minimize(m->loss, {m->w, m->bias}));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, m->builder.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(m->session, Session::Create(std::move(graph)));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan* inference, CompileInference(*m));
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan* step,
      m->session->Compile({{m->x, kImages}}, {m->loss}, train.targets()));
  ASSERT_TRUE(step->stats().training);
  const Tensor x = RandomTensor(kImages, 14);
  std::vector<Tensor> y, loss, previous;
  NABLA_ASSERT_OK(inference->Run({x}, &y));
  ExpectTensorNear(y[0], kOutput, Expected(*m, x), 1e-4, 1e-4);
  for (int i = 0; i < 3; ++i) {
    previous = {y[0].Clone()};
    const Tensor w_before = m->session->variables().Find("w")->Clone();
    NABLA_ASSERT_OK(step->Run({x}, &loss));
    ASSERT_FALSE(m->session->variables().Find("w")->BitwiseEquals(w_before));
    NABLA_ASSERT_OK(inference->Run({x}, &y));
    ExpectTensorNear(y[0], kOutput, Expected(*m, x), 1e-4, 1e-4);
    EXPECT_FALSE(y[0].BitwiseEquals(previous[0])) << "step " << i;
  }
}

TEST(CachedWeightsTest, CheckpointRestoreRefreshesTheKeptFilters) {
  std::unique_ptr<ConvModel> m = MakeModel(/*with_bias=*/true);
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep train,
                             Sgd(0.05f).Minimize(m->loss, {m->w, m->bias}));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, m->builder.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(m->session, Session::Create(std::move(graph)));
  NABLA_ASSERT_OK_AND_ASSIGN(Plan* inference, CompileInference(*m));
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan* step,
      m->session->Compile({{m->x, kImages}}, {m->loss}, train.targets()));
  const std::string path = TestDir() + "/conv.ckpt";
  NABLA_ASSERT_OK(SaveCheckpoint(*m->session, CheckpointInfo(), path));
  const Tensor saved_w = m->session->variables().Find("w")->Clone();
  const Tensor x = RandomTensor(kImages, 15);
  std::vector<Tensor> trained, restored, loss;
  // The kept filters are the trained ones when the checkpoint comes back.
  NABLA_ASSERT_OK(step->Run({x}, &loss));
  NABLA_ASSERT_OK(inference->Run({x}, &trained));
  ExpectTensorNear(trained[0], kOutput, Expected(*m, x), 1e-4, 1e-4);
  NABLA_ASSERT_OK(LoadCheckpoint(path, m->session.get()).status());
  ASSERT_TRUE(m->session->variables().Find("w")->BitwiseEquals(saved_w));
  NABLA_ASSERT_OK(inference->Run({x}, &restored));
  ExpectTensorNear(restored[0], kOutput, Expected(*m, x), 1e-4, 1e-4);
  EXPECT_FALSE(restored[0].BitwiseEquals(trained[0]));
}

// Fed filters have no version: they are converted on every run, even when
// the caller rewrites the same buffer between runs.
TEST(CachedWeightsTest, FedFiltersAreConvertedEveryRun) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, kIn, kSize, kSize});
  Output w = b.Placeholder("w", kFilters);
  Output y = Conv2D(x, w, Output(), Conv2DOptions(), "conv");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Session> session,
                             Session::Create(std::move(graph)));
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan* plan, session->Compile({{x, kImages}, {w, kFilters}}, {y}, {},
                                   CompileOptions{RunMode::kInference}));
  const Tensor images = RandomTensor(kImages, 16);
  Tensor filters = RandomTensor(kFilters, 17);
  std::vector<Tensor> out;
  for (uint64_t seed : {18, 19, 20}) {
    NABLA_ASSERT_OK(plan->Run({images, filters}, &out));
    ExpectTensorNear(out[0], kOutput,
                     ReferenceConv(images, filters, nullptr, false), 1e-4,
                     1e-4);
    NABLA_ASSERT_OK(filters.CopyFrom(RandomTensor(kFilters, seed)));
  }
}

TEST(CachedWeightsTest, VersionsOfTheStore) {
  VariableStore store;
  NABLA_ASSERT_OK(store.Add("a", RandomTensor(Shape({3}), 1)));
  NABLA_ASSERT_OK(store.Add("b", RandomTensor(Shape({2}), 2)));
  const uint64_t* a = store.Version("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(store.Version("c"), nullptr);
  EXPECT_EQ(store.VersionOfBuffer(store.Find("a")->raw_data()), a);
  EXPECT_EQ(store.VersionOfBuffer(store.Find("b")->raw_data()),
            store.Version("b"));
  Tensor other = RandomTensor(Shape({3}), 3);
  EXPECT_EQ(store.VersionOfBuffer(other.raw_data()), nullptr);
  const uint64_t first = *a;
  NABLA_ASSERT_OK(store.Assign("a", other));
  EXPECT_EQ(*a, first + 1);
  store.MarkWritten("a");
  EXPECT_EQ(*a, first + 2);
  // A refused assignment writes nothing; another variable's write leaves
  // this one's version alone.
  EXPECT_FALSE(store.Assign("a", RandomTensor(Shape({4}), 4)).ok());
  EXPECT_EQ(*a, first + 2);
  const uint64_t b = *store.Version("b");
  store.MarkWritten("a");
  EXPECT_EQ(*store.Version("b"), b);
  EXPECT_EQ(*a, first + 3);
}

}  // namespace
}  // namespace nabla
