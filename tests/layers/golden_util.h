// Reads the PyTorch golden files of tests/layers/golden, which
// make_goldens.py writes (the format is in its docstring).
//
//   NABLA_ASSERT_OK_AND_ASSIGN(std::vector<GoldenCase> cases,
//                              ReadGoldens("pool"));
//   const Tensor& x = cases[0].tensor("x");

#ifndef NABLA_TESTS_LAYERS_GOLDEN_UTIL_H_
#define NABLA_TESTS_LAYERS_GOLDEN_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace nabla {
namespace testing {

// GoldenCase: one case of a golden file.
struct GoldenCase {
  std::string name;
  std::map<std::string, std::vector<int64_t>> attrs;
  std::map<std::string, Tensor> tensors;

  // The attribute's ints (empty if absent), its first int, and a tensor
  // (an empty one, after a test failure, if absent).
  std::vector<int64_t> ints(const std::string& key) const;
  int64_t get(const std::string& key) const;
  const Tensor& tensor(const std::string& key) const;
};

// ReadGoldens reads tests/layers/golden/<family>.golden from the test's
// runfiles.
absl::StatusOr<std::vector<GoldenCase>> ReadGoldens(absl::string_view family);

}  // namespace testing
}  // namespace nabla

#endif  // NABLA_TESTS_LAYERS_GOLDEN_UTIL_H_
