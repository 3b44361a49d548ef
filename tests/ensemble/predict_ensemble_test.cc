// `nabla predict --model=DIR1,DIR2`: the built binary (data dependency
// //tools:nabla) asks an ensemble of the shipped lecture model and a copy
// with other weights; its probabilities are the mean of each model's.

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "gtest/gtest.h"
#include "infer/saved_model.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"
#include "train/checkpoint.h"

namespace nabla {
namespace {

using ::nabla::testing::TestDir;
using ::testing::HasSubstr;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string ShellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs `tools/nabla args...` from the runfiles, in `dir`.
Result Nabla(const std::vector<std::string>& args, const std::string& dir) {
  static int run = 0;
  const std::string out = absl::StrCat(dir, "/stdout.", run, ".txt");
  const std::string err = absl::StrCat(dir, "/stderr.", run++, ".txt");
  std::string command = absl::StrCat("cd ", ShellQuote(dir), " && ",
                                     ShellQuote(absl::StrCat(std::getenv("PWD"), "/tools/nabla")));
  for (const std::string& arg : args) absl::StrAppend(&command, " ", ShellQuote(arg));
  absl::StrAppend(&command, " >", ShellQuote(out), " 2>", ShellQuote(err));
  const int status = std::system(command.c_str());
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadAll(out);
  result.err = ReadAll(err);
  return result;
}

// The shipped model with its last layer's weights halved (so less
// confident), saved as folder `dir`.
std::string SofterModel(const std::string& shipped, const std::string& dir) {
  ::mkdir(dir.c_str(), 0755);
  absl::StatusOr<SavedModel> model = LoadSavedModel(shipped);
  EXPECT_TRUE(model.ok()) << model.status();
  const Tensor* w = model->session->variables().Find("dense2/w");
  EXPECT_NE(w, nullptr);
  for (float& x : w->flat<float>()) x *= 0.5f;
  absl::StatusOr<std::string> graph = ReadFile(shipped + "/model.pbtxt");
  EXPECT_TRUE(graph.ok()) << graph.status();
  EXPECT_TRUE(WriteFileAtomically(dir + "/model.pbtxt", *graph).ok());
  EXPECT_TRUE(SaveCheckpoint(*model->session, model->info, dir + "/checkpoint.ckpt").ok());
  return dir;
}

std::vector<std::string> SampleDigits() {
  const std::string root = absl::StrCat(std::getenv("PWD"), "/data/digits/");
  return {root + "0000_0.jpg", root + "0004_4.pgm", root + "0006_6.png",
          root + "0009_9.jpg"};
}

// The probabilities of each image, from `nabla predict --json`.
std::vector<std::vector<double>> Probabilities(const std::string& models,
                                               const std::string& dir,
                                               std::string* model_field = nullptr) {
  std::vector<std::string> args = {"predict", "--json", "--threads=1", "--model=" + models};
  for (const std::string& file : SampleDigits()) args.push_back(file);
  Result r = Nabla(args, dir);
  EXPECT_EQ(r.code, 0) << r.err;
  nlohmann::json doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << r.out;
  std::vector<std::vector<double>> result;
  if (doc.is_discarded()) return result;
  if (model_field != nullptr) *model_field = doc["model"].get<std::string>();
  for (const nlohmann::json& p : doc["predictions"]) {
    result.push_back(p["probabilities"].get<std::vector<double>>());
  }
  return result;
}

TEST(PredictEnsemble, AveragesTheModelsProbabilities) {
  const std::string dir = TestDir();
  absl::StatusOr<std::string> shipped = ShippedModelDir();
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  const std::string softer = SofterModel(*shipped, dir + "/softer");

  const auto a = Probabilities(*shipped, dir);
  const auto b = Probabilities(softer, dir);
  std::string model_field;
  const auto both = Probabilities(*shipped + "," + softer, dir, &model_field);
  EXPECT_EQ(model_field, *shipped + "," + softer);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  ASSERT_EQ(both.size(), 4u);
  EXPECT_NE(a, b);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(both[i].size(), 10u);
    for (size_t k = 0; k < 10; ++k) {
      EXPECT_NEAR(both[i][k], (a[i][k] + b[i][k]) / 2, 1e-6) << i << ", " << k;
    }
  }
}

TEST(PredictEnsemble, ErrorsNameTheModel) {
  const std::string dir = TestDir();
  absl::StatusOr<std::string> shipped = ShippedModelDir();
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  const std::vector<std::string> images = SampleDigits();

  Result missing = Nabla({"predict", "--model=" + *shipped + "," + dir + "/nothing", images[0]}, dir);
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr(dir + "/nothing"));

  Result empty = Nabla({"predict", "--model=" + *shipped + ",", images[0]}, dir);
  EXPECT_EQ(empty.code, 2);
  EXPECT_THAT(empty.err, HasSubstr("names an empty folder"));

  Result bare = Nabla(
      {"predict", "--model=" + *shipped + "," + *shipped + "/model.pbtxt", images[0]}, dir);
  EXPECT_EQ(bare.code, 1);
  EXPECT_THAT(bare.err, HasSubstr("is a bare graph without a checkpoint"));
}

}  // namespace
}  // namespace nabla
