// AllReduce, AllReduceBucket, AllReducePut, AllReduceStart, AllReduceWait
// and AllReduceTake. See dist/ops.h.

#include "dist/ops.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

proto::AttrValue ReductionAttr(dist::Reduction reduction) {
  return StringAttr(dist::ReductionName(reduction));
}

absl::Status CheckReductionAttr(const AttrReader& attrs) {
  return dist::ParseReduction(attrs.GetString("reduction")).status();
}

// A bucket input: a fully known f32 vector.
absl::Status CheckBucket(const ShapeContext& c) {
  const Shape& shape = c.input_shape(0);
  if (shape.rank() != 1 || !shape.IsFullyDefined()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input 'bucket' must be a vector of known size, got ",
        shape.ToString()));
  }
  return absl::OkStatus();
}

// [offset, offset + count) must lie in the bucket.
absl::Status CheckRange(const ShapeContext& c, int64_t count) {
  const int64_t offset = c.GetInt("offset");
  const int64_t size = c.input_shape(0)[0];
  if (offset < 0 || count < 0 || offset > size || count > size - offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "elements [", offset, ", ", offset + count,
        ") do not lie in the bucket of ", size));
  }
  return absl::OkStatus();
}

std::string Describe(const KernelContext& c, int64_t elements) {
  return absl::StrCat(c.op(), " node '", c.node_name(), "' (", elements,
                      " floats)");
}

// Gives each node's output 0 input 0 itself, after `before` ran on it.
template <typename Fn>
KernelFactory PassThrough(Fn make_before) {
  return [make_before](const KernelContext& c)
             -> absl::StatusOr<std::unique_ptr<Kernel>> {
    auto before = make_before(c);
    return FunctionKernel([before](const KernelArgs& args) -> absl::Status {
      NABLA_RETURN_IF_ERROR(before(args));
      args.output(0) = args.input(0);
      return absl::OkStatus();
    })(c);
  };
}

class AllReduceKernel : public Kernel {
 public:
  explicit AllReduceKernel(const KernelContext& c)
      : reduction_(*dist::ParseReduction(c.GetString("reduction"))),
        what_(Describe(c, c.input(0).shape.NumElements())) {}

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& x = args.input(0);
    Tensor& y = args.output(0);
    std::memcpy(y.raw_data(), x.raw_data(), x.nbytes());
    auto ticket = dist::StartAllReduce(y.data<float>(), y.num_elements(),
                                       reduction_, what_);
    if (ticket != nullptr) dist::World::Get()->Await(ticket);
    return absl::OkStatus();
  }

 private:
  dist::Reduction reduction_;
  std::string what_;
};

NABLA_REGISTER_OP(
    OpSchema("AllReduce")
        .Input("x")
        .Output("y")
        .Attr("reduction", AttrType::kString, StringAttr("mean"))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckReductionAttr(c));
          return std::vector<TensorSpec>{c.input(0)};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          return std::unique_ptr<Kernel>(std::make_unique<AllReduceKernel>(c));
        })
        // Every process's loss depends on every process's x through y, so
        // d loss / d x = the same reduction of dy.
        .SetGradient([](const GradContext& g) -> GradResult {
          return std::vector<Output>{
              AllReduce(g.dy(0), *dist::ParseReduction(g.GetString("reduction")),
                        g.GradName("allreduce"))};
        }));

// The bucket's buffer lives as long as the kernel, that is as long as the
// compiled plan, so a reduction in flight never loses it to the arena.
class BucketKernel : public Kernel {
 public:
  explicit BucketKernel(const KernelContext& c)
      : buffer_(DType::kF32, c.output_shape(0)) {}
  absl::Status Compute(const KernelArgs& args) override {
    args.output(0) = buffer_;
    return absl::OkStatus();
  }

 private:
  Tensor buffer_;
};

