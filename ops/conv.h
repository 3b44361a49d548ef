// 2-D convolution on oneDNN's convolution primitives, with its gradients.
//
// Activations are NCHW and filters OIHW, as in PyTorch; the layer of the
// lecture's MNIST model, Keras's Conv2D(32, 5, activation="relu"), reads:
//
//   Output x = b.Placeholder("images", {kUnknownDim, 1, 28, 28});
//   Output w = b.Variable("conv1/w", {32, 1, 5, 5},
//                         Initializer::GlorotUniform());
//   Output bias = b.Variable("conv1/b", {32}, Initializer::Zeros());
//   Conv2DOptions relu;
//   relu.activation = Activation::kRelu;
//   Output h = Conv2D(x, w, bias, relu);  // [?, 32, 24, 24]
//
// Conv2D(x, w) without a bias, or with Output() as the bias, adds no bias
// term; the node's op is then Conv2D, and with a bias Conv2DWithBias.
// Padding names follow Keras and TensorFlow: "valid" (none), "same" (output
// size ceil(input / stride), any odd padding at the bottom and right), or
// "explicit" with the four pads given. With Conv2DOptions::groups, a
// grouped or depthwise convolution:
//
//   Conv2DOptions depthwise;
//   depthwise.groups = 32;
//   Output d = Conv2D(h, b.Variable("dw/w", {32, 1, 3, 3},
//                                   Initializer::GlorotUniform()),
//                     Output(), depthwise);  // [?, 32, 22, 22]

#ifndef NABLA_OPS_CONV_H_
#define NABLA_OPS_CONV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "graph/builder.h"
#include "ops/activations.h"

namespace nabla {

// Conv2DOptions: everything about a convolution but its operands.
struct Conv2DOptions {
  // {stride_h, stride_w}.
  std::vector<int64_t> strides = {1, 1};
  // "valid", "same" or "explicit".
  std::string padding = "valid";
  // {top, bottom, left, right}; only with padding "explicit".
  std::vector<int64_t> explicit_paddings;
  // {dilation_h, dilation_w}; 1 reads adjacent pixels, 2 every other one.
  std::vector<int64_t> dilations = {1, 1};
  // A ReLU activation is fused into the convolution.
  Activation activation = Activation::kLinear;
  // PyTorch's groups: the C input channels and O filters split into this
  // many groups, group g's filters seeing only its C / groups channels.
  // The filters are then [O, C / groups, KH, KW]; groups == C is a
  // depthwise convolution (O = C times a channel multiplier).
  int64_t groups = 1;
};

// activation(conv(x, filters) + bias) for x [N, C, H, W], filters
// [O, C, KH, KW] and bias [O], or no bias when `bias` is Output(). The result
// is [N, O, OH, OW].
Output Conv2D(Output x, Output filters, Output bias = Output(),
              const Conv2DOptions& options = {}, absl::string_view name = {});

// Gradient ops, which Conv2D's gradient rule adds; `options.activation` is
// ignored (the rule applies ReluGrad first).

// The gradient with respect to x, of shape `input_shape` [N, C, H, W], from
// dy [N, O, OH, OW] and the filters. An unknown batch in `input_shape` is
// taken from dy.
Output Conv2DBackpropInput(Output dy, Output filters, const Shape& input_shape,
                           const Conv2DOptions& options = {},
                           absl::string_view name = {});

// The gradients with respect to the filters, of shape `filter_shape`
// [O, C, KH, KW], and the bias [O], from x and dy. The bias gradient is
// computed only where something uses it. Returns {d_filters, d_bias}, or an
// empty vector once the builder has failed.
std::vector<Output> Conv2DBackpropFilter(Output x, Output dy,
                                         const Shape& filter_shape,
                                         const Conv2DOptions& options = {},
                                         absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_CONV_H_
