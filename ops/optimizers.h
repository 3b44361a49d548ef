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
// The update rules are Keras's (see each function); ApplyAdamW adds
// PyTorch's decoupled weight decay, and ScheduleLearningRate computes a
// scheduled learning rate from the step count. None of these ops has a
// gradient.

#ifndef NABLA_OPS_OPTIMIZERS_H_
#define NABLA_OPS_OPTIMIZERS_H_

#include <cstdint>
#include <string>

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

// ApplyAdamW is ApplyAdam with weight decay decoupled from the gradient
// (Loshchilov and Hutter), in the order torch.optim.AdamW applies it: the
// variable first shrinks by the learning rate times the decay, then takes
// ApplyAdam's step. With alpha, m and v as for ApplyAdam,
//
//   var = var * (1 - lr * weight_decay) - alpha * m / (sqrt(v) + epsilon)
//
// i.e. var -= lr * (adam_update + weight_decay * var), with var the value
// from before the step and adam_update = alpha / lr * m / (sqrt(v) + eps).
// The factor (1 - lr * weight_decay) is computed in double and rounded to
// f32 once per step, as PyTorch's mul_ by a Python float does. Epsilon is
// placed as in ApplyAdam (Keras's "epsilon hat"); PyTorch adds its eps to
// sqrt(v) / sqrt(1 - beta2^t) instead, so torch.optim.AdamW with
// eps = epsilon / sqrt(1 - beta2^t) at step t gives the same update.
//
// beta1 is an input (an f32 scalar in [0, 1)) rather than an attribute so
// that a schedule can cycle it (ScheduleMomentum); the step uses this
// step's beta1 in both the moment update and the bias correction
// 1 - beta1^t, as PyTorch does when OneCycleLR cycles Adam's betas. With
// weight_decay = 0 and a constant beta1 the result is bit for bit
// ApplyAdam's. weight_decay must be finite and non-negative. Returns the
// updated variable.
Output ApplyAdamW(Output var, Output m, Output v, Output grad, Output lr,
                  Output step, Output beta1, float weight_decay,
                  float beta2 = 0.999f, float epsilon = 1e-7f,
                  absl::string_view name = {});

// ScheduleLearningRateAttrs describe a learning-rate schedule for
// ScheduleLearningRate. Which fields count depends on `schedule`.
struct ScheduleLearningRateAttrs {
  // "constant", "step_decay", "cosine" or "one_cycle".
  std::string schedule = "constant";
  // step_decay: multiply by `gamma` every `step_size` steps.
  int64_t step_size = 1;
  float gamma = 0.1f;
  // cosine and one_cycle: the length of the schedule in steps.
  int64_t total_steps = 1;
  // cosine: a linear warm-up over the first warmup_steps steps, then a
  // cosine from the base rate down to min_learning_rate.
  int64_t warmup_steps = 0;
  float min_learning_rate = 0;
  // one_cycle: PyTorch OneCycleLR's settings; the base rate is max_lr.
  float pct_start = 0.3f;
  float div_factor = 25;
  float final_div_factor = 1e4f;
  // one_cycle with cycled momentum (ScheduleMomentum only): PyTorch
  // OneCycleLR's base_momentum and max_momentum.
  float base_momentum = 0.85f;
  float max_momentum = 0.95f;
};

// ScheduleLearningRate outputs the learning rate (an f32 scalar) for the
// step whose count is `step` (an i64 scalar, 1 for the first update: the
// output of the optimizer's AssignAdd), from the base rate `base_lr` (an f32
// scalar, typically the optimizer's learning-rate Variable). With
// k = step - 1 the number of steps taken before this one, and every
// quantity in double, rounded to f32 at the end:
//
//   constant:    lr = base
//   step_decay:  lr = base * gamma^floor(k / step_size)       (PyTorch StepLR)
//   cosine:      W = warmup_steps, T = total_steps, floor = min_learning_rate
//                k <  W: lr = base * k / W                    (from 0)
//                k >= W: p = min(k - W, T - W) / (T - W)
//                        lr = floor + (base - floor) * (1 + cos(pi * p)) / 2
//                With W = 0 this is PyTorch CosineAnnealingLR(T_max = T,
//                eta_min = floor) for k <= T; after T it stays at the floor.
//   one_cycle:   PyTorch OneCycleLR (anneal_strategy "cos", two phases) with
//                max_lr = base, T = total_steps:
//                initial = base / div_factor, final = initial / final_div_factor
//                e1 = pct_start * T - 1, e2 = T - 1, k' = min(k, e2)
//                k' <= e1: lr = anneal(initial, base, k' / e1)
//                k' >  e1: lr = anneal(base, final, (k' - e1) / (e2 - e1))
//                anneal(a, b, p) = b + (a - b) / 2 * (1 + cos(pi * p))
//                After T steps (where PyTorch raises) it stays at `final`.
//
// A Variable as base_lr keeps SetLearningRate meaningful: it rescales the
// whole schedule. Because the rate is a function of the step count alone, a
// run resumed from a checkpoint (which holds the step count) continues the
// schedule exactly. The step must be positive when the op runs.
Output ScheduleLearningRate(Output step, Output base_lr,
                            const ScheduleLearningRateAttrs& attrs,
                            absl::string_view name = {});

// ScheduleMomentum outputs the momentum (Adam's beta1) that PyTorch's
// OneCycleLR(cycle_momentum=True) sets for the step whose count is `step`,
// cycling inversely to the one-cycle learning rate. attrs.schedule must be
// "one_cycle"; with k, k', e1, e2 and anneal as for ScheduleLearningRate:
//
//   k' <= e1: momentum = anneal(max_momentum, base_momentum, k' / e1)
//   k' >  e1: momentum = anneal(base_momentum, max_momentum,
//                               (k' - e1) / (e2 - e1))
//
// with 0 <= base_momentum <= max_momentum < 1.
Output ScheduleMomentum(Output step, const ScheduleLearningRateAttrs& attrs,
                        absl::string_view name = {});

// AssignAdd adds `delta` (of var's dtype and shape) to the Variable `var`
// and outputs the new value; f32, i32 and i64 variables are accepted. Nodes
// that take the output run after the increment, which is how Adam's step
// count is ordered before the updates that use it.
Output AssignAdd(Output var, Output delta, absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_OPTIMIZERS_H_
