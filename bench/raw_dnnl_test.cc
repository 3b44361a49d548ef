// The raw oneDNN baselines must compute what nabla's ops compute, or the
// ratios bench/op_bench.cc reports would compare different work. For every
// case of bench/op_cases.cc with a raw baseline, nabla is fed the raw op's
// own inputs and both results are compared. The raw model must train.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/op_cases.h"
#include "bench/raw_dnnl.h"
#include "core/dnnl_context.h"
#include "gtest/gtest.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "graph/session.h"

namespace nabla {
namespace bench {
namespace {

constexpr int64_t kBatch = 3;

Shape WithBatch(const Shape& shape, int64_t batch) {
  Shape::Dims dims = shape.dims();
  for (int64_t& d : dims) {
    if (d == kUnknownDim) d = batch;
  }
  return Shape(absl::MakeConstSpan(dims));
}

// A nabla tensor holding a copy of a plain raw buffer.
Tensor FromMemory(const dnnl::memory& m, DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  EXPECT_EQ(t.nbytes(), m.get_desc().get_size()) << shape.ToString();
  std::memcpy(t.raw_data(), m.get_data_handle(),
              std::min(t.nbytes(), m.get_desc().get_size()));
  return t;
}

void ExpectClose(const dnnl::memory& raw, const Tensor& ours,
                 const std::string& what) {
  ASSERT_EQ(raw.get_desc().get_size(), ours.nbytes()) << what;
  const float* a = static_cast<const float*>(raw.get_data_handle());
  const float* b = ours.data<float>();
  float scale = 0;
  for (int64_t i = 0; i < ours.num_elements(); ++i) {
    scale = std::max(scale, std::abs(b[i]));
  }
  int bad = 0;
  for (int64_t i = 0; i < ours.num_elements() && bad < 5; ++i) {
    if (!(std::abs(a[i] - b[i]) <= 1e-5f + 1e-4f * scale)) {
      ADD_FAILURE() << what << " element " << i << ": raw " << a[i]
                    << ", nabla " << b[i] << " (scale " << scale << ")";
      ++bad;
    }
  }
}

// nabla's forward on the raw op's inputs, compared with its first output.
void CheckForward(const OpCase& c) {
  SCOPED_TRACE(c.name + " forward");
  auto raw = c.raw_forward(kBatch);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE((*raw)->Run().ok());

  GraphBuilder b;
  std::vector<Output> inputs;
  std::vector<FeedSpec> feeds;
  std::vector<Tensor> values;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const CaseInput& in = c.inputs[i];
    inputs.push_back(b.Placeholder(in.name, in.shape, in.dtype));
    Shape shape = WithBatch(in.shape, kBatch);
    feeds.push_back({inputs.back(), shape});
    values.push_back(FromMemory((*raw)->user_inputs()[i], in.dtype, shape));
  }
  std::vector<Output> ys = c.build(b, inputs);
  auto graph = b.Build();
  ASSERT_TRUE(graph.ok()) << graph.status();
  auto session = Session::Create(*graph);
  ASSERT_TRUE(session.ok());
  auto plan = (*session)->Compile(feeds, {ys[0]});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*plan)->Run(values, &out).ok());
  ExpectClose((*raw)->user_outputs()[0], out[0], "y");
}

