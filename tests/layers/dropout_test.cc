// Dropout: the identity in inference; in training an inverted dropout whose
// mask is a function of (seed, counter, index) alone, the counter a
// Variable the op increments.

#include <cmath>
#include <cstring>
#include <memory>

#include "graph/autodiff.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "ops/dropout.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"

namespace nabla {
namespace {

using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::nabla::testing::ToDoubles;
using ::testing::HasSubstr;

TEST(DropoutShapeTest, OutputsAndCounter) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 5});
  Output y = Dropout(x, 0.3f, 7, "drop");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(y.shape(), Shape({kUnknownDim, 5}));
  EXPECT_EQ(b.graph().spec({y.ref().node, 1}).dtype, DType::kU8);
  NABLA_ASSERT_OK_AND_ASSIGN(Output counter, b.Find("drop/counter"));
  EXPECT_EQ(counter.dtype(), DType::kI64);
  EXPECT_EQ(counter.shape(), Shape());
}

TEST(DropoutShapeTest, Errors) {
  for (float rate : {1.0f, -0.1f, NAN}) {
    GraphBuilder b;
    Dropout(b.Placeholder("x", {4}), rate, 0, "drop");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("rate must be in [0, 1)")));
    EXPECT_THAT(std::string(b.status().message()),
                HasSubstr("Dropout node 'drop' (inputs f32[4], i64[])"));
  }
  GraphBuilder b;
  // The counter is updated in place, so it must be a Variable.
  b.AddOp("Dropout",
          {b.Placeholder("x", {4}), b.Placeholder("c", {}, DType::kI64)},
          {{"rate", FloatAttr(0.5f)}}, "drop");
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("must be a Variable")));
}

// A session over one Dropout node of `rate` and `seed` on x [n].
struct Fixture {
  GraphBuilder b;
  Output x, y, mask, dy, dx;
  std::unique_ptr<Session> session;

  Fixture(int64_t n, float rate, int64_t seed) {
    x = b.Placeholder("x", {n});
    y = Dropout(x, rate, seed, "drop");
    mask = Output(&b, {y.ref().node, 1});
    dy = b.Placeholder("dy", {n});
    auto grads = Gradients({y}, {dy}, {x});
    if (grads.ok()) dx = (*grads)[0];
    auto graph = b.Build();
    if (graph.ok()) {
      auto s = Session::Create(*std::move(graph));
      if (s.ok()) session = *std::move(s);
    }
  }

  int64_t counter() const {
    return session->variables().Find("drop/counter")->data<int64_t>()[0];
  }
};

TEST(DropoutTest, InferenceIsTheIdentity) {
  Fixture f(1000, 0.5f, 1);
  ASSERT_NE(f.session, nullptr) << f.b.status();
  Tensor x = RandomTensor({1000}, 2);
  for (RunMode mode : {RunMode::kAuto, RunMode::kInference}) {
    NABLA_ASSERT_OK_AND_ASSIGN(
        Plan * plan, f.session->Compile({{f.x, x.shape()}}, {f.y}, {},
                                        CompileOptions{mode}));
    std::vector<Tensor> out;
    NABLA_ASSERT_OK(plan->Run({x}, &out));
    ExpectTensorNear(out[0], x.shape(), ToDoubles(x), 0, 0);
  }
  EXPECT_EQ(f.counter(), 0);
}

TEST(DropoutTest, TrainingKeepsAndScales) {
  const int64_t n = 200000;  // parallel: above the OpenMP threshold
  const float rate = 0.3f;
  Fixture f(n, rate, 42);
  ASSERT_NE(f.session, nullptr) << f.b.status();
  Tensor x = RandomTensor({n}, 3, 0.5f, 1.5f);  // no zeros
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan, f.session->Compile({{f.x, x.shape()}}, {f.y, f.mask}, {},
                                      CompileOptions{RunMode::kTraining}));
  std::vector<Tensor> first, second;
  NABLA_ASSERT_OK(plan->Run({x}, &first));
  EXPECT_EQ(f.counter(), 1);
  NABLA_ASSERT_OK(plan->Run({x}, &second));
  EXPECT_EQ(f.counter(), 2);

  const float scale = 1.0f / (1.0f - rate);
  int64_t kept = 0, differ = 0, wrong = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool k0 = first[1].data<uint8_t>()[i], k1 = second[1].data<uint8_t>()[i];
    kept += k0;
    differ += k0 != k1;
    // The mask is exactly the documented rule at counters 0 and 1, thread
    // count notwithstanding.
    wrong += k0 != DropoutKeeps(42, 0, i, rate);
    wrong += k1 != DropoutKeeps(42, 1, i, rate);
    const float expected = k0 ? x.data<float>()[i] * scale : 0.0f;
    wrong += first[0].data<float>()[i] != expected;
  }
  EXPECT_EQ(wrong, 0);
  // 1 - rate within 5 standard deviations (sqrt(0.21 / n) = 0.001).
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.7, 0.005);
  // Each run draws a new mask: independent masks differ in 2 * 0.21 of the
  // elements.
  EXPECT_NEAR(static_cast<double>(differ) / n, 0.42, 0.01);
}

