// ApplySgd, ApplyMomentum, ApplyAdam, ApplyAdamW and AssignAdd: in-place
// updates of Variables; ScheduleLearningRate, the rate they use.
//
// The update loops run once per training step over every parameter, so each
// is a single pass over its arrays, split into cache-line-aligned ranges
// across OpenMP threads and vectorized within a range (the library is built
// with -fno-math-errno so that sqrt vectorizes). The partition is static, so
// a given thread count always gives the same results.

#include "ops/optimizers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

// Threads take ranges that start at multiples of 16 floats (one cache line),
// so no two threads write the same line.
constexpr int64_t kBlock = 16;
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelThreshold = int64_t{1} << 15;

// Calls fn(begin, end) over a static partition of [0, n).
template <typename Fn>
void ParallelRanges(int64_t n, const Fn& fn) {
#ifdef _OPENMP
  if (n >= kParallelThreshold && omp_get_max_threads() > 1) {
#pragma omp parallel
    {
      const int64_t threads = omp_get_num_threads();
      const int64_t t = omp_get_thread_num();
      const int64_t blocks = (n + kBlock - 1) / kBlock;
      const int64_t per = blocks / threads, extra = blocks % threads;
      const int64_t first = t * per + std::min(t, extra);
      const int64_t last = first + per + (t < extra ? 1 : 0);
      const int64_t begin = std::min(n, first * kBlock);
      const int64_t end = std::min(n, last * kBlock);
      if (begin < end) fn(begin, end);
    }
    return;
  }
#endif
  fn(0, n);
}

// The name the op's schema gives input `i`, for error messages.
std::string InputName(const ShapeContext& c, int i) {
  const OpSchema* schema = OpRegistry::Global().Find(c.op());
  if (schema == nullptr || i >= static_cast<int>(schema->inputs().size())) {
    return absl::StrCat(i);
  }
  return schema->inputs()[i].name;
}

// Checks the inputs of an update op: inputs [1, num_like) are shaped like
// the variable (input 0), the next `num_scalars` are scalars. While the
// graph is built (exact = false) shapes need only be compatible; a kernel
// factory (exact = true) sees resolved shapes, which must be equal.
absl::Status CheckUpdateInputs(const ShapeContext& c, int num_like,
                               int num_scalars, bool exact) {
  const Shape& var = c.input_shape(0);
  for (int i = 1; i < num_like; ++i) {
    const Shape& shape = c.input_shape(i);
    if (exact ? shape != var : !shape.IsCompatibleWith(var)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", InputName(c, i), "' has shape ", shape.ToString(),
          " but the variable has shape ", var.ToString()));
    }
  }
  for (int i = num_like; i < num_like + num_scalars; ++i) {
    if (c.input_shape(i).rank() != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", InputName(c, i), "' must be a scalar, got ",
                       c.input_shape(i).ToString()));
    }
  }
  return absl::OkStatus();
}

// A shape function for update ops: checks the inputs, and the output is the
// variable.
ShapeFn UpdateShapeFn(int num_like, int num_scalars,
                      std::function<absl::Status(const ShapeContext&)>
                          check_attrs = nullptr) {
  return [=](const ShapeContext& c) -> SpecList {
    NABLA_RETURN_IF_ERROR(CheckUpdateInputs(c, num_like, num_scalars, false));
    if (check_attrs) NABLA_RETURN_IF_ERROR(check_attrs(c));
    return std::vector<TensorSpec>{c.input(0)};
  };
}

// A kernel factory for update ops: checks the resolved shapes, then makes
// the kernel.
template <typename K>
KernelFactory UpdateKernel(int num_like, int num_scalars) {
  return [=](const KernelContext& c) -> absl::StatusOr<std::unique_ptr<Kernel>> {
    NABLA_RETURN_IF_ERROR(CheckUpdateInputs(c, num_like, num_scalars, true));
    return std::unique_ptr<Kernel>(std::make_unique<K>(c));
  };
}

