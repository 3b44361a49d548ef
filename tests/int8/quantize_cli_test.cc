// `nabla quantize` end to end: the built binary on the shipped model and the
// MNIST files, its output folder used by `nabla predict`, and its usage
// errors.

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

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

// Runs bazel-bin/tools/nabla with `args` (none of which needs quoting).
Result Nabla(const std::string& args) {
  static int run = 0;
  const std::string out = absl::StrCat(TestDir(), "/stdout.", run, ".txt");
  const std::string err = absl::StrCat(TestDir(), "/stderr.", run++, ".txt");
  const std::string command = absl::StrCat(std::getenv("PWD"), "/tools/nabla ",
                                           args, " >", out, " 2>", err);
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadAll(out), ReadAll(err)};
}

std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("PWD"), "/", path);
}

TEST(QuantizeCommandTest, SavesAnInt8ModelThatPredictAndAccuracyAgreeWith) {
  const std::string out = TestDir() + "/lecture_int8";
  Result r = Nabla(absl::StrCat("quantize --data_dir=", Runfile("data/mnist"),
                                " --out=", out, " --calibration_images=256"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(calibrated on 256 images)"));
  EXPECT_THAT(r.out,
              HasSubstr("int8 nodes: conv1, pool1, conv2, pool2, dense1, dense2\n"));
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      r.out, match,
      std::regex(R"(test accuracy \(10000 images\): f32 ([0-9.]+)%, int8 ([0-9.]+)%)")))
      << r.out;
  double f32 = 0, int8 = 0;
  ASSERT_TRUE(absl::SimpleAtod(match[1].str(), &f32));
  ASSERT_TRUE(absl::SimpleAtod(match[2].str(), &int8));
  EXPECT_GT(f32, 98.5);
  EXPECT_NEAR(int8, f32, 0.3);

  // The int8 model recognises the shipped photos as the f32 model does.
  const std::string photos = absl::StrCat(Runfile("data/digits/0007_7.png"), " ",
                                          Runfile("data/digits/0003_3.jpg"), " ",
                                          Runfile("data/digits/0004_4.pgm"));
  Result int8_predict = Nabla(absl::StrCat("predict --model=", out, " ", photos));
  Result f32_predict = Nabla(absl::StrCat("predict ", photos));
  ASSERT_EQ(int8_predict.code, 0) << int8_predict.err;
  ASSERT_EQ(f32_predict.code, 0) << f32_predict.err;
  for (const char* line : {"0007_7.png: 7 (", "0003_3.jpg: 3 (", "0004_4.pgm: 4 ("}) {
    EXPECT_THAT(int8_predict.out, HasSubstr(line));
    EXPECT_THAT(f32_predict.out, HasSubstr(line));
  }
}

TEST(QuantizeCommandTest, TheInt8ModelExportsToOnnx) {
  const std::string out = TestDir() + "/lecture_int8";
  ASSERT_EQ(Nabla(absl::StrCat("quantize --data_dir=", Runfile("data/mnist"),
                               " --out=", out, " --calibration_images=64"))
                .code,
            0);
  const std::string onnx = TestDir() + "/lecture_int8.onnx";
  Result r = Nabla(absl::StrCat("export-onnx --model=", out, " ", onnx));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("inputs:  images UINT8[N,1,28,28]"));
  EXPECT_THAT(r.out, HasSubstr("outputs: probabilities FLOAT[N,10]"));
  const std::string int8_bytes = ReadAll(onnx);
  EXPECT_THAT(int8_bytes, HasSubstr("DequantizeLinear"));
  // Only the int8 weights travel, not the f32 ones they were made from
  // too: under a third of the f32 export's 4.3 MB.
  const std::string f32_onnx = TestDir() + "/lecture.onnx";
  ASSERT_EQ(Nabla(absl::StrCat("export-onnx --model=",
                               Runfile("data/models/lecture"), " ", f32_onnx))
                .code,
            0);
  const std::string f32_bytes = ReadAll(f32_onnx);
  EXPECT_GT(f32_bytes.size(), 4000000u);
  EXPECT_LT(int8_bytes.size(), f32_bytes.size() / 3)
      << int8_bytes.size() << " bytes int8, " << f32_bytes.size() << " f32";
}

TEST(QuantizeCommandTest, UsageAndInputErrors) {
  Result no_out = Nabla("quantize");
  EXPECT_EQ(no_out.code, 2);
  EXPECT_THAT(no_out.err, HasSubstr("--out=DIR is required"));
  Result zero = Nabla(absl::StrCat("quantize --out=", TestDir(), "/q --calibration_images=0"));
  EXPECT_EQ(zero.code, 2);
  EXPECT_THAT(zero.err, HasSubstr("--calibration_images must be positive, got 0"));
  Result no_data = Nabla(absl::StrCat("quantize --out=", TestDir(),
                                      "/q --data_dir=/no/such/mnist"));
  EXPECT_EQ(no_data.code, 1);
  EXPECT_THAT(no_data.err, HasSubstr("/no/such/mnist"));
}

}  // namespace
}  // namespace nabla
