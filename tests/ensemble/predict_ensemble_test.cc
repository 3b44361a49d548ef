// `nabla predict --model=DIR1,DIR2` and `nabla evaluate --model=DIR1,DIR2`:
// the built binary (data dependency //tools:nabla) asks an ensemble of the
// shipped lecture model and copies with other weights; its probabilities
// are the mean of each model's, and evaluate scores them on the MNIST test
// set.

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file.h"
#include "gtest/gtest.h"
#include "infer/ensemble.h"
#include "infer/saved_model.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/idx.h"

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

// The shipped model with each of its last layer's weights multiplied by
// scale(i), saved as folder `dir`.
template <typename Scale>
std::string ScaledModel(const std::string& shipped, const std::string& dir, Scale scale) {
  ::mkdir(dir.c_str(), 0755);
  absl::StatusOr<SavedModel> model = LoadSavedModel(shipped);
  EXPECT_TRUE(model.ok()) << model.status();
  const Tensor* w = model->session->variables().Find("dense2/w");
  EXPECT_NE(w, nullptr);
  int64_t i = 0;
  for (float& x : w->flat<float>()) x *= scale(i++);
  absl::StatusOr<std::string> graph = ReadFile(shipped + "/model.pbtxt");
  EXPECT_TRUE(graph.ok()) << graph.status();
  EXPECT_TRUE(WriteFileAtomically(dir + "/model.pbtxt", *graph).ok());
  EXPECT_TRUE(SaveCheckpoint(*model->session, model->info, dir + "/checkpoint.ckpt").ok());
  return dir;
}

// The shipped model with its last layer's weights halved (so less
// confident, mostly the same answers).
std::string SofterModel(const std::string& shipped, const std::string& dir) {
  return ScaledModel(shipped, dir, [](int64_t) { return 0.5f; });
}

// The shipped model with its last layer's weights scrambled (a worse
// classifier, with answers of its own).
std::string WorseModel(const std::string& shipped, const std::string& dir, float amount) {
  return ScaledModel(shipped, dir, [amount](int64_t i) {
    return 1.0f + amount * static_cast<float>(std::sin(12.9898 * static_cast<double>(i)));
  });
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

// How many test images each model of `dirs` alone, and the mean of their
// probabilities, classify right: counted here from each model's own
// probabilities.
struct Counts {
  std::vector<int64_t> models;
  int64_t mean = 0;
};
Counts CountRight(const std::vector<std::string>& dirs, const MnistData& test) {
  Counts counts;
  const int64_t n = test.labels.num_elements();
  std::vector<double> sums(n * 10, 0.0);
  for (const std::string& dir : dirs) {
    absl::StatusOr<std::unique_ptr<Ensemble>> one = Ensemble::Load({dir});
    EXPECT_TRUE(one.ok()) << one.status();
    if (!one.ok()) return counts;
    absl::StatusOr<Tensor> p = (*one)->Predict(test.images);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return counts;
    int64_t right = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float* row = p->data<float>() + i * 10;
      right += std::max_element(row, row + 10) - row == test.labels.data<int32_t>()[i];
      for (int k = 0; k < 10; ++k) sums[i * 10 + k] += row[k];
    }
    counts.models.push_back(right);
  }
  for (int64_t i = 0; i < n; ++i) {
    const double* row = sums.data() + i * 10;
    counts.mean += std::max_element(row, row + 10) - row == test.labels.data<int32_t>()[i];
  }
  return counts;
}