absl::Status CheckInRange(const ShapeContext& c, absl::string_view attr,
                          float lo, float hi, bool hi_inclusive) {
  float value = c.GetFloat(attr);
  bool ok = std::isfinite(value) && value >= lo &&
            (hi_inclusive ? value <= hi : value < hi);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(attr, " must lie in [", lo, ", ", hi,
                     hi_inclusive ? "]" : ")", ", got ", value));
  }
  return absl::OkStatus();
}

// Adam's and AdamW's epsilon: positive and finite.
absl::Status CheckPositiveEpsilon(const ShapeContext& c) {
  float epsilon = c.GetFloat("epsilon");
  if (!(epsilon > 0) || !std::isfinite(epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("epsilon must be positive, got ", epsilon));
  }
  return absl::OkStatus();
}

// var -= lr * grad.
class SgdKernel : public Kernel {
 public:
  explicit SgdKernel(const KernelContext&) {}

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& var = args.input(0);
    float* w = var.data<float>();
    const float* g = args.input(1).data<float>();
    const float lr = args.input(2).data<float>()[0];
    ParallelRanges(var.num_elements(), [=](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) w[i] -= lr * g[i];
    });
    args.output(0) = var;
    return absl::OkStatus();
  }
};

// Keras's momentum: the velocity `accum` carries the learning rate, so a
// changed rate applies to new gradients only.
class MomentumKernel : public Kernel {
 public:
  explicit MomentumKernel(const KernelContext& c)
      : momentum_(c.GetFloat("momentum")), nesterov_(c.GetBool("nesterov")) {}

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& var = args.input(0);
    float* w = var.data<float>();
    float* accum = args.input(1).data<float>();
    const float* g = args.input(2).data<float>();
    const float lr = args.input(3).data<float>()[0];
    const float mu = momentum_;
    if (nesterov_) {
      ParallelRanges(var.num_elements(), [=](int64_t begin, int64_t end) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          const float velocity = mu * accum[i] - lr * g[i];
          accum[i] = velocity;
          w[i] += mu * velocity - lr * g[i];
        }
      });
    } else {
      ParallelRanges(var.num_elements(), [=](int64_t begin, int64_t end) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          const float velocity = mu * accum[i] - lr * g[i];
          accum[i] = velocity;
          w[i] += velocity;
        }
      });
    }
    args.output(0) = var;
    return absl::OkStatus();
  }

 private:
  float momentum_;
  bool nesterov_;
};

// Serves ApplyAdam and ApplyAdamW, which adds the "weight_decay" attr and
// takes beta1 as its input 6.
class AdamKernel : public Kernel {
 public:
  explicit AdamKernel(const KernelContext& c)
      : adamw_(c.op() == "ApplyAdamW"),
        beta1_(adamw_ ? 0.0f : c.GetFloat("beta1")),
        beta2_(c.GetFloat("beta2")),
        epsilon_(c.GetFloat("epsilon")),
        weight_decay_(adamw_ ? c.GetFloat("weight_decay") : 0.0f) {}

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& var = args.input(0);
    const int64_t step = args.input(5).data<int64_t>()[0];
    if (step <= 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Adam's step must be positive (1 for the first update), got ", step,
          "; increment the step variable with AssignAdd before the update"));
    }
    const float beta1 = adamw_ ? args.input(6).data<float>()[0] : beta1_;
    if (!(beta1 >= 0 && beta1 < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Adam's beta1 must lie in [0, 1), got ", beta1));
    }
    // The bias correction folded into one scalar, computed in double once
    // per step rather than per element.
    const double lr = args.input(4).data<float>()[0];
    const double correction =
        std::sqrt(1.0 - std::pow(static_cast<double>(beta2_), step)) /
        (1.0 - std::pow(static_cast<double>(beta1), step));
    const float alpha = static_cast<float>(lr * correction);
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2_, eps = epsilon_;
    float* w = var.data<float>();
    float* m = args.input(1).data<float>();
    float* v = args.input(2).data<float>();
    const float* g = args.input(3).data<float>();
    if (weight_decay_ != 0) {
      // PyTorch's AdamW: param.mul_(1 - lr * weight_decay), then the step.
      const float decay = static_cast<float>(
          1.0 - lr * static_cast<double>(weight_decay_));
      ParallelRanges(var.num_elements(), [=](int64_t begin, int64_t end) {
#pragma omp simd
        for (int64_t i = begin; i < end; ++i) {
          const float gi = g[i];
          const float mi = m[i] + (gi - m[i]) * c1;
          const float vi = v[i] + (gi * gi - v[i]) * c2;
          m[i] = mi;
          v[i] = vi;
          const float decayed = w[i] * decay;
          w[i] = decayed - alpha * mi / (std::sqrt(vi) + eps);
        }
      });
      args.output(0) = var;
      return absl::OkStatus();
    }
    ParallelRanges(var.num_elements(), [=](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float gi = g[i];
        const float mi = m[i] + (gi - m[i]) * c1;
        const float vi = v[i] + (gi * gi - v[i]) * c2;
        m[i] = mi;
        v[i] = vi;
        w[i] -= alpha * mi / (std::sqrt(vi) + eps);
      }
    });
    args.output(0) = var;
    return absl::OkStatus();
  }

 private:
  bool adamw_;
  float beta1_, beta2_, epsilon_, weight_decay_;
};

