// `nabla export-onnx`, run as a user runs it: the built binary on the
// shipped lecture model. The file it writes is the library's export,
// byte for byte, and passes ONNX's checker; bad usage exits 2, an
// unexportable output 1 with the op and node named.

#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "export/onnx.h"
#include "core/file.h"
#include "infer/saved_model.h"
#include "tests/onnx/onnx_runtime.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckOnnxModel;
using ::nabla::testing::TestDir;
using ::testing::HasSubstr;

std::string NablaBinary() {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") +
         "/tools/nabla";
}

// Runs `nabla ARGS`, returns its exit code and leaves its output in *output.
int RunNabla(const std::string& args, std::string* output) {
  const std::string log = TestDir() + "/nabla.log";
  int status = std::system((NablaBinary() + " " + args + " >" + log + " 2>&1").c_str());
  absl::StatusOr<std::string> text = ReadFile(log);
  *output = text.ok() ? *text : "";
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ExportOnnxCommandTest, WritesTheLibrarysExportOfTheShippedModel) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string dir, ShippedModelDir());
  const std::string out = TestDir() + "/lecture.onnx";
  std::string output;
  ASSERT_EQ(RunNabla("export-onnx --model=" + dir + " " + out, &output), 0) << output;
  EXPECT_THAT(output, HasSubstr("inputs:  images UINT8[N,1,28,28]"));
  EXPECT_THAT(output, HasSubstr("outputs: probabilities FLOAT[N,10]"));
  NABLA_ASSERT_OK(CheckOnnxModel(out));

  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel model, LoadSavedModel(dir));
  NABLA_ASSERT_OK_AND_ASSIGN(onnx::ModelProto expected, ExportOnnx(*model.session));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string written, ReadFile(out));
  EXPECT_TRUE(written == expected.SerializeAsString());
}

TEST(ExportOnnxCommandTest, FetchAndOpset) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string dir, ShippedModelDir());
  const std::string out = TestDir() + "/logits.onnx";
  std::string output;
  ASSERT_EQ(RunNabla("export-onnx --model=" + dir +
                         " --output=dense2 --output=probabilities --opset=17 " + out,
                     &output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("ONNX opset 17"));
  EXPECT_THAT(output, HasSubstr("outputs: dense2 FLOAT[N,10], probabilities FLOAT[N,10]"));
  NABLA_ASSERT_OK(CheckOnnxModel(out));
}

TEST(ExportOnnxCommandTest, Errors) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string dir, ShippedModelDir());
  const std::string out = TestDir() + "/bad.onnx";
  std::string output;
  EXPECT_EQ(RunNabla("export-onnx --model=" + dir, &output), 2) << output;
  EXPECT_EQ(RunNabla("export-onnx --opset=9 --model=" + dir + " " + out, &output), 2)
      << output;
  EXPECT_THAT(output, HasSubstr("--opset"));
  EXPECT_EQ(RunNabla("export-onnx --output=loss --model=" + dir + " " + out, &output), 1)
      << output;
  EXPECT_THAT(output, HasSubstr("SoftmaxCrossEntropy node 'loss'"));
  EXPECT_EQ(RunNabla("export-onnx --output=nope --model=" + dir + " " + out, &output), 1)
      << output;
  EXPECT_THAT(output, HasSubstr("nope"));
  EXPECT_FALSE(ReadFile(out).ok());  // nothing written on error
}

}  // namespace
}  // namespace nabla