NABLA_REGISTER_OP(
    OpSchema("AllReduceBucket")
        .Output("bucket")
        .Attr("elements", AttrType::kInt)
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          const int64_t elements = c.GetInt("elements");
          if (elements < 1) {
            return absl::InvalidArgumentError(absl::StrCat(
                "a bucket needs at least one element, got ", elements));
          }
          return std::vector<TensorSpec>{{DType::kF32, Shape({elements})}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          return std::unique_ptr<Kernel>(std::make_unique<BucketKernel>(c));
        })
        .SetKernelSetsOutputs()
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("AllReducePut")
        .Input("bucket")
        .Input("x")
        .Output("bucket")
        .Attr("offset", AttrType::kInt)
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckBucket(c));
          if (!c.input_shape(1).IsFullyDefined()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "input 'x' must have a known shape, got ",
                c.input_shape(1).ToString()));
          }
          NABLA_RETURN_IF_ERROR(CheckRange(c, c.input_shape(1).NumElements()));
          return std::vector<TensorSpec>{c.input(0)};
        })
        .SetKernel(PassThrough([](const KernelContext& c) {
          const int64_t offset = c.GetInt("offset");
          return [offset](const KernelArgs& args) {
            const Tensor& x = args.input(1);
            std::memcpy(args.input(0).data<float>() + offset, x.raw_data(),
                        x.nbytes());
            return absl::OkStatus();
          };
        }))
        .SetKernelSetsOutputs()
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("AllReduceStart")
        .Input("bucket")
        .Output("bucket")
        .Attr("reduction", AttrType::kString, StringAttr("mean"))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckBucket(c));
          NABLA_RETURN_IF_ERROR(CheckReductionAttr(c));
          return std::vector<TensorSpec>{c.input(0)};
        })
        .SetKernel(PassThrough([](const KernelContext& c) {
          const dist::Reduction reduction =
              *dist::ParseReduction(c.GetString("reduction"));
          const std::string what = Describe(c, c.input(0).shape.NumElements());
          return [reduction, what](const KernelArgs& args) {
            const Tensor& bucket = args.input(0);
            auto ticket = dist::StartAllReduce(
                bucket.data<float>(), bucket.num_elements(), reduction, what);
            if (ticket != nullptr) {
              dist::World::Get()->Park(bucket.raw_data(), std::move(ticket));
            }
            return absl::OkStatus();
          };
        }))
        .SetKernelSetsOutputs()
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("AllReduceWait")
        .Input("bucket")
        .Output("bucket")
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckBucket(c));
          return std::vector<TensorSpec>{c.input(0)};
        })
        .SetKernel(PassThrough([](const KernelContext& c) {
          return [](const KernelArgs& args) -> absl::Status {
            dist::World* world = dist::World::Get();
            if (world == nullptr || world->size() == 1) return absl::OkStatus();
            auto ticket = world->Unpark(args.input(0).raw_data());
            if (ticket == nullptr) {
              return absl::FailedPreconditionError(
                  "no reduction of this bucket is in flight: feed the bucket "
                  "through an AllReduceStart that runs in the same step");
            }
            world->Await(ticket);
            return absl::OkStatus();
          };
        }))
        .SetKernelSetsOutputs()
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("AllReduceTake")
        .Input("bucket")
        .Output("y")
        .Attr("offset", AttrType::kInt)
        .Attr("shape", AttrType::kShape)
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckBucket(c));
          Shape shape = c.GetShape("shape");
          if (!shape.IsFullyDefined()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "attribute 'shape' must be fully defined, got ",
                shape.ToString()));
          }
          NABLA_RETURN_IF_ERROR(CheckRange(c, shape.NumElements()));
          return std::vector<TensorSpec>{{DType::kF32, shape}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          const int64_t offset = c.GetInt("offset");
          return FunctionKernel([offset](const KernelArgs& args) {
            Tensor& y = args.output(0);
            std::memcpy(y.raw_data(), args.input(0).data<float>() + offset,
                        y.nbytes());
            return absl::OkStatus();
          })(c);
        })
        .NotDifferentiable());

}  // namespace

Output AllReduce(Output x, dist::Reduction reduction, absl::string_view name) {
  return MakeOp("AllReduce", {x}, {{"reduction", ReductionAttr(reduction)}},
                name);
}

Output AllReduceBucket(GraphBuilder& b, int64_t elements,
                       absl::string_view name) {
  return b.AddOp1("AllReduceBucket", {}, {{"elements", IntAttr(elements)}},
                  name);
}

Output AllReducePut(Output bucket, Output x, int64_t offset,
                    absl::string_view name) {
  return MakeOp("AllReducePut", {bucket, x}, {{"offset", IntAttr(offset)}},
                name);
}

Output AllReduceStart(Output bucket, dist::Reduction reduction,
                      absl::string_view name) {
  return MakeOp("AllReduceStart", {bucket},
                {{"reduction", ReductionAttr(reduction)}}, name);
}

Output AllReduceWait(Output bucket, absl::string_view name) {
  return MakeOp("AllReduceWait", {bucket}, {}, name);
}

Output AllReduceTake(Output bucket, int64_t offset, const Shape& shape,
                     absl::string_view name) {
  return MakeOp("AllReduceTake", {bucket},
                {{"offset", IntAttr(offset)}, {"shape", ShapeAttr(shape)}},
                name);
}

}  // namespace nabla