// ScheduleLearningRate: the formulas of ops/optimizers.h, in double.
class ScheduleKernel : public Kernel {
 public:
  enum class Kind { kConstant, kStepDecay, kCosine, kOneCycle };

  explicit ScheduleKernel(const KernelContext& c)
      : momentum_(c.op() == "ScheduleMomentum"),
        kind_(ParseKind(c.GetString("schedule")).value_or(Kind::kConstant)),
        step_size_(c.GetInt("step_size")),
        gamma_(c.GetFloat("gamma")),
        total_steps_(c.GetInt("total_steps")),
        warmup_steps_(c.GetInt("warmup_steps")),
        min_lr_(c.GetFloat("min_learning_rate")),
        pct_start_(c.GetFloat("pct_start")),
        div_factor_(c.GetFloat("div_factor")),
        final_div_factor_(c.GetFloat("final_div_factor")),
        base_momentum_(momentum_ ? c.GetFloat("base_momentum") : 0.0f),
        max_momentum_(momentum_ ? c.GetFloat("max_momentum") : 0.0f) {}

  static std::optional<Kind> ParseKind(const std::string& name) {
    if (name == "constant") return Kind::kConstant;
    if (name == "step_decay") return Kind::kStepDecay;
    if (name == "cosine") return Kind::kCosine;
    if (name == "one_cycle") return Kind::kOneCycle;
    return std::nullopt;
  }

