// int8 inference ops: Quantize and Dequantize, QuantizedConv2D and
// QuantizedDense (u8 activations, s8 weights) and QuantizedMaxPool2D, on
// oneDNN's int8 primitives. infer/quantize.h rewrites trained f32 models into
// them; they have no gradients.
//
// A u8 activation q stands for the real value q * scale (per tensor, zero
// point 0, so only non-negative values: what ReLU gives). Weights stay f32
// Variables in the graph, wired as inputs; the kernel, when its plan
// compiles, reads the variable its attribute names, quantizes it per output
// channel (QuantizeWeightsPerChannel) and reorders it once into the
// primitive's layout. A later change to the variable is seen only by plans
// compiled after it.
//
//   Output q = Quantize(x, /*scale=*/0.02f);             // f32 -> u8
//   QuantizedOptions o;
//   o.input_scale = 0.02f;
//   o.output_scale = 0.05f;  // u8 out, for the next int8 layer
//   o.relu = true;
//   Output y = QuantizedConv2D(q, w, b, o);             // u8 [N, O, OH, OW]
//   Output p = QuantizedMaxPool2D(y, {2, 2}, {2, 2});   // u8, same scale
//   o.input_scale = 0.05f;
//   o.output_type = DType::kF32;                          // the last layer
//   Output logits = QuantizedDense(p, w2, b2, o);        // f32 [N, O]
//
// The arithmetic, exactly (what tests/int8 checks against), with L =
// Int8WeightLimit() (127 on CPUs with VNNI, 63 on the others):
//   w_scale[o] = max_k |w[o, k]| / L (1 where the channel is all zero),
//   wq[o, k] = round(w[o, k] / w_scale[o]) in [-L, L];
//   acc[n, o] = sum_k xq[n, k] * wq[o, k]  (exact, int32);
//   real[n, o] = input_scale * w_scale[o] * (acc[n, o]
//                + bias[o] / (input_scale * w_scale[o]));  ReLU if asked;
//   y = real (f32 output) or saturate_u8(round(real / output_scale)).

#ifndef NABLA_OPS_QUANTIZED_H_
#define NABLA_OPS_QUANTIZED_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/dtype.h"
#include "graph/builder.h"

namespace nabla {

// PerChannelWeights are weights quantized to s8, one scale per output
// channel: values[o * per_channel + k] * scales[o] approximates w[o, k].
struct PerChannelWeights {
  std::vector<int8_t> values;
  std::vector<float> scales;
};

// Int8WeightLimit is the largest |wq| the kernels use on this CPU: 127
// where oneDNN runs int8 on VNNI (vpdpbusd accumulates u8 * s8 products in
// s32), 63 on AVX2 and AVX-512 without it. There oneDNN's kernels add pairs
// of u8 * s8 products with vpmaddubsw, which saturates at 32767: 2 * 255 *
// 127 would overflow it, 2 * 255 * 63 does not. Measured on an AVX2 EPYC
// (Zen 3): with 127 the lecture model's convolutions were off by up to 7
// units of their u8 outputs.
int Int8WeightLimit();

// QuantizeWeightsPerChannel quantizes the weights w[o, k] =
// data[o * channel_stride + k * element_stride] for o < channels, k <
// per_channel, as the header comment says, to [-limit, limit]. Conv filters
// [O, C, KH, KW] have channel_stride C*KH*KW and element_stride 1; Dense
// weights [K, O] have channel_stride 1 and element_stride O.
PerChannelWeights QuantizeWeightsPerChannel(const float* data, int64_t channels,
                                            int64_t per_channel,
                                            int64_t channel_stride,
                                            int64_t element_stride,
                                            int limit = 127);

// QuantizedOptions are the scales and fused steps of an int8 layer.
struct QuantizedOptions {
  // What one unit of the u8 input stands for.
  float input_scale = 1.0f;
  // What one unit of a u8 output stands for; unused for an f32 output.
  float output_scale = 1.0f;
  // kU8 (requantized, for the next int8 layer) or kF32.
  DType output_type = DType::kU8;
  bool relu = false;
  // Convolution geometry, as Conv2DOptions: "valid" or "same" padding.
  std::vector<int64_t> strides = {1, 1};
  std::vector<int64_t> dilations = {1, 1};
  std::string padding = "valid";
};

// Quantize is u8 y = saturate_u8(round(x / scale)) of an f32 x.
Output Quantize(Output x, float scale, absl::string_view name = {});

// Dequantize is f32 y = x * scale of a u8 x.
Output Dequantize(Output x, float scale, absl::string_view name = {});

// QuantizedConv2D convolves u8 x [N, C, H, W] with the f32 Variable `filters`
// [O, C, KH, KW] (quantized per output channel when the plan compiles) and
// adds the f32 Variable `bias` [O].
Output QuantizedConv2D(Output x, Output filters, Output bias,
                       const QuantizedOptions& options,
                       absl::string_view name = {});

// QuantizedDense multiplies u8 x [N, K] (or [N, C, H, W] with C*H*W = K,
// read as Flatten would, so no flatten step is needed) by the f32 Variable
// `w` [K, O] and adds the f32 Variable `bias` [O].
Output QuantizedDense(Output x, Output w, Output bias,
                      const QuantizedOptions& options,
                      absl::string_view name = {});

// QuantizedMaxPool2D is MaxPool2D ("valid" padding) of a u8 x; the output
// keeps x's scale.
Output QuantizedMaxPool2D(Output x, std::vector<int64_t> kernel,
                          std::vector<int64_t> strides,
                          absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_QUANTIZED_H_
