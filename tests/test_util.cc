#include "tests/test_util.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"
#include "graph/autodiff.h"
#include "ops/arith.h"

namespace nabla {
namespace testing {

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

std::string TestDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  // Parameterized tests have '/' in their names.
  std::string dir = absl::StrCat(
      root != nullptr ? root : "/tmp", "/",
      absl::StrReplaceAll(
          absl::StrCat(info->test_suite_name(), ".", info->name()),
          {{"/", "_"}}));
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

Tensor RandomTensor(const Shape& shape, uint64_t seed, float lo, float hi) {
  Tensor t(DType::kF32, shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& x : t.flat<float>()) x = dist(rng);
  return t;
}

std::vector<double> ToDoubles(const Tensor& t) {
  std::vector<double> out;
  out.reserve(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    switch (t.dtype()) {
      case DType::kF32:
        out.push_back(t.data<float>()[i]);
        break;
      case DType::kI32:
        out.push_back(t.data<int32_t>()[i]);
        break;
      case DType::kI64:
        out.push_back(static_cast<double>(t.data<int64_t>()[i]));
        break;
      case DType::kU8:
        out.push_back(t.data<uint8_t>()[i]);
        break;
      default:
        break;
    }
  }
  return out;
}

void ExpectTensorNear(const Tensor& actual, const Shape& shape,
                      const std::vector<double>& expected, double atol,
                      double rtol) {
  ASSERT_EQ(actual.shape(), shape) << actual.DebugString();
  ASSERT_EQ(actual.num_elements(), static_cast<int64_t>(expected.size()));
  std::vector<double> got = ToDoubles(actual);
  int reported = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    double tolerance = atol + rtol * std::abs(expected[i]);
    if (!(std::abs(got[i] - expected[i]) <= tolerance) && reported++ < 10) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", expected "
                    << expected[i] << " (tolerance " << tolerance << ")";
    }
  }
}

absl::StatusOr<std::vector<Tensor>> RunOnce(
    const GraphBuilder& builder,
    const std::vector<std::pair<Output, Tensor>>& feeds,
    const std::vector<Output>& fetches) {
  NABLA_ASSIGN_OR_RETURN(Graph graph, builder.Build());
  NABLA_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(graph)));
  std::vector<std::pair<NodeOutput, Tensor>> feed_refs;
  for (const auto& [output, value] : feeds) feed_refs.emplace_back(output, value);
  std::vector<NodeOutput> fetch_refs(fetches.begin(), fetches.end());
  return session->Run(feed_refs, fetch_refs);
}

void CheckGradients(const BuildFn& build, const std::vector<Tensor>& inputs,
                    const std::vector<int>& wrt, GradCheckOptions options) {
  GraphBuilder b;
  std::vector<Output> placeholders;
  for (size_t i = 0; i < inputs.size(); ++i) {
    placeholders.push_back(b.Placeholder(absl::StrCat("input", i),
                                         inputs[i].shape(), inputs[i].dtype()));
  }
  Output y = build(b, placeholders);
  ASSERT_TRUE(b.ok()) << b.status();
  Tensor weights = RandomTensor(y.shape(), options.seed, 0.5f, 1.5f);
  Output loss = Sum(Mul(y, b.Constant(weights, "check_weights")));
  std::vector<Output> wrt_outputs;
  for (int i : wrt) wrt_outputs.push_back(placeholders[i]);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads,
                             Gradients(loss, wrt_outputs));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));

  std::vector<FeedSpec> feed_specs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    feed_specs.push_back(FeedSpec{placeholders[i], inputs[i].shape()});
  }
  std::vector<NodeOutput> fetches = {loss};
  for (const Output& g : grads) fetches.push_back(g);
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * plan, session->Compile(feed_specs, fetches));

  std::vector<Tensor> feeds;
  for (const Tensor& t : inputs) feeds.push_back(t.Clone());
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(plan->Run(feeds, &out));
  // Clones: the runs below copy their fetches into `out`'s buffers, which
  // plain copies of these tensors would share.
  std::vector<Tensor> analytic;
  for (size_t k = 1; k < out.size(); ++k) analytic.push_back(out[k].Clone());

  for (size_t k = 0; k < wrt.size(); ++k) {
    Tensor& x = feeds[wrt[k]];
    ASSERT_EQ(x.dtype(), DType::kF32);
    ASSERT_EQ(analytic[k].shape(), x.shape())
        << "gradient of input " << wrt[k];
    int reported = 0;
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      float original = x.data<float>()[i];
      x.data<float>()[i] = original + static_cast<float>(options.step);
      NABLA_ASSERT_OK(plan->Run(feeds, &out));
      double plus = out[0].data<float>()[0];
      x.data<float>()[i] = original - static_cast<float>(options.step);
      NABLA_ASSERT_OK(plan->Run(feeds, &out));
      double minus = out[0].data<float>()[0];
      x.data<float>()[i] = original;
      double numeric = (plus - minus) / (2 * options.step);
      double got = analytic[k].data<float>()[i];
      double tolerance = options.atol + options.rtol * std::abs(numeric);
      if (!(std::abs(got - numeric) <= tolerance) && reported++ < 10) {
        ADD_FAILURE() << "d/d input" << wrt[k] << "[" << i << "]: autodiff "
                      << got << ", finite difference " << numeric;
      }
    }
  }
}

}  // namespace testing
}  // namespace nabla