  absl::Status Compute(const KernelArgs& args) override {
    const int64_t step = args.input(0).data<int64_t>()[0];
    if (step <= 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ScheduleLearningRate: the step must be positive (1 for the first "
          "update), got ",
          step));
    }
    if (momentum_) {
      args.output(0).data<float>()[0] = static_cast<float>(Momentum(step - 1));
      return absl::OkStatus();
    }
    const double base = args.input(1).data<float>()[0];
    args.output(0).data<float>()[0] =
        static_cast<float>(LearningRate(base, step - 1));
    return absl::OkStatus();
  }

 private:
  static double Anneal(double start, double end, double pct) {
    constexpr double kPi = 3.14159265358979323846;
    return end + (start - end) / 2 * (std::cos(kPi * pct) + 1);
  }

  // ScheduleMomentum: the one-cycle phases with the momentum bounds swapped.
  double Momentum(int64_t k) const {
    const double e1 =
        static_cast<double>(pct_start_) * static_cast<double>(total_steps_) - 1;
    const double e2 = static_cast<double>(total_steps_) - 1;
    const double kk = std::min(static_cast<double>(k), e2);
    const double low = base_momentum_, high = max_momentum_;
    if (kk <= e1) return Anneal(high, low, kk / e1);
    return Anneal(low, high, (kk - e1) / (e2 - e1));
  }

  // k: the steps taken before this one.
  double LearningRate(double base, int64_t k) const {
    constexpr double kPi = 3.14159265358979323846;
    switch (kind_) {
      case Kind::kConstant:
        return base;
      case Kind::kStepDecay:
        return base * std::pow(static_cast<double>(gamma_),
                               static_cast<double>(k / step_size_));
      case Kind::kCosine: {
        const double w = static_cast<double>(warmup_steps_);
        if (k < warmup_steps_) return base * static_cast<double>(k) / w;
        const double span = static_cast<double>(total_steps_) - w;
        const double p =
            std::min(static_cast<double>(k) - w, span) / span;
        const double floor = min_lr_;
        return floor + (base - floor) * (1 + std::cos(kPi * p)) / 2;
      }
      case Kind::kOneCycle: {
        auto anneal = [kPi](double start, double end, double pct) {
          return end + (start - end) / 2 * (std::cos(kPi * pct) + 1);
        };
        const double initial = base / static_cast<double>(div_factor_);
        const double final_lr =
            initial / static_cast<double>(final_div_factor_);
        const double e1 =
            static_cast<double>(pct_start_) * static_cast<double>(total_steps_) -
            1;
        const double e2 = static_cast<double>(total_steps_) - 1;
        const double kk = std::min(static_cast<double>(k), e2);
        if (kk <= e1) return anneal(initial, base, kk / e1);
        return anneal(base, final_lr, (kk - e1) / (e2 - e1));
      }
    }
    return base;
  }

  bool momentum_;
  Kind kind_;
  int64_t step_size_;
  float gamma_;
  int64_t total_steps_;
  int64_t warmup_steps_;
  float min_lr_;
  float pct_start_;
  float div_factor_;
  float final_div_factor_;
  float base_momentum_;
  float max_momentum_;
};

bool PositiveFinite(float x) { return std::isfinite(x) && x > 0; }

// The schedule's settings, checked when the graph is built or loaded.
absl::Status CheckSchedule(const ShapeContext& c) {
  const std::string& name = c.GetString("schedule");
  std::optional<ScheduleKernel::Kind> kind = ScheduleKernel::ParseKind(name);
  if (!kind.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schedule must be \"constant\", \"step_decay\", \"cosine\" or "
        "\"one_cycle\", got \"",
        name, "\""));
  }
  const int64_t total = c.GetInt("total_steps");
  switch (*kind) {
    case ScheduleKernel::Kind::kConstant:
      break;
    case ScheduleKernel::Kind::kStepDecay:
      if (c.GetInt("step_size") < 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "step_size must be at least 1, got ", c.GetInt("step_size")));
      }
      if (!(std::isfinite(c.GetFloat("gamma")) && c.GetFloat("gamma") >= 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "gamma must be finite and non-negative, got ", c.GetFloat("gamma")));
      }
      break;
    case ScheduleKernel::Kind::kCosine: {
      const int64_t warmup = c.GetInt("warmup_steps");
      if (warmup < 0 || total <= warmup) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the cosine schedule needs 0 <= warmup_steps < total_steps, got "
            "warmup_steps ",
            warmup, " and total_steps ", total));
      }
      const float floor = c.GetFloat("min_learning_rate");
      if (!(std::isfinite(floor) && floor >= 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "min_learning_rate must be finite and non-negative, got ", floor));
      }
      break;
    }
    case ScheduleKernel::Kind::kOneCycle: {
      const float pct = c.GetFloat("pct_start");
      if (total < 2 || !(pct > 0 && pct < 1) ||
          !(static_cast<double>(pct) * static_cast<double>(total) > 1)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the one-cycle schedule needs total_steps >= 2 and pct_start in "
            "(0, 1) with pct_start * total_steps > 1, got total_steps ",
            total, " and pct_start ", pct));
      }
      for (const char* attr : {"div_factor", "final_div_factor"}) {
        if (!PositiveFinite(c.GetFloat(attr))) {
          return absl::InvalidArgumentError(absl::StrCat(
              attr, " must be positive and finite, got ", c.GetFloat(attr)));
        }
      }
      break;
    }
  }
  return absl::OkStatus();
}

