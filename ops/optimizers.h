// Optimizer update ops: nodes that change Variables in place.
//
// Each op updates its variable (and its slot variables) where they lie in
// the session and outputs the updated variable as a view, so a plan can take
// it as a target, or fetch it. The executor runs an in-place writer after
// every other reader of the variable, so a training step's forward and
// backward nodes see the values from before the step.
//
// The learning rate is an f32 scalar input rather than an attribute, so that
// it can change between steps (typically a Variable that the training loop
// assigns). Adam's bias correction needs the step number; it comes in as the
// output of AssignAdd on a step Variable, which puts the increment before
// every update by data dependency alone.
//
//   Output lr = b.Variable("lr", {}, Initializer::Constant(0.001f));
//   Output step_var = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
//   Output step = AssignAdd(step_var, b.Constant(Tensor::Filled<int64_t>({}, 1)));
//   Output m = b.Variable("w/adam_m", w.shape(), Initializer::Zeros());
//   Output v = b.Variable("w/adam_v", w.shape(), Initializer::Zeros());
//   Output update = ApplyAdam(w, m, v, dw, lr, step);  // a target to run
//
// The update rules are Keras's (see each function). None of these ops has a
// gradient.

#ifndef NABLA_OPS_OPTIMIZERS_H_
#define NABLA_OPS_OPTIMIZERS_H_

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

// ApplySgd updates `var` -= lr * grad. `var` must be an f32 Variable, `grad`
// of its shape, `lr` an f32 scalar. Returns the updated variable.
Output ApplySgd(Output var, Output grad, Output lr, absl::string_view name = {});

// ApplyMomentum is SGD with momentum as Keras writes it:
//
//   accum = momentum * accum - lr * grad
//   var  += accum                              (nesterov = false)
//   var  += momentum * accum - lr * grad       (nesterov = true)
//
// `accum` is an f32 Variable of var's shape, usually initialized to zeros.
// `momentum` must lie in [0, 1]. Returns the updated variable.
Output ApplyMomentum(Output var, Output accum, Output grad, Output lr,
                     float momentum, bool nesterov = false,
                     absl::string_view name = {});

// ApplyAdam is Adam (Kingma and Ba) with Keras's defaults and arrangement of
// epsilon:
//
//   t     = step                    (1 for the first update)
//   alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//   m    += (grad - m) * (1 - beta1)
//   v    += (grad^2 - v) * (1 - beta2)
//   var  -= alpha * m / (sqrt(v) + epsilon)
//
// `m` and `v` are f32 Variables of var's shape, initially zeros; `step` is
// an i64 scalar that must be positive when the op runs. beta1 and beta2 lie
// in [0, 1), epsilon is positive. Returns the updated variable.
Output ApplyAdam(Output var, Output m, Output v, Output grad, Output lr,
                 Output step, float beta1 = 0.9f, float beta2 = 0.999f,
                 float epsilon = 1e-7f, absl::string_view name = {});

// AssignAdd adds `delta` (of var's dtype and shape) to the Variable `var`
// and outputs the new value; f32, i32 and i64 variables are accepted. Nodes
// that take the output run after the increment, which is how Adam's step
// count is ordered before the updates that use it.
Output AssignAdd(Output var, Output delta, absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_OPTIMIZERS_H_
