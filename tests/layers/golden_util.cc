// Reads tests/layers/golden/*.golden.

#include "tests/layers/golden_util.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace nabla {
namespace testing {

std::vector<int64_t> GoldenCase::ints(const std::string& key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? std::vector<int64_t>() : it->second;
}

int64_t GoldenCase::get(const std::string& key) const {
  std::vector<int64_t> v = ints(key);
  if (v.empty()) {
    ADD_FAILURE() << name << ": no attr " << key;
    return 0;
  }
  return v[0];
}

const Tensor& GoldenCase::tensor(const std::string& key) const {
  static const Tensor* const kEmpty = new Tensor();
  auto it = tensors.find(key);
  if (it == tensors.end()) {
    ADD_FAILURE() << name << ": no tensor " << key;
    return *kEmpty;
  }
  return it->second;
}

absl::StatusOr<std::vector<GoldenCase>> ReadGoldens(absl::string_view family) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::string path = absl::StrCat(srcdir ? srcdir : ".", "/",
                                  workspace ? workspace : "nabla",
                                  "/tests/layers/golden/", family, ".golden");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<GoldenCase> cases;
  std::string line;
  int line_number = 0;
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat(path, ":", line_number, ": ", what));
  };
  while (std::getline(in, line)) {
    ++line_number;
    std::istringstream words(line);
    std::string word;
    if (!(words >> word) || word[0] == '#') continue;
    if (word == "case") {
      cases.emplace_back();
      words >> cases.back().name;
      continue;
    }
    if (cases.empty()) return bad("a line before the first case");
    GoldenCase& c = cases.back();
    if (word == "end") continue;
    std::string key;
    if (!(words >> key)) return bad("a line without a name");
    std::vector<int64_t> ints;
    for (int64_t v; words >> v;) ints.push_back(v);
    if (word == "attr") {
      c.attrs[key] = ints;
    } else if (word == "tensor") {
      Tensor t(DType::kF32, Shape(absl::MakeConstSpan(ints)));
      if (!std::getline(in, line)) return bad("a tensor without values");
      ++line_number;
      std::istringstream values(line);
      float* data = t.data<float>();
      const int64_t n = t.shape().NumElements();
      for (int64_t i = 0; i < n; ++i) {
        if (!(values >> data[i])) return bad("too few values");
      }
      c.tensors[key] = std::move(t);
    } else {
      return bad(absl::StrCat("unknown line ", word));
    }
  }
  if (cases.empty()) return bad("no cases");
  return cases;
}

}  // namespace testing
}  // namespace nabla
