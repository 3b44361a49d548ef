// ArgMax and Accuracy: plain loops, since oneDNN 2.6 has no arg-reduction.

#include "ops/metrics.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/class_labels.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

// The index of the first maximum of x[0], x[stride], ... x[(n-1)*stride];
// n >= 1. Only a strictly larger value displaces the current best, so ties
// go to the first; a NaN wins outright, as in NumPy.
template <typename T>
int64_t FirstMax(const T* x, int64_t n, int64_t stride) {
  int64_t best = 0;
  T best_value = x[0];
  if (IsNan(best_value)) return 0;
  for (int64_t j = 1; j < n; ++j) {
    T v = x[j * stride];
    if (IsNan(v)) return j;
    if (v > best_value) {
      best = j;
      best_value = v;
    }
  }
  return best;
}

// x viewed as [outer, n, inner] with the reduced axis in the middle.
class ArgMaxKernel : public Kernel {
 public:
  static absl::StatusOr<std::unique_ptr<Kernel>> Create(const KernelContext& c) {
    const Shape& x = c.input_shape(0);
    NABLA_ASSIGN_OR_RETURN(int axis, ResolveAxis(c.GetInt("axis"), x.rank()));
    auto k = std::make_unique<ArgMaxKernel>();
    k->dtype_ = c.input(0).dtype;
    for (int i = 0; i < axis; ++i) k->outer_ *= x[i];
    for (int i = axis + 1; i < x.rank(); ++i) k->inner_ *= x[i];
    k->n_ = x[axis];
    return std::unique_ptr<Kernel>(std::move(k));
  }

  absl::Status Compute(const KernelArgs& args) override {
    int64_t* dst = args.output(0).data<int64_t>();
    switch (dtype_) {
      case DType::kI32:
        Run(args.input(0).data<int32_t>(), dst);
        break;
      case DType::kI64:
        Run(args.input(0).data<int64_t>(), dst);
        break;
      default:
        Run(args.input(0).data<float>(), dst);
        break;
    }
    return absl::OkStatus();
  }

 private:
  template <typename T>
  void Run(const T* src, int64_t* dst) const {
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        dst[o * inner_ + i] = FirstMax(src + o * n_ * inner_ + i, n_, inner_);
      }
    }
  }

  DType dtype_ = DType::kF32;
  int64_t outer_ = 1;
  int64_t n_ = 1;
  int64_t inner_ = 1;
};

NABLA_REGISTER_OP(
    OpSchema("ArgMax")
        .Input("x", {DType::kF32, DType::kI32, DType::kI64})
        .Output("indices")
        .Attr("axis", AttrType::kInt, IntAttr(-1))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          const Shape& x = c.input_shape(0);
          if (x.rank() == 0) {
            return absl::InvalidArgumentError(
                "x must have rank >= 1 to take an argmax along an axis, got a "
                "scalar");
          }
          NABLA_ASSIGN_OR_RETURN(int axis,
                                 ResolveAxis(c.GetInt("axis"), x.rank()));
          if (x[axis] == 0) {
            return absl::InvalidArgumentError(absl::StrCat(
                "axis ", c.GetInt("axis"), " of ", x.ToString(),
                " is empty, so it has no maximum"));
          }
          Shape::Dims dims;
          for (int i = 0; i < x.rank(); ++i) {
            if (i != axis) dims.push_back(x[i]);
          }
          return std::vector<TensorSpec>{
              {DType::kI64, Shape(absl::MakeConstSpan(dims))}};
        })
        .SetKernel(&ArgMaxKernel::Create)
        .NotDifferentiable());

absl::Status CheckAccuracyInputs(const ShapeContext& c) {
  return CheckClassLabels(c.input_shape(0), c.input(1), "scores");
}

class AccuracyKernel : public Kernel {
 public:
  static absl::StatusOr<std::unique_ptr<Kernel>> Create(const KernelContext& c) {
    auto k = std::make_unique<AccuracyKernel>();
    k->rows_ = c.input_shape(0)[0];
    k->classes_ = c.input_shape(0)[1];
    return std::unique_ptr<Kernel>(std::move(k));
  }

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& labels = args.input(1);
    const float* scores = args.input(0).data<float>();
    int64_t correct = 0;
    for (int64_t i = 0; i < rows_; ++i) {
      int64_t label;
      switch (labels.dtype()) {
        case DType::kI32:
          label = labels.data<int32_t>()[i];
          break;
        case DType::kI64:
          label = labels.data<int64_t>()[i];
          break;
        default:
          label = FirstMax(labels.data<float>() + i * classes_, classes_, 1);
          break;
      }
      if (label < 0 || label >= classes_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "labels[", i, "] = ", label, " is not a class index in [0, ",
            classes_, ")"));
      }
      correct += FirstMax(scores + i * classes_, classes_, 1) == label;
    }
    args.output(0).data<float>()[0] =
        rows_ > 0 ? static_cast<float>(static_cast<double>(correct) / rows_)
                  : 0.0f;
    return absl::OkStatus();
  }

 private:
  int64_t rows_ = 0;
  int64_t classes_ = 0;
};

NABLA_REGISTER_OP(
    OpSchema("Accuracy")
        .Input("scores")
        .Input("labels", {DType::kF32, DType::kI32, DType::kI64})
        .Output("accuracy")
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckAccuracyInputs(c));
          return std::vector<TensorSpec>{{DType::kF32, Shape()}};
        })
        .SetKernel(&AccuracyKernel::Create)
        .NotDifferentiable());

}  // namespace

Output ArgMax(Output x, int64_t axis, absl::string_view name) {
  return MakeOp("ArgMax", {x}, {{"axis", IntAttr(axis)}}, name);
}

Output Accuracy(Output scores, Output labels, absl::string_view name) {
  return MakeOp("Accuracy", {scores, labels}, {}, name);
}

}  // namespace nabla
