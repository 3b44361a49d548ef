// The int8 lecture model exported to ONNX (QDQ form, export/onnx.cc) and
// run by ONNX Runtime (onnxruntime-node, see tests/onnx) agrees with nabla's
// int8 model on the MNIST test digits.

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "export/onnx.h"
#include "gtest/gtest.h"
#include "infer/quantize.h"
#include "infer/saved_model.h"
#include "tests/onnx/onnx_runtime.h"
#include "ops/quantized.h"
#include "tests/test_util.h"
#include "train/idx.h"

namespace nabla {
namespace {

TEST(QuantizedOnnxTest, OnnxRuntimeAgreesWithTheInt8LectureModel) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string dir, ShippedModelDir());
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel model, LoadSavedModel(dir));
  IdxOptions pixels;
  pixels.images_as_float = false;
  NABLA_ASSERT_OK_AND_ASSIGN(MnistData train, LoadMnist("data/mnist", "train", pixels));
  NABLA_ASSERT_OK_AND_ASSIGN(MnistData test, LoadMnist("data/mnist", "t10k", pixels));
  NABLA_ASSERT_OK_AND_ASSIGN(QuantizedGraph q, QuantizeModel(model, train.images));
  const std::string out = testing::TestDir() + "/lecture_int8";
  NABLA_ASSERT_OK(SaveQuantizedModel(q, model, out));
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel int8, LoadSavedModel(out));

  NABLA_ASSERT_OK_AND_ASSIGN(onnx::ModelProto exported, ExportOnnx(*int8.session));
  int qdq = 0;
  for (const onnx::NodeProto& node : exported.graph().node()) {
    qdq += node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear";
  }
  EXPECT_GE(qdq, 10);  // weights and inputs of 4 layers, outputs of 3

  const std::string path = testing::TestDir() + "/lecture_int8.onnx";
  NABLA_ASSERT_OK(ExportOnnxFile(*int8.session, path));
  NABLA_ASSERT_OK(testing::CheckOnnxModel(path));  // ONNX's full checker
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ort,
                             testing::RunOnnxRuntime(path, {{"images", test.images}}));
  ASSERT_EQ(ort.size(), 1u);
  const int64_t n = test.images.shape()[0];
  ASSERT_EQ(ort[0].shape(), Shape({n, 10}));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput images, int8.session->graph().FindOutput("images"));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput probabilities,
                             int8.session->graph().FindOutput("probabilities"));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ours,
                             int8.session->Run({{images, test.images}}, {probabilities}));
  const float* a = ours[0].data<float>();
  const float* o = ort[0].data<float>();
  double worst = 0;
  int64_t agree = 0, ort_correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int ours_class = 0, ort_class = 0;
    for (int c = 0; c < 10; ++c) {
      worst = std::max(worst, std::abs(double{a[i * 10 + c]} - o[i * 10 + c]));
      if (a[i * 10 + c] > a[i * 10 + ours_class]) ours_class = c;
      if (o[i * 10 + c] > o[i * 10 + ort_class]) ort_class = c;
    }
    agree += ours_class == ort_class;
    ort_correct += ort_class == test.labels.data<int32_t>()[i];
  }
  std::printf("int8 lecture model, ONNX Runtime vs nabla on %lld test images: "
              "largest |dp| %.4g, classes agree on %lld, ONNX Runtime accuracy %.4f\n",
              static_cast<long long>(n), worst, static_cast<long long>(agree),
              static_cast<double>(ort_correct) / n);
  // Rounding at a u8 tie may differ by one unit between the two runtimes;
  // predictions may not. The exported weights are in [-127, 127]; on a CPU
  // without VNNI nabla's kernels use [-63, 63] (Int8WeightLimit), which
  // moves a probability by up to 0.065 (measured on an AVX2 EPYC).
  EXPECT_GE(agree, n - 3);
  EXPECT_LE(worst, Int8WeightLimit() == 127 ? 0.05 : 0.1);
  EXPECT_GT(static_cast<double>(ort_correct) / n, 0.985);
}

}  // namespace
}  // namespace nabla
