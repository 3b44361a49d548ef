// Activation functions on oneDNN's eltwise primitives.
//
//   Output h = Relu(z);
//   Output g = LeakyRelu(z, /*alpha=*/0.2f);
//
// Their gradients are computed from the output y rather than the input
// (oneDNN's *_use_dst_for_bwd forms), so the input can be freed as soon as
// the forward pass has used it.

#ifndef NABLA_OPS_ACTIVATIONS_H_
#define NABLA_OPS_ACTIVATIONS_H_

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

Output Relu(Output x, absl::string_view name = {});
Output Sigmoid(Output x, absl::string_view name = {});
Output Tanh(Output x, absl::string_view name = {});
// x for x > 0, alpha * x otherwise; alpha must be >= 0.
Output LeakyRelu(Output x, float alpha = 0.2f, absl::string_view name = {});

// Gradient ops: dx from dy and the forward output y.
Output ReluGrad(Output dy, Output y, absl::string_view name = {});
Output SigmoidGrad(Output dy, Output y, absl::string_view name = {});
Output TanhGrad(Output dy, Output y, absl::string_view name = {});
Output LeakyReluGrad(Output dy, Output y, float alpha,
                     absl::string_view name = {});

// The activations a layer can fuse: Keras's names.
enum class Activation { kLinear, kRelu };

}  // namespace nabla

#endif  // NABLA_OPS_ACTIVATIONS_H_
