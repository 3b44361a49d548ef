// Inverted dropout with a counter-based mask: in training each element of x
// is kept with probability 1 - rate and scaled by 1 / (1 - rate), so that
// inference, where the op is the identity, needs no rescaling (Keras's and
// PyTorch's Dropout).
//
//   Output h = Dense(x, w, bias, Activation::kRelu);
//   Output d = Dropout(h, 0.5f, /*seed=*/42, "drop1");  // "drop1/counter"
//
// Element i of the step whose counter reads c is kept when
// splitmix64-style hash(seed, c, i) falls below (1 - rate) * 2^32: the mask
// depends on nothing but those three numbers, so it is the same for any
// thread count, and since the counter is a Variable (i64 scalar), which each
// training run increments, a checkpoint saves it and a resumed run draws
// the masks an uninterrupted one would have. Inference neither draws nor
// increments (KernelContext::training(), graph/planner.h RunMode).

#ifndef NABLA_OPS_DROPOUT_H_
#define NABLA_OPS_DROPOUT_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

// Dropout adds the i64 scalar Variable "<name>/counter" (zeros) and the
// Dropout node `name` (empty: a unique "dropout..." name) with `rate` in
// [0, 1). Returns output 0, y; output 1 of the node is the mask (u8, 1 for
// a kept element), which the gradient rule reads: dx = dy * mask / (1 - rate).
Output Dropout(Output x, float rate, int64_t seed, absl::string_view name = {});

// DropoutKeeps is the mask's rule, for tests and other implementations:
// whether element `index` is kept at `counter` for `seed` and `rate`.
bool DropoutKeeps(int64_t seed, int64_t counter, int64_t index, float rate);

}  // namespace nabla

#endif  // NABLA_OPS_DROPOUT_H_