class AssignAddKernel : public Kernel {
 public:
  explicit AssignAddKernel(const KernelContext&) {}

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& var = args.input(0);
    switch (var.dtype()) {
      case DType::kF32:
        Add<float>(var, args.input(1));
        break;
      case DType::kI32:
        Add<int32_t>(var, args.input(1));
        break;
      case DType::kI64:
        Add<int64_t>(var, args.input(1));
        break;
      default:
        return absl::InternalError(
            absl::StrCat("AssignAdd on ", DTypeName(var.dtype())));
    }
    args.output(0) = var;
    return absl::OkStatus();
  }

 private:
  template <typename T>
  static void Add(const Tensor& var, const Tensor& delta) {
    T* x = var.data<T>();
    const T* d = delta.data<T>();
    ParallelRanges(var.num_elements(), [=](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) x[i] += d[i];
    });
  }
};

NABLA_REGISTER_OP(OpSchema("ApplySgd")
                      .Input("var")
                      .Input("grad")
                      .Input("lr")
                      .Output("updated")
                      .SetShapeFn(UpdateShapeFn(2, 1))
                      .SetKernel(UpdateKernel<SgdKernel>(2, 1))
                      .SetKernelSetsOutputs()
                      .WritesInput(0)
                      .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("ApplyMomentum")
        .Input("var")
        .Input("accum")
        .Input("grad")
        .Input("lr")
        .Output("updated")
        .Attr("momentum", AttrType::kFloat, FloatAttr(0.9f))
        .Attr("nesterov", AttrType::kBool, BoolAttr(false))
        .SetShapeFn(UpdateShapeFn(3, 1,
                                  [](const ShapeContext& c) {
                                    return CheckInRange(c, "momentum", 0, 1,
                                                        true);
                                  }))
        .SetKernel(UpdateKernel<MomentumKernel>(3, 1))
        .SetKernelSetsOutputs()
        .WritesInput(0)
        .WritesInput(1)
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("ApplyAdam")
        .Input("var")
        .Input("m")
        .Input("v")
        .Input("grad")
        .Input("lr")
        .Input("step", {DType::kI64})
        .Output("updated")
        .Attr("beta1", AttrType::kFloat, FloatAttr(0.9f))
        .Attr("beta2", AttrType::kFloat, FloatAttr(0.999f))
        .Attr("epsilon", AttrType::kFloat, FloatAttr(1e-7f))
        .SetShapeFn(UpdateShapeFn(
            4, 2,
            [](const ShapeContext& c) -> absl::Status {
              NABLA_RETURN_IF_ERROR(CheckInRange(c, "beta1", 0, 1, false));
              NABLA_RETURN_IF_ERROR(CheckInRange(c, "beta2", 0, 1, false));
              return CheckPositiveEpsilon(c);
            }))
        .SetKernel(UpdateKernel<AdamKernel>(4, 2))
        .SetKernelSetsOutputs()
        .WritesInput(0)
        .WritesInput(1)
        .WritesInput(2)
        .NotDifferentiable());

