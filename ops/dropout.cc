// Dropout and its gradient op DropoutGrad.
//
// Training: y = x * mask / keep with keep = 1 - rate, then counter += 1.
// Inference: y = x, the counter untouched. DropoutGrad: dx = dy * mask /
// keep in training and dy in inference (where the mask is all ones).

#include "ops/dropout.h"

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;
using KernelOr = absl::StatusOr<std::unique_ptr<Kernel>>;

// splitmix64's finalizer (Steele, Lea and Flood 2014): a bijection of
// 64-bit words whose outputs for consecutive inputs pass BigCrush.
inline uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

// The per-step key: seed and counter mixed, so that neighbouring counters
// (or seeds) give unrelated masks.
inline uint64_t StepKey(int64_t seed, int64_t counter) {
  return Mix(Mix(static_cast<uint64_t>(seed) + kGolden) ^
             (static_cast<uint64_t>(counter) * kGolden));
}

// Element `index` is kept when the top 32 bits of its hash fall below
// `threshold` = keep * 2^32.
inline bool Keep(uint64_t key, int64_t index, uint64_t threshold) {
  return (Mix(key + static_cast<uint64_t>(index) * kGolden) >> 32) < threshold;
}

uint64_t Threshold(float rate) {
  return static_cast<uint64_t>((1.0 - static_cast<double>(rate)) * 4294967296.0);
}

absl::Status CheckRate(const AttrReader& attrs) {
  const float rate = attrs.GetFloat("rate");
  if (!(rate >= 0.0f && rate < 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate must be in [0, 1), got ", rate));
  }
  return absl::OkStatus();
}

// Inputs x, counter; outputs y and the mask.
class DropoutKernel : public Kernel {
 public:
  DropoutKernel(bool training, bool mask_used, int64_t seed, float rate)
      : training_(training),
        mask_used_(mask_used),
        seed_(seed),
        threshold_(Threshold(rate)),
        scale_(1.0f / (1.0f - rate)) {}

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& x_tensor = args.input(0);
    const float* x = x_tensor.data<float>();
    float* y = args.output(0).data<float>();
    uint8_t* mask = args.output(1).data<uint8_t>();
    const int64_t n = x_tensor.shape().NumElements();
    if (!training_) {
      if (n > 0) std::memcpy(y, x, n * sizeof(float));
      if (mask_used_ && n > 0) std::memset(mask, 1, n);
      return absl::OkStatus();
    }
    int64_t* counter = args.input(1).data<int64_t>();
    const uint64_t key = StepKey(seed_, *counter);
    const uint64_t threshold = threshold_;
    const float scale = scale_;
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      const bool keep = Keep(key, i, threshold);
      mask[i] = keep;
      y[i] = keep ? x[i] * scale : 0.0f;
    }
    ++*counter;
    return absl::OkStatus();
  }

 private:
  bool training_;
  bool mask_used_;
  int64_t seed_;
  uint64_t threshold_;
  float scale_;
};

// Inputs dy, mask; output dx.
class DropoutGradKernel : public Kernel {
 public:
  DropoutGradKernel(bool training, float rate)
      : training_(training), scale_(1.0f / (1.0f - rate)) {}

  absl::Status Compute(const KernelArgs& args) override {
    const float* dy = args.input(0).data<float>();
    const uint8_t* mask = args.input(1).data<uint8_t>();
    float* dx = args.output(0).data<float>();
    const int64_t n = args.input(0).shape().NumElements();
    // In inference the forward was the identity.
    const float scale = training_ ? scale_ : 1.0f;
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
    return absl::OkStatus();
  }

 private:
  bool training_;
  float scale_;
};

NABLA_REGISTER_OP(
    OpSchema("Dropout")
        .Input("x")
        .Input("counter", {DType::kI64})
        .Output("y")
        .Output("mask")
        .Attr("rate", AttrType::kFloat)
        .Attr("seed", AttrType::kInt, IntAttr(0))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckRate(c));
          if (c.input_shape(1).rank() != 0) {
            return absl::InvalidArgumentError(absl::StrCat(
                "counter must be an i64 scalar, got ",
                c.input(1).ToString()));
          }
          return std::vector<TensorSpec>{{DType::kF32, c.input_shape(0)},
                                         {DType::kU8, c.input_shape(0)}};
        })
        .SetKernel([](const KernelContext& c) -> KernelOr {
          return std::unique_ptr<Kernel>(std::make_unique<DropoutKernel>(
              c.training(), c.output_used(1), c.GetInt("seed"),
              c.GetFloat("rate")));
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          return std::vector<Output>{
              g.builder()->AddOp1("DropoutGrad", {g.dy(0), g.y(1)},
                                  {{"rate", g.attrs().at("rate")}},
                                  g.builder()->UniqueName(g.GradName("dx"))),
              Output()};
        })
        .WritesInput(1)
        .DependsOnMode());

NABLA_REGISTER_OP(
    OpSchema("DropoutGrad")
        .Input("dy")
        .Input("mask", {DType::kU8})
        .Output("dx")
        .Attr("rate", AttrType::kFloat)
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckRate(c));
          if (!c.input_shape(0).IsCompatibleWith(c.input_shape(1))) {
            return absl::InvalidArgumentError(
                absl::StrCat("dy ", c.input_shape(0).ToString(),
                             " and mask ", c.input_shape(1).ToString(),
                             " differ"));
          }
          return std::vector<TensorSpec>{{DType::kF32, c.input_shape(0)}};
        })
        .SetKernel([](const KernelContext& c) -> KernelOr {
          return std::unique_ptr<Kernel>(std::make_unique<DropoutGradKernel>(
              c.training(), c.GetFloat("rate")));
        })
        .IsGradientOp()
        .DependsOnMode());

}  // namespace

bool DropoutKeeps(int64_t seed, int64_t counter, int64_t index, float rate) {
  return Keep(StepKey(seed, counter), index, Threshold(rate));
}

Output Dropout(Output x, float rate, int64_t seed, absl::string_view name) {
  GraphBuilder* b = x.builder();
  if (b == nullptr || !x.valid()) return Output();
  std::string node = name.empty() ? b->UniqueName("dropout") : std::string(name);
  Output counter = b->Variable(absl::StrCat(node, "/counter"), Shape(),
                               Initializer::Zeros(), DType::kI64);
  return MakeOp("Dropout", {x, counter},
                {{"rate", FloatAttr(rate)}, {"seed", IntAttr(seed)}}, node);
}

}  // namespace nabla