TEST(DropoutTest, SameSeedAndCounterSameMaskAcrossSessions) {
  const int64_t n = 5000;
  Tensor x = RandomTensor({n}, 4);
  auto masks = [&](int64_t seed, int64_t start) {
    Fixture f(n, 0.5f, seed);
    std::vector<Tensor> out;
    if (f.session == nullptr) return out;
    Tensor c = Tensor::Filled<int64_t>(Shape(), start);
    if (!f.session->variables().Assign("drop/counter", c).ok()) return out;
    auto plan = f.session->Compile({{f.x, x.shape()}}, {f.mask}, {},
                                   CompileOptions{RunMode::kTraining});
    if (!plan.ok() || !(*plan)->Run({x}, &out).ok()) out.clear();
    return out;
  };
  std::vector<Tensor> a = masks(9, 5), b = masks(9, 5), other_seed = masks(10, 5),
                      other_counter = masks(9, 6);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(other_seed.size(), 1u);
  ASSERT_EQ(other_counter.size(), 1u);
  // A session resumed at counter 5 (as from a checkpoint) draws the same
  // mask as one that ran up to it.
  EXPECT_EQ(0, std::memcmp(a[0].raw_data(), b[0].raw_data(), n));
  EXPECT_NE(0, std::memcmp(a[0].raw_data(), other_seed[0].raw_data(), n));
  EXPECT_NE(0, std::memcmp(a[0].raw_data(), other_counter[0].raw_data(), n));
}

// The counter is a variable, so a checkpoint carries it: a run resumed
// from the checkpoint after step 1 draws the masks of steps 2 and 3 that the
// uninterrupted run drew.
TEST(DropoutTest, ResumedFromACheckpointDrawsTheSameMasks) {
  const int64_t n = 4096;
  Tensor x = RandomTensor({n}, 8);
  const std::string path = TestDir() + "/dropout.ckpt";
  std::vector<Tensor> uninterrupted;
  {
    Fixture f(n, 0.5f, 11);
    ASSERT_NE(f.session, nullptr) << f.b.status();
    NABLA_ASSERT_OK_AND_ASSIGN(
        Plan * plan, f.session->Compile({{f.x, x.shape()}}, {f.mask}, {},
                                        CompileOptions{RunMode::kTraining}));
    for (int step = 0; step < 3; ++step) {
      std::vector<Tensor> out;
      NABLA_ASSERT_OK(plan->Run({x}, &out));
      uninterrupted.push_back(out[0]);
      if (step == 0) NABLA_ASSERT_OK(SaveCheckpoint(*f.session, {}, path));
    }
  }
  Fixture g(n, 0.5f, 11);
  ASSERT_NE(g.session, nullptr) << g.b.status();
  NABLA_ASSERT_OK(LoadCheckpoint(path, g.session.get()).status());
  EXPECT_EQ(g.counter(), 1);
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan, g.session->Compile({{g.x, x.shape()}}, {g.mask}, {},
                                      CompileOptions{RunMode::kTraining}));
  for (int step = 1; step < 3; ++step) {
    std::vector<Tensor> out;
    NABLA_ASSERT_OK(plan->Run({x}, &out));
    EXPECT_TRUE(out[0].BitwiseEquals(uninterrupted[step])) << "step " << step;
  }
  EXPECT_FALSE(uninterrupted[1].BitwiseEquals(uninterrupted[2]));
}

TEST(DropoutGradientTest, FiniteDifferencesWithAFixedMask) {
  const int64_t n = 64;
  const float rate = 0.4f;
  Fixture f(n, rate, 5);
  ASSERT_NE(f.session, nullptr) << f.b.status();
  Tensor x = RandomTensor({n}, 6), r = RandomTensor({n}, 7);
  // A training plan (it runs DropoutGrad) fetching y, the mask and dx.
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * grad_plan,
      f.session->Compile({{f.x, x.shape()}, {f.dy, r.shape()}},
                         {f.y, f.mask, f.dx}));
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(grad_plan->Run({x, r}, &out));
  EXPECT_EQ(f.counter(), 1);
  const Tensor dx = out[2];
  // loss = sum(y * r) by central differences, each run with the counter
  // put back to 0 so that the mask stays the one dx was computed with.
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan, f.session->Compile({{f.x, x.shape()}}, {f.y}, {},
                                      CompileOptions{RunMode::kTraining}));
  auto loss = [&](const Tensor& at) {
    Tensor zero = Tensor::Filled<int64_t>(Shape(), 0);
    std::vector<Tensor> y;
    if (!f.session->variables().Assign("drop/counter", zero).ok() ||
        !plan->Run({at}, &y).ok()) {
      return NAN;
    }
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += double{y[0].data<float>()[i]} * r.data<float>()[i];
    return static_cast<float>(sum);
  };
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float h = 1e-2f;
    Tensor plus = x.Clone(), minus = x.Clone();
    plus.data<float>()[i] += h;
    minus.data<float>()[i] -= h;
    const double numeric = (loss(plus) - loss(minus)) / (2.0 * h);
    const bool keep = out[1].data<uint8_t>()[i];
    kept += keep;
    const double analytic = keep ? r.data<float>()[i] / (1.0 - rate) : 0.0;
    EXPECT_NEAR(dx.data<float>()[i], analytic, 1e-6) << i;
    EXPECT_NEAR(dx.data<float>()[i], numeric, 2e-3) << i;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, n);
}

}  // namespace
}  // namespace nabla
