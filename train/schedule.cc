#include "train/schedule.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace nabla {

LearningRateSchedule LearningRateSchedule::Constant() {
  return LearningRateSchedule();
}

LearningRateSchedule LearningRateSchedule::StepDecay(int64_t step_size,
                                                     float gamma) {
  ScheduleLearningRateAttrs attrs;
  attrs.schedule = "step_decay";
  attrs.step_size = step_size;
  attrs.gamma = gamma;
  return LearningRateSchedule(std::move(attrs));
}

LearningRateSchedule LearningRateSchedule::Cosine(int64_t total_steps,
                                                  float min_learning_rate,
                                                  int64_t warmup_steps) {
  ScheduleLearningRateAttrs attrs;
  attrs.schedule = "cosine";
  attrs.total_steps = total_steps;
  attrs.min_learning_rate = min_learning_rate;
  attrs.warmup_steps = warmup_steps;
  return LearningRateSchedule(std::move(attrs));
}

LearningRateSchedule LearningRateSchedule::OneCycle(int64_t total_steps,
                                                    float pct_start,
                                                    float div_factor,
                                                    float final_div_factor) {
  ScheduleLearningRateAttrs attrs;
  attrs.schedule = "one_cycle";
  attrs.total_steps = total_steps;
  attrs.pct_start = pct_start;
  attrs.div_factor = div_factor;
  attrs.final_div_factor = final_div_factor;
  return LearningRateSchedule(std::move(attrs));
}

LearningRateSchedule LearningRateSchedule::WithCycledMomentum(
    float base_momentum, float max_momentum) const {
  LearningRateSchedule schedule = *this;
  schedule.cycle_momentum_ = true;
  schedule.attrs_.base_momentum = base_momentum;
  schedule.attrs_.max_momentum = max_momentum;
  return schedule;
}

// The same rules as the op's shape function, checked before any node is
// added so that a bad schedule leaves the builder usable.
absl::Status LearningRateSchedule::Validate() const {
  const ScheduleLearningRateAttrs& a = attrs_;
  if (cycle_momentum_) {
    if (a.schedule != "one_cycle") {
      return absl::InvalidArgumentError(
          "only the one-cycle schedule can cycle momentum");
    }
    if (!(a.base_momentum >= 0 && a.base_momentum <= a.max_momentum &&
          a.max_momentum < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "one-cycle schedule: cycled momentum needs 0 <= base_momentum <= "
          "max_momentum < 1, got base_momentum ",
          a.base_momentum, " and max_momentum ", a.max_momentum));
    }
  }
  if (a.schedule == "constant") return absl::OkStatus();
  if (a.schedule == "step_decay") {
    if (a.step_size < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "step decay: step_size must be at least 1, got ", a.step_size));
    }
    if (!(std::isfinite(a.gamma) && a.gamma >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "step decay: gamma must be finite and non-negative, got ", a.gamma));
    }
    return absl::OkStatus();
  }
  if (a.schedule == "cosine") {
    if (a.warmup_steps < 0 || a.total_steps <= a.warmup_steps) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cosine schedule: needs 0 <= warmup_steps < total_steps, got "
          "warmup_steps ",
          a.warmup_steps, " and total_steps ", a.total_steps));
    }
    if (!(std::isfinite(a.min_learning_rate) && a.min_learning_rate >= 0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cosine schedule: min_learning_rate must be finite and "
          "non-negative, got ",
          a.min_learning_rate));
    }
    return absl::OkStatus();
  }
  if (a.schedule == "one_cycle") {
    if (a.total_steps < 2 || !(a.pct_start > 0 && a.pct_start < 1) ||
        !(static_cast<double>(a.pct_start) * a.total_steps > 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "one-cycle schedule: needs total_steps >= 2 and pct_start in (0, 1) "
          "with pct_start * total_steps > 1, got total_steps ",
          a.total_steps, " and pct_start ", a.pct_start));
    }
    for (auto [name, value] :
         {std::pair<const char*, float>{"div_factor", a.div_factor},
          {"final_div_factor", a.final_div_factor}}) {
      if (!(std::isfinite(value) && value > 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "one-cycle schedule: ", name, " must be positive and finite, got ",
            value));
      }
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown learning-rate schedule \"", a.schedule, "\""));
}

Output LearningRateSchedule::AddTo(Output step, Output base_lr,
                                   absl::string_view name) const {
  if (is_constant()) return base_lr;
  return ScheduleLearningRate(step, base_lr, attrs_, name);
}

Output LearningRateSchedule::AddMomentumTo(Output step,
                                           absl::string_view name) const {
  return ScheduleMomentum(step, attrs_, name);
}

}  // namespace nabla
