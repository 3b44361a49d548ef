// Shared helpers for nabla's tests: Status matchers, random tensors, running
// a graph, and the finite-difference gradient check every op uses.

#ifndef NABLA_TESTS_TEST_UTIL_H_
#define NABLA_TESTS_TEST_UTIL_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/status.h"
#include "core/tensor.h"
#include "gmock/gmock.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "gtest/gtest.h"

namespace nabla {
namespace testing {

#define NABLA_EXPECT_OK(expr) EXPECT_TRUE((expr).ok()) << (expr)
#define NABLA_ASSERT_OK(expr)                       \
  do {                                              \
    const ::absl::Status nabla_s_ = (expr);         \
    ASSERT_TRUE(nabla_s_.ok()) << nabla_s_;         \
  } while (false)

// Unwraps a StatusOr in a test, failing the test if it holds an error.
#define NABLA_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                      \
  NABLA_ASSERT_OK_AND_ASSIGN_IMPL_(                                 \
      NABLA_STATUS_CONCAT_(nabla_test_statusor_, __LINE__), lhs, rexpr)
#define NABLA_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                     \
  ASSERT_TRUE(statusor.ok()) << statusor.status();             \
  lhs = std::move(statusor).value()

namespace internal {
inline absl::Status GetStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace internal

// StatusIs(code, substring_matcher) matches an absl::Status or StatusOr.
MATCHER_P2(StatusIs, code, message_matcher, "") {
  absl::Status status = ::nabla::testing::internal::GetStatus(arg);
  if (status.code() != code) {
    *result_listener << "has code " << absl::StatusCodeToString(status.code())
                     << ": " << status.message();
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher,
                                       std::string(status.message()),
                                       result_listener);
}

// A fresh directory for the current test under TEST_TMPDIR, named after the
// test, so that tests never see each other's files.
std::string TestDir();

// The names in folder `dir` but "." and "..", in no particular order; empty
// if it cannot be read.
std::vector<std::string> ListDir(const std::string& dir);

// A tensor of uniform random values in [lo, hi), reproducible from `seed`.
Tensor RandomTensor(const Shape& shape, uint64_t seed, float lo = -1.0f,
                    float hi = 1.0f);

// The tensor's elements as doubles.
std::vector<double> ToDoubles(const Tensor& t);

// Expects `actual` to have `shape` and elements within
// atol + rtol * |expected| of `expected`.
void ExpectTensorNear(const Tensor& actual, const Shape& shape,
                      const std::vector<double>& expected, double atol = 1e-5,
                      double rtol = 1e-5);

// Builds nothing; compiles and runs `fetches` of the builder's graph once.
absl::StatusOr<std::vector<Tensor>> RunOnce(
    const GraphBuilder& builder,
    const std::vector<std::pair<Output, Tensor>>& feeds,
    const std::vector<Output>& fetches);

struct GradCheckOptions {
  // Central differences (f(x+h) - f(x-h)) / 2h in f32 arithmetic: h trades
  // truncation error (~h^2) against rounding error (~1e-7 |f| / h).
  double step = 1e-2;
  double atol = 2e-3;
  double rtol = 2e-2;
  uint64_t seed = 7;
};

// A function of placeholders: given one placeholder per input tensor,
// builds the value to check.
using BuildFn =
    std::function<Output(GraphBuilder& b, const std::vector<Output>& inputs)>;

// Checks the gradient of `build` with respect to each input listed in
// `wrt` against central finite differences. The value built can have any
// shape: it is reduced to the scalar sum(y * r) for a fixed random r, so
// every output element takes part.
void CheckGradients(const BuildFn& build, const std::vector<Tensor>& inputs,
                    const std::vector<int>& wrt, GradCheckOptions options = {});

}  // namespace testing
}  // namespace nabla

#endif  // NABLA_TESTS_TEST_UTIL_H_
