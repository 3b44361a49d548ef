#include "tests/train_extras/golden_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nabla {
namespace testing {

absl::StatusOr<GoldenCases> ReadTrainExtrasGolden() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string path =
      absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "nabla",
                   "/tests/train_extras/train_extras.golden");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  GoldenCases cases;
  std::string current;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    auto bad = [&] {
      return absl::DataLossError(
          absl::StrCat(path, ":", number, ": cannot parse '", line, "'"));
    };
    if (words[0] == "case") {
      if (words.size() != 2) return bad();
      current = words[1];
      cases[current];
      continue;
    }
    int count = 0;
    if (current.empty() || words.size() < 2 ||
        !absl::SimpleAtoi(words[1], &count) ||
        count != static_cast<int>(words.size()) - 2) {
      return bad();
    }
    std::vector<double>& values = cases[current][words[0]];
    for (size_t i = 2; i < words.size(); ++i) {
      double v;
      if (!absl::SimpleAtod(words[i], &v)) return bad();
      values.push_back(v);
    }
  }
  return cases;
}

}  // namespace testing
}  // namespace nabla