TEST(EvaluateEnsemble, ScoresTheEnsembleAndEachModel) {
  const std::string dir = TestDir();
  absl::StatusOr<std::string> shipped = ShippedModelDir();
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  const std::string worse = WorseModel(*shipped, dir + "/worse", 0.9f);
  const std::string worst = WorseModel(*shipped, dir + "/worst", 1.5f);
  const std::string data_dir = absl::StrCat(std::getenv("PWD"), "/data/mnist");
  IdxOptions idx;
  idx.images_as_float = false;
  absl::StatusOr<MnistData> test = LoadMnist(data_dir, "t10k", idx);
  ASSERT_TRUE(test.ok()) << test.status();
  const Counts expected = CountRight({*shipped, worse, worst}, *test);
  ASSERT_EQ(expected.models.size(), 3u);
  // The shipped model's published accuracy; the others differ from it and
  // from the ensemble, so a score given to the wrong model would show.
  EXPECT_EQ(expected.models[0], 9917);
  EXPECT_LT(expected.models[1], expected.models[0]);
  EXPECT_LT(expected.models[2], expected.models[1]);
  EXPECT_NE(expected.mean, expected.models[0]);
  EXPECT_NE(expected.mean, expected.models[1]);

  const std::string models = *shipped + "," + worse + "," + worst;
  Result json = Nabla({"evaluate", "--json", "--threads=1", "--model=" + models,
                       "--data_dir=" + data_dir}, dir);
  ASSERT_EQ(json.code, 0) << json.err;
  nlohmann::json doc = nlohmann::json::parse(json.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << json.out;
  EXPECT_EQ(doc["data_dir"], data_dir);
  EXPECT_EQ(doc["examples"], 10000);
  ASSERT_EQ(doc["models"].size(), 3u);
  const std::vector<std::string> dirs = {*shipped, worse, worst};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(doc["models"][i]["model"], dirs[i]);
    EXPECT_EQ(doc["models"][i]["correct"], expected.models[i]) << i;
    EXPECT_EQ(doc["models"][i]["wrong"], 10000 - expected.models[i]) << i;
    EXPECT_DOUBLE_EQ(doc["models"][i]["accuracy"].get<double>(),
                     expected.models[i] / 10000.0) << i;
  }
  EXPECT_EQ(doc["ensemble"]["correct"], expected.mean);

  Result text = Nabla({"evaluate", "--threads=1", "--model=" + models,
                       "--data_dir=" + data_dir}, dir);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("test set of " + data_dir + ": 10000 images\n"));
  EXPECT_THAT(text.out, HasSubstr(*shipped + ": 99.17% (83 of 10000 wrong)\n"));
  EXPECT_THAT(text.out, HasSubstr(absl::StrFormat("ensemble of 3: %.2f%% (%d of 10000 wrong)\n",
                                                  expected.mean / 100.0,
                                                  10000 - expected.mean)));

  // One model: its score and no ensemble line.
  Result single = Nabla({"evaluate", "--threads=1", "--model=" + worse,
                         "--data_dir=" + data_dir}, dir);
  ASSERT_EQ(single.code, 0) << single.err;
  EXPECT_THAT(single.out, HasSubstr(worse + ": "));
  EXPECT_THAT(single.out, ::testing::Not(HasSubstr("ensemble of")));
}

TEST(EvaluateEnsemble, ErrorsNameTheFolder) {
  const std::string dir = TestDir();
  absl::StatusOr<std::string> shipped = ShippedModelDir();
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  Result no_data = Nabla({"evaluate", "--model=" + *shipped, "--data_dir=" + dir}, dir);
  EXPECT_EQ(no_data.code, 1);
  EXPECT_THAT(no_data.err, HasSubstr(dir + "/t10k-images-idx3-ubyte"));

  Result missing = Nabla({"evaluate", "--model=" + *shipped + "," + dir + "/nothing"}, dir);
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr(dir + "/nothing"));

  Result empty = Nabla({"evaluate", "--model=," + *shipped}, dir);
  EXPECT_EQ(empty.code, 2);
  EXPECT_THAT(empty.err, HasSubstr("names an empty folder"));

  Result extra = Nabla({"evaluate", "image.png"}, dir);
  EXPECT_EQ(extra.code, 2);

  // A bare graph would be scored with its initial weights, alone or in a
  // list: refused, as predict refuses it.
  const std::string bare_graph = *shipped + "/model.pbtxt";
  for (const std::string& models : {bare_graph, *shipped + "," + bare_graph}) {
    Result bare = Nabla({"evaluate", "--model=" + models}, dir);
    EXPECT_EQ(bare.code, 1) << models;
    EXPECT_THAT(bare.err, HasSubstr("'" + bare_graph + "' is a bare graph without a checkpoint"))
        << models;
  }
}

}  // namespace
}  // namespace nabla
