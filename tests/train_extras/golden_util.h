// Reads train_extras.golden, the PyTorch references written by
// make_goldens.py: cases of named lists of doubles.
//
//   NABLA_ASSERT_OK_AND_ASSIGN(GoldenCases cases, ReadTrainExtrasGolden());
//   const std::vector<double>& lrs = cases.at("one_cycle_default").at("lr");

#ifndef NABLA_TESTS_TRAIN_EXTRAS_GOLDEN_UTIL_H_
#define NABLA_TESTS_TRAIN_EXTRAS_GOLDEN_UTIL_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nabla {
namespace testing {

// GoldenCases maps a case name to its lists by key.
using GoldenCases =
    std::map<std::string, std::map<std::string, std::vector<double>>>;

// ReadTrainExtrasGolden parses tests/train_extras/train_extras.golden from
// the test's runfiles; DataLoss names the line that does not parse.
absl::StatusOr<GoldenCases> ReadTrainExtrasGolden();

}  // namespace testing
}  // namespace nabla

#endif  // NABLA_TESTS_TRAIN_EXTRAS_GOLDEN_UTIL_H_
