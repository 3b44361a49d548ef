// Batch normalization (Ioffe and Szegedy) on oneDNN's batch normalization
// primitives, with its gradient; over the channels of NCHW activations and
// over the features of [N, C] ones.
//
//   Output h = Conv2D(x, w);                                // [?, 32, 24, 24]
//   BatchNormOptions relu;
//   relu.activation = Activation::kRelu;
//   BatchNormLayer bn = BatchNormWithVariables(h, relu, "bn1");
//   // bn.y is [?, 32, 24, 24]; bn.trainable() = {bn1/gamma, bn1/beta} go to
//   // the optimizer, bn1/moving_mean and bn1/moving_variance do not.
//
// One graph serves training and inference; the plan's mode (RunMode in
// graph/planner.h) decides which formula runs. For each channel c, with m
// the number of values per channel (N, or N * H * W):
//
//   training:   mean  = sum(x) / m
//               var   = sum((x - mean)^2) / m               (biased)
//               y     = activation(gamma * (x - mean) / sqrt(var + epsilon)
//                                  + beta)
//               running_mean     = momentum * running_mean
//                                  + (1 - momentum) * mean
//               running_variance = momentum * running_variance
//                                  + (1 - momentum) * var * m / (m - 1)
//   inference:  y     = activation(gamma * (x - running_mean)
//                                  / sqrt(running_variance + epsilon) + beta)
//
// The running variance takes the unbiased batch variance, as PyTorch's
// batch_norm does (tests/norm's golden checks it against torch 1.13), and as
// TensorFlow's fused kernel, Keras's path for 4-D inputs, does by its source
// (Keras's unfused path takes the biased one); the normalization itself
// uses the biased variance. Training needs m >= 2 values per channel.
//
// `momentum` follows Keras (and ONNX): the weight of the old running value,
// default 0.99. PyTorch's `momentum` is the weight of the new batch value,
// so PyTorch's momentum p is nabla's 1 - p (PyTorch's default 0.1 is 0.9
// here). `epsilon` defaults to Keras's 1e-3 (PyTorch's default is 1e-5).
//
// Plans that compute gradients (Session::Compile with RunMode::kAuto)
// train; others (evaluation, prediction, export) run in inference and
// change no variable.

#ifndef NABLA_OPS_NORMALIZATION_H_
#define NABLA_OPS_NORMALIZATION_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "graph/builder.h"
#include "ops/activations.h"

namespace nabla {

// BatchNormOptions: everything about a batch normalization but its
// operands.
struct BatchNormOptions {
  // Added to the variance before its square root; positive.
  float epsilon = 1e-3f;
  // The weight of the old running statistics in each update, in [0, 1]
  // (Keras's convention; PyTorch's momentum p is 1 - p here).
  float momentum = 0.99f;
  // A ReLU fused into the normalization (oneDNN's fuse_norm_relu).
  Activation activation = Activation::kLinear;
};

// BatchNorm normalizes x [N, C] or [N, C, H, W] per channel with the
// formulas above. `scale` (gamma), `shift` (beta), `running_mean` and
// `running_variance` are [C]; the last two must be f32 Variables, which the
// node updates in place when the plan trains. Returns y, of x's shape.
//
// The node (op BatchNorm) has four outputs: y; the batch mean and the
// biased batch variance [C] in training (copies of the running statistics
// in inference), which the gradient reads; and oneDNN's workspace for a
// fused ReLU (u8 of x's shape, whose first bytes hold oneDNN's opaque
// workspace; [0] without the ReLU), which the gradient reads.
Output BatchNorm(Output x, Output scale, Output shift, Output running_mean,
                 Output running_variance, const BatchNormOptions& options = {},
                 absl::string_view name = {});

// BatchNormLayer: a batch normalization and the variables it made.
struct BatchNormLayer {
  Output y;
  Output gamma;            // "<name>/gamma", initially ones
  Output beta;             // "<name>/beta", initially zeros
  Output moving_mean;      // "<name>/moving_mean", initially zeros
  Output moving_variance;  // "<name>/moving_variance", initially ones

  // The variables an optimizer updates: gamma and beta.
  std::vector<Output> trainable() const { return {gamma, beta}; }
};

// BatchNormWithVariables makes the four variables of a batch normalization
// of x (whose dimension 1, the channels, must be known), named after
// `name` as Keras names them, and normalizes x with them. An empty `name`
// picks "batch_norm", "batch_norm_1"...
BatchNormLayer BatchNormWithVariables(Output x,
                                      const BatchNormOptions& options = {},
                                      absl::string_view name = {});

// BatchNormGrad, the gradient op BatchNorm's gradient rule adds: from dy
// (the gradient of y), the node's input x and scale, its outputs mean,
// variance and workspace, returns {dx, dscale, dshift}. In training the
// statistics are the batch's, and dx accounts for their dependence on x; in
// an inference plan they are constants.
std::vector<Output> BatchNormGrad(Output dy, Output x, Output scale,
                                  Output mean, Output variance,
                                  Output workspace,
                                  const BatchNormOptions& options = {},
                                  absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_NORMALIZATION_H_
