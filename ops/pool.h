// 2-D max and average pooling on oneDNN's pooling primitives, with their
// gradients. Activations are NCHW.
//
//   Output h = Conv2D(x, w, bias, relu);              // [?, 32, 24, 24]
//   Output p = MaxPool2D(h, {2, 2});                  // [?, 32, 12, 12]
//   Output q = AvgPool2D(h, {3, 3}, {1, 1}, "same");  // [?, 32, 24, 24]
//
// Padding is "valid" (windows lie inside the input) or "same" (output size
// ceil(input / stride)). Average pooling divides by the number of input
// pixels in each window, leaving the padding out, as Keras does.
//
// A MaxPool2D node has a second output, oneDNN's workspace, which its
// gradient reads: for each output element, the offset of its window's
// maximum within the window (row-major), as u8 (i32 for windows of more than
// 255 pixels). It is computed only in plans that use it.

#ifndef NABLA_OPS_POOL_H_
#define NABLA_OPS_POOL_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "graph/builder.h"

namespace nabla {

// The maximum of each `kernel` {height, width} window of x [N, C, H, W],
// taken every `strides` {height, width} pixels (empty: the kernel size).
Output MaxPool2D(Output x, std::vector<int64_t> kernel,
                 std::vector<int64_t> strides = {},
                 absl::string_view padding = "valid",
                 absl::string_view name = {});

// The mean of each window, as MaxPool2D takes the maximum.
Output AvgPool2D(Output x, std::vector<int64_t> kernel,
                 std::vector<int64_t> strides = {},
                 absl::string_view padding = "valid",
                 absl::string_view name = {});

// Gradient ops, which the pooling ops' gradient rules add. Each returns the
// gradient with respect to the pooled input, of shape `input_shape`
// [N, C, H, W], whose unknown batch is taken from dy.

// `workspace` is output 1 of the MaxPool2D node being differentiated.
Output MaxPool2DGrad(Output dy, Output workspace, const Shape& input_shape,
                     std::vector<int64_t> kernel,
                     std::vector<int64_t> strides = {},
                     absl::string_view padding = "valid",
                     absl::string_view name = {});

Output AvgPool2DGrad(Output dy, const Shape& input_shape,
                     std::vector<int64_t> kernel,
                     std::vector<int64_t> strides = {},
                     absl::string_view padding = "valid",
                     absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_POOL_H_