// ApplyAdam's inputs and attrs, plus the decay.
NABLA_REGISTER_OP(
    OpSchema("ApplyAdamW")
        .Input("var")
        .Input("m")
        .Input("v")
        .Input("grad")
        .Input("lr")
        .Input("step", {DType::kI64})
        .Input("beta1")
        .Output("updated")
        .Attr("beta2", AttrType::kFloat, FloatAttr(0.999f))
        .Attr("epsilon", AttrType::kFloat, FloatAttr(1e-7f))
        .Attr("weight_decay", AttrType::kFloat, FloatAttr(0.01f))
        .SetShapeFn(UpdateShapeFn(
            4, 3,
            [](const ShapeContext& c) -> absl::Status {
              NABLA_RETURN_IF_ERROR(CheckInRange(c, "beta2", 0, 1, false));
              NABLA_RETURN_IF_ERROR(CheckPositiveEpsilon(c));
              float decay = c.GetFloat("weight_decay");
              if (!(decay >= 0) || !std::isfinite(decay)) {
                return absl::InvalidArgumentError(absl::StrCat(
                    "weight_decay must be finite and non-negative, got ",
                    decay));
              }
              return absl::OkStatus();
            }))
        .SetKernel(UpdateKernel<AdamKernel>(4, 3))
        .SetKernelSetsOutputs()
        .WritesInput(0)
        .WritesInput(1)
        .WritesInput(2)
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("ScheduleLearningRate")
        .Input("step", {DType::kI64})
        .Input("base_lr")
        .Output("lr")
        .Attr("schedule", AttrType::kString, StringAttr("constant"))
        .Attr("step_size", AttrType::kInt, IntAttr(1))
        .Attr("gamma", AttrType::kFloat, FloatAttr(0.1f))
        .Attr("total_steps", AttrType::kInt, IntAttr(1))
        .Attr("warmup_steps", AttrType::kInt, IntAttr(0))
        .Attr("min_learning_rate", AttrType::kFloat, FloatAttr(0))
        .Attr("pct_start", AttrType::kFloat, FloatAttr(0.3f))
        .Attr("div_factor", AttrType::kFloat, FloatAttr(25))
        .Attr("final_div_factor", AttrType::kFloat, FloatAttr(1e4f))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          for (int i = 0; i < 2; ++i) {
            if (c.input_shape(i).rank() != 0) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "input '", InputName(c, i), "' must be a scalar, got ",
                  c.input_shape(i).ToString()));
            }
          }
          NABLA_RETURN_IF_ERROR(CheckSchedule(c));
          return std::vector<TensorSpec>{TensorSpec{DType::kF32, Shape()}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          return std::unique_ptr<Kernel>(std::make_unique<ScheduleKernel>(c));
        })
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("ScheduleMomentum")
        .Input("step", {DType::kI64})
        .Output("momentum")
        .Attr("schedule", AttrType::kString, StringAttr("one_cycle"))
        .Attr("total_steps", AttrType::kInt, IntAttr(1))
        .Attr("pct_start", AttrType::kFloat, FloatAttr(0.3f))
        .Attr("base_momentum", AttrType::kFloat, FloatAttr(0.85f))
        .Attr("max_momentum", AttrType::kFloat, FloatAttr(0.95f))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          if (c.input_shape(0).rank() != 0) {
            return absl::InvalidArgumentError(absl::StrCat(
                "input 'step' must be a scalar, got ",
                c.input_shape(0).ToString()));
          }
          if (c.GetString("schedule") != "one_cycle") {
            return absl::InvalidArgumentError(absl::StrCat(
                "only the \"one_cycle\" schedule cycles momentum, got \"",
                c.GetString("schedule"), "\""));
          }
          const int64_t total = c.GetInt("total_steps");
          const float pct = c.GetFloat("pct_start");
          if (total < 2 || !(pct > 0 && pct < 1) ||
              !(static_cast<double>(pct) * static_cast<double>(total) > 1)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "the one-cycle schedule needs total_steps >= 2 and pct_start "
                "in (0, 1) with pct_start * total_steps > 1, got total_steps ",
                total, " and pct_start ", pct));
          }
          const float low = c.GetFloat("base_momentum");
          const float high = c.GetFloat("max_momentum");
          if (!(low >= 0 && low <= high && high < 1)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "cycled momentum needs 0 <= base_momentum <= max_momentum < 1, "
                "got base_momentum ",
                low, " and max_momentum ", high));
          }
          return std::vector<TensorSpec>{TensorSpec{DType::kF32, Shape()}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          return std::unique_ptr<Kernel>(std::make_unique<ScheduleKernel>(c));
        })
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("AssignAdd")
        .Input("var", {DType::kF32, DType::kI32, DType::kI64})
        .Input("delta", {DType::kF32, DType::kI32, DType::kI64})
        .Output("value")
        .SetShapeFn(UpdateShapeFn(2, 0,
                                  [](const ShapeContext& c) -> absl::Status {
                                    if (c.input(1).dtype != c.input(0).dtype) {
                                      return absl::InvalidArgumentError(
                                          absl::StrCat(
                                              "delta is ",
                                              DTypeName(c.input(1).dtype),
                                              " but the variable is ",
                                              DTypeName(c.input(0).dtype)));
                                    }
                                    return absl::OkStatus();
                                  }))
        .SetKernel(UpdateKernel<AssignAddKernel>(2, 0))
        .SetKernelSetsOutputs()
        .WritesInput(0)
        .NotDifferentiable());

}  // namespace

