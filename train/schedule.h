// Learning-rate schedules computed in the graph from the step count.
//
// A LearningRateSchedule describes how the learning rate changes from step
// to step; an Optimizer given one adds a ScheduleLearningRate node (see
// ops/optimizers.h for the exact formulas) that computes each step's rate
// from the optimizer's step count and its learning-rate Variable (the base
// rate, or max_lr for the one-cycle schedule). The rate is therefore a pure
// function of the step count, which checkpoints hold, so a resumed run
// continues the schedule exactly, and SetLearningRate rescales it.
//
//   Adam adam(AdamOptions{.learning_rate = 0.01f});  // the peak rate
//   adam.set_learning_rate_schedule(
//       LearningRateSchedule::OneCycle(/*total_steps=*/epochs * batches));
//   NABLA_ASSIGN_OR_RETURN(TrainStep train, adam.Minimize(loss, variables));
//   // Fetch train.learning_rate with the step to log the rate it used.

#ifndef NABLA_TRAIN_SCHEDULE_H_
#define NABLA_TRAIN_SCHEDULE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graph/builder.h"
#include "ops/optimizers.h"

namespace nabla {

// LearningRateSchedule is a schedule's description; make one with the
// static functions below. Default-constructed, it is Constant().
class LearningRateSchedule {
 public:
  LearningRateSchedule() = default;

  // Constant keeps the base rate: the optimizer adds no schedule node.
  static LearningRateSchedule Constant();

  // StepDecay multiplies the rate by `gamma` every `step_size` steps
  // (PyTorch's StepLR stepped once per batch).
  static LearningRateSchedule StepDecay(int64_t step_size, float gamma);

  // Cosine warms up linearly from 0 over `warmup_steps` steps, then falls
  // along a half cosine from the base rate to `min_learning_rate` at
  // `total_steps`, and stays there (PyTorch's CosineAnnealingLR when
  // warmup_steps is 0).
  static LearningRateSchedule Cosine(int64_t total_steps,
                                     float min_learning_rate = 0,
                                     int64_t warmup_steps = 0);

  // OneCycle is PyTorch's OneCycleLR (cosine annealing, two phases) with the
  // base rate as max_lr: from max_lr / div_factor up to max_lr over the
  // first pct_start of `total_steps`, then down to
  // max_lr / div_factor / final_div_factor. See WithCycledMomentum to cycle
  // Adam's beta1 as well.
  static LearningRateSchedule OneCycle(int64_t total_steps,
                                       float pct_start = 0.3f,
                                       float div_factor = 25,
                                       float final_div_factor = 1e4f);

  // WithCycledMomentum is a one-cycle schedule that also cycles Adam's beta1
  // inversely to the rate, from max_momentum down to base_momentum and back
  // (PyTorch OneCycleLR's cycle_momentum=True; ScheduleMomentum in
  // ops/optimizers.h); it replaces AdamOptions::beta1. Only Adam supports
  // it: other optimizers refuse such a schedule.
  LearningRateSchedule WithCycledMomentum(float base_momentum = 0.85f,
                                          float max_momentum = 0.95f) const;

  // cycles_momentum() is true after WithCycledMomentum.
  bool cycles_momentum() const { return cycle_momentum_; }

  // is_constant() is true for Constant().
  bool is_constant() const { return attrs_.schedule == "constant"; }

  // attrs() are the ScheduleLearningRate op's settings.
  const ScheduleLearningRateAttrs& attrs() const { return attrs_; }

  // Validate rejects settings the op would refuse (a non-positive step
  // size, warm-up not shorter than the schedule, ...), naming the setting.
  absl::Status Validate() const;

  // AddTo adds the schedule's node: the learning rate for the step whose
  // count (1 for the first step) is `step`, from the base rate `base_lr`.
  // Constant() returns base_lr itself.
  Output AddTo(Output step, Output base_lr, absl::string_view name) const;

  // AddMomentumTo adds the cycled momentum's node for the step whose count
  // is `step`; only for cycles_momentum().
  Output AddMomentumTo(Output step, absl::string_view name) const;

 private:
  explicit LearningRateSchedule(ScheduleLearningRateAttrs attrs)
      : attrs_(std::move(attrs)) {}

  ScheduleLearningRateAttrs attrs_;
  bool cycle_momentum_ = false;
};

}  // namespace nabla

#endif  // NABLA_TRAIN_SCHEDULE_H_
