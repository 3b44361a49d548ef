// 2-D max and average pooling on oneDNN's pooling primitives, with their
// gradients. Activations are NCHW.
//
//   Output h = Conv2D(x, w, bias, relu);              // [?, 32, 24, 24]
//   Output p = MaxPool2D(h, {2, 2});                  // [?, 32, 12, 12]
//   Output q = AvgPool2D(h, {3, 3}, {1, 1}, "same");  // [?, 32, 24, 24]
//
// Padding is "valid" (windows lie inside the input), "same" (output size
// ceil(input / stride)) or, through Pool2DOptions, "explicit" with four pads
// as Conv2D takes them. Average pooling divides by the number of input
// pixels in each window, leaving the padding out, as Keras does; PyTorch's
// default, which divides by the whole window, is count_include_pad.
//
//   // PyTorch's AvgPool2d(3, stride=2, padding=1, ceil_mode=True):
//   Pool2DOptions torch;
//   torch.kernel = {3, 3};
//   torch.strides = {2, 2};
//   torch.padding = "explicit";
//   torch.explicit_paddings = {1, 1, 1, 1};
//   torch.ceil_mode = true;
//   torch.count_include_pad = true;
//   Output a = AvgPool2D(h, torch);
//
//   Output features = GlobalAveragePool(h);           // [?, 32]
//
// A MaxPool2D node has a second output, oneDNN's workspace, which its
// gradient reads: for each output element, the offset of its window's
// maximum within the window (row-major), as u8 (i32 for windows of more than
// 255 pixels). It is computed only in plans that use it.

#ifndef NABLA_OPS_POOL_H_
#define NABLA_OPS_POOL_H_

#include <cstdint>
#include <string>
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

// Pool2DOptions: everything about a 2-D pooling but its input. A non-
// aggregate (its constructor is user-provided), so that a braced kernel
// such as MaxPool2D(x, {2, 2}) still means the kernel.
struct Pool2DOptions {
  Pool2DOptions() {}

  // {height, width} of each window.
  std::vector<int64_t> kernel;
  // {height, width}; empty: the kernel size.
  std::vector<int64_t> strides;
  // "valid", "same" or "explicit".
  std::string padding = "valid";
  // {top, bottom, left, right}, as Conv2DOptions; only with padding
  // "explicit". Each pad is smaller than the kernel on its axis.
  std::vector<int64_t> explicit_paddings;
  // PyTorch's ceil_mode: the output size rounds up, so a last, partial
  // window is pooled if it starts inside the input or the padding before
  // it. Not with "same", which already rounds up.
  bool ceil_mode = false;
  // Average pooling only: windows divide by their whole area, padding
  // included (oneDNN's pooling_avg_include_padding, PyTorch's default),
  // instead of by their input pixels (pooling_avg_exclude_padding, Keras).
  // Refused where ceil_mode makes a window overhang the padded input, which
  // PyTorch divides by its pixels inside the padded input.
  bool count_include_pad = false;
};

Output MaxPool2D(Output x, const Pool2DOptions& options,
                 absl::string_view name = {});
Output AvgPool2D(Output x, const Pool2DOptions& options,
                 absl::string_view name = {});

// The mean of each channel of x [N, C, H, W]: [N, C], or [N, C, 1, 1] with
// keep_dims (Keras's GlobalAveragePooling2D, ONNX's GlobalAveragePool).
Output GlobalAveragePool(Output x, bool keep_dims = false,
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
