// Fully connected layers and matrix products on oneDNN's matmul primitive.
//
//   // Keras's Dense(1000, activation="relu") on a flattened [N, 1024] input:
//   Output w = b.Variable("dense1/w", {1024, 1000}, Initializer::GlorotUniform());
//   Output bias = b.Variable("dense1/b", {1000}, Initializer::Zeros());
//   Output h = Dense(x, w, bias, Activation::kRelu);

#ifndef NABLA_OPS_DENSE_H_
#define NABLA_OPS_DENSE_H_

#include "absl/strings/string_view.h"
#include "graph/builder.h"
#include "ops/activations.h"

namespace nabla {

// activation(x · w + bias) for x [N, K], w [K, M] (Keras's layout) and bias
// [M]. A ReLU activation is fused into the product. As in Keras, x may have
// more axes, [N, T, ..., K]: the product is over the last one, giving
// [N, T, ..., M] (each leading index a row of one matrix product).
Output Dense(Output x, Output w, Output bias,
             Activation activation = Activation::kLinear,
             absl::string_view name = {});

// a · b for rank-2 a and b, either transposed first.
Output MatMul(Output a, Output b, bool transpose_a = false,
              bool transpose_b = false, absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_DENSE_H_
