// QuantizedConv2D and QuantizedDense against PyTorch 1.13's int8
// convolution and linear (its oneDNN engine), from the files
// tests/int8/make_int8_goldens.py writes.

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "graph/builder.h"
#include "io/npy.h"
#include "ops/ops.h"
#include "ops/quantized.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

Tensor Golden(const std::string& name) {
  absl::StatusOr<Tensor> t = ReadNpy("tests/int8/golden/" + name + ".npy");
  EXPECT_TRUE(t.ok()) << t.status();
  return t.value_or(Tensor());
}

// u8 outputs within one unit of PyTorch's (the two may round a tie, or a
// weight at a tie, differently) and nearly all equal, where the kernels
// quantize weights to [-127, 127] as PyTorch does. Without VNNI they use
// [-63, 63] (Int8WeightLimit), so each weight is off by up to a quarter of
// PyTorch's step more than it would be: outputs are then within 2 units
// (measured on an AVX2 EPYC: 1152 of 1182 within one, 982 equal).
void ExpectMatchesTorch(const Tensor& ours, const Tensor& torch) {
  ASSERT_EQ(ours.dtype(), DType::kU8);
  ASSERT_EQ(ours.shape(), torch.shape());
  const bool torch_weights = Int8WeightLimit() == 127;
  int exact = 0, within_one = 0, nonzero = 0;
  for (int64_t i = 0; i < ours.num_elements(); ++i) {
    const int a = ours.data<uint8_t>()[i], b = torch.data<uint8_t>()[i];
    ASSERT_LE(std::abs(a - b), torch_weights ? 1 : 2) << "element " << i;
    exact += a == b;
    within_one += std::abs(a - b) <= 1;
    nonzero += b != 0;
  }
  std::printf("%lld outputs: %d equal to PyTorch's, %d within one unit (weights in [-%d, %d])\n",
              static_cast<long long>(ours.num_elements()), exact, within_one,
              Int8WeightLimit(), Int8WeightLimit());
  if (torch_weights) {
    EXPECT_GE(exact, 0.97 * ours.num_elements());
  } else {
    EXPECT_GE(within_one, 0.9 * ours.num_elements());
  }
  EXPECT_GE(nonzero, ours.num_elements() / 4);  // the ReLU left values to compare
}

TEST(Int8TorchGoldenTest, QuantizedConv2D) {
  for (const char* name : {"conv_valid", "conv_same"}) {
    SCOPED_TRACE(name);
    const std::string prefix = name;
    Tensor x = Golden(prefix + "_x"), w = Golden(prefix + "_w"),
           bias = Golden(prefix + "_b"), y = Golden(prefix + "_y");
    GraphBuilder b;
    Output xp = b.Placeholder("x", x.shape(), DType::kU8);
    Output wv = b.Variable("w", w.shape(), Initializer::Value(w));
    Output bv = b.Variable("b", bias.shape(), Initializer::Value(bias));
    QuantizedOptions o;
    o.input_scale = 1.0f / 255;
    o.output_scale = 0.01f;
    o.relu = true;
    o.padding = prefix == "conv_same" ? "same" : "valid";
    Output out = QuantizedConv2D(xp, wv, bv, o, "conv");
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got,
                               testing::RunOnce(b, {{xp, x}}, {out}));
    ExpectMatchesTorch(got[0], y);
  }
}

TEST(Int8TorchGoldenTest, QuantizedDense) {
  Tensor x = Golden("dense_x"), w = Golden("dense_w"), bias = Golden("dense_b"),
         y = Golden("dense_y");
  GraphBuilder b;
  Output xp = b.Placeholder("x", x.shape(), DType::kU8);
  Output wv = b.Variable("w", w.shape(), Initializer::Value(w));
  Output bv = b.Variable("b", bias.shape(), Initializer::Value(bias));
  QuantizedOptions o;
  o.input_scale = 0.004f;
  o.output_scale = 0.008f;
  o.relu = true;
  Output out = QuantizedDense(xp, wv, bv, o, "dense");
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> got,
                             testing::RunOnce(b, {{xp, x}}, {out}));
  ExpectMatchesTorch(got[0], y);
}

}  // namespace
}  // namespace nabla