// nabla's gradients of <y, dy> with respect to the differentiated inputs,
// from the raw op's inputs and dy, compared with the raw gradients.
void CheckBackward(const OpCase& c) {
  SCOPED_TRACE(c.name + " backward");
  auto raw = c.raw_backward(kBatch);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE((*raw)->Run().ok());

  GraphBuilder b;
  std::vector<Output> inputs, wrt;
  std::vector<FeedSpec> feeds;
  std::vector<Tensor> values;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const CaseInput& in = c.inputs[i];
    inputs.push_back(b.Placeholder(in.name, in.shape, in.dtype));
    if (in.differentiable) wrt.push_back(inputs.back());
    Shape shape = WithBatch(in.shape, kBatch);
    feeds.push_back({inputs.back(), shape});
    values.push_back(FromMemory((*raw)->user_inputs()[i], in.dtype, shape));
  }
  std::vector<Output> ys = c.build(b, inputs);
  Output dy = b.Placeholder("dy", ys[0].shape());
  auto grads = Gradients({ys[0]}, {dy}, wrt);
  ASSERT_TRUE(grads.ok()) << grads.status();
  auto graph = b.Build();
  ASSERT_TRUE(graph.ok()) << graph.status();
  auto session = Session::Create(*graph);
  ASSERT_TRUE(session.ok());
  // dy's shape is the forward output's; find it by compiling the forward.
  auto forward = (*session)->Compile(feeds, {ys[0]});
  ASSERT_TRUE(forward.ok()) << forward.status();
  std::vector<Tensor> y;
  ASSERT_TRUE((*forward)->Run(values, &y).ok());
  feeds.push_back({dy, y[0].shape()});
  values.push_back(FromMemory((*raw)->user_inputs()[c.inputs.size()],
                              DType::kF32, y[0].shape()));
  std::vector<NodeOutput> fetches(grads->begin(), grads->end());
  auto plan = (*session)->Compile(feeds, fetches);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*plan)->Run(values, &out).ok());
  ASSERT_EQ((*raw)->user_outputs().size(), out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ExpectClose((*raw)->user_outputs()[i], out[i],
                "gradient " + std::to_string(i));
  }
}

TEST(RawDnnl, ForwardBaselinesMatchNabla) {
  ASSERT_TRUE(SetNumThreads(2).ok());
  int checked = 0;
  for (const OpCase& c : OpCases()) {
    if (!c.raw_forward) continue;
    CheckForward(c);
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(RawDnnl, BackwardBaselinesMatchNabla) {
  ASSERT_TRUE(SetNumThreads(2).ok());
  int checked = 0;
  for (const OpCase& c : OpCases()) {
    // The cross-entropy's raw backward starts from the kept gradient rather
    // than from the logits; its forward check covers that gradient's maths.
    if (!c.raw_backward || c.name == "SoftmaxCrossEntropy") continue;
    CheckBackward(c);
    ++checked;
  }
  EXPECT_GE(checked, 9);
}

TEST(RawDnnl, SoftmaxCrossEntropyKeepsItsGradient) {
  auto raw = RawSoftmaxCrossEntropyForward(kBatch, 10);
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE((*raw)->Run().ok());
  const float* logits =
      static_cast<const float*>((*raw)->user_inputs()[0].get_data_handle());
  const int32_t* labels =
      static_cast<const int32_t*>((*raw)->user_inputs()[1].get_data_handle());
  const float* backprop =
      static_cast<const float*>((*raw)->user_outputs()[1].get_data_handle());
  for (int64_t i = 0; i < kBatch; ++i) {
    double sum = 0;
    for (int j = 0; j < 10; ++j) sum += std::exp(logits[i * 10 + j]);
    for (int j = 0; j < 10; ++j) {
      double expected =
          (std::exp(logits[i * 10 + j]) / sum - (j == labels[i])) / kBatch;
      EXPECT_NEAR(backprop[i * 10 + j], expected, 1e-5) << i << "," << j;
    }
  }
}

TEST(RawDnnl, LectureModelTrains) {
  ASSERT_TRUE(SetNumThreads(2).ok());
  auto model = RawLectureModel::Create(32, /*training=*/true);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_TRUE((*model)->Run().ok());
  const float first = (*model)->loss();
  EXPECT_GT(first, 1.5f);  // about log(10) for a fresh model
  for (int i = 0; i < 40; ++i) ASSERT_TRUE((*model)->Run().ok());
  // One fixed batch of 32 random images is soon memorized.
  EXPECT_LT((*model)->loss(), 0.5f * first);
}

TEST(RawDnnl, LectureModelInfers) {
  ASSERT_TRUE(SetNumThreads(2).ok());
  auto model = RawLectureModel::Create(4, /*training=*/false);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_TRUE((*model)->Run().ok());
}

}  // namespace
}  // namespace bench
}  // namespace nabla