Output ApplySgd(Output var, Output grad, Output lr, absl::string_view name) {
  return MakeOp("ApplySgd", {var, grad, lr}, {}, name);
}

Output ApplyMomentum(Output var, Output accum, Output grad, Output lr,
                     float momentum, bool nesterov, absl::string_view name) {
  return MakeOp("ApplyMomentum", {var, accum, grad, lr},
                {{"momentum", FloatAttr(momentum)},
                 {"nesterov", BoolAttr(nesterov)}},
                name);
}

Output ApplyAdam(Output var, Output m, Output v, Output grad, Output lr,
                 Output step, float beta1, float beta2, float epsilon,
                 absl::string_view name) {
  return MakeOp("ApplyAdam", {var, m, v, grad, lr, step},
                {{"beta1", FloatAttr(beta1)},
                 {"beta2", FloatAttr(beta2)},
                 {"epsilon", FloatAttr(epsilon)}},
                name);
}

Output ApplyAdamW(Output var, Output m, Output v, Output grad, Output lr,
                  Output step, Output beta1, float weight_decay, float beta2,
                  float epsilon, absl::string_view name) {
  return MakeOp("ApplyAdamW", {var, m, v, grad, lr, step, beta1},
                {{"beta2", FloatAttr(beta2)},
                 {"epsilon", FloatAttr(epsilon)},
                 {"weight_decay", FloatAttr(weight_decay)}},
                name);
}

Output ScheduleLearningRate(Output step, Output base_lr,
                            const ScheduleLearningRateAttrs& attrs,
                            absl::string_view name) {
  return MakeOp("ScheduleLearningRate", {step, base_lr},
                {{"schedule", StringAttr(attrs.schedule)},
                 {"step_size", IntAttr(attrs.step_size)},
                 {"gamma", FloatAttr(attrs.gamma)},
                 {"total_steps", IntAttr(attrs.total_steps)},
                 {"warmup_steps", IntAttr(attrs.warmup_steps)},
                 {"min_learning_rate", FloatAttr(attrs.min_learning_rate)},
                 {"pct_start", FloatAttr(attrs.pct_start)},
                 {"div_factor", FloatAttr(attrs.div_factor)},
                 {"final_div_factor", FloatAttr(attrs.final_div_factor)}},
                name);
}

Output ScheduleMomentum(Output step, const ScheduleLearningRateAttrs& attrs,
                        absl::string_view name) {
  return MakeOp("ScheduleMomentum", {step},
                {{"schedule", StringAttr(attrs.schedule)},
                 {"total_steps", IntAttr(attrs.total_steps)},
                 {"pct_start", FloatAttr(attrs.pct_start)},
                 {"base_momentum", FloatAttr(attrs.base_momentum)},
                 {"max_momentum", FloatAttr(attrs.max_momentum)}},
                name);
}

Output AssignAdd(Output var, Output delta, absl::string_view name) {
  return MakeOp("AssignAdd", {var, delta}, {}, name);
}

}  // namespace nabla
