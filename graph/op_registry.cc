#include "graph/op_registry.h"

#include <cstdio>
#include <cstdlib>

#include "graph/builder.h"

namespace nabla {

OpSchema& OpSchema::Input(std::string name, std::vector<DType> dtypes) {
  inputs_.push_back(InputSpec{std::move(name), std::move(dtypes)});
  return *this;
}
OpSchema& OpSchema::Output(std::string name) {
  outputs_.push_back(std::move(name));
  return *this;
}
OpSchema& OpSchema::Attr(std::string name, AttrType type) {
  attrs_.push_back(AttrSpec{std::move(name), type, std::nullopt});
  return *this;
}
OpSchema& OpSchema::Attr(std::string name, AttrType type,
                         proto::AttrValue default_value) {
  attrs_.push_back(AttrSpec{std::move(name), type, std::move(default_value)});
  return *this;
}
OpSchema& OpSchema::SetShapeFn(ShapeFn fn) {
  shape_fn_ = std::move(fn);
  return *this;
}
OpSchema& OpSchema::SetKernel(KernelFactory factory) {
  kernel_factory_ = std::move(factory);
  return *this;
}
OpSchema& OpSchema::SetGradient(GradFn fn) {
  gradient_ = std::move(fn);
  return *this;
}
OpSchema& OpSchema::NotDifferentiable() {
  not_differentiable_ = true;
  return *this;
}
OpSchema& OpSchema::IsGradientOp() {
  is_gradient_op_ = true;
  return *this;
}
OpSchema& OpSchema::SetKernelSetsOutputs() {
  kernel_sets_outputs_ = true;
  return *this;
}
OpSchema& OpSchema::WritesInput(int i) {
  written_inputs_.push_back(i);
  return *this;
}
OpSchema& OpSchema::DependsOnMode() {
  depends_on_mode_ = true;
  return *this;
}

OpRegistry& OpRegistry::Global() {
  static OpRegistry* registry = new OpRegistry();
  return *registry;
}

void OpRegistry::Register(OpSchema schema) {
  if (Find(schema.name()) != nullptr) {
    std::fprintf(stderr, "nabla: op %s registered twice\n",
                 schema.name().c_str());
    std::abort();
  }
  schemas_.push_back(std::make_unique<OpSchema>(std::move(schema)));
}

const OpSchema* OpRegistry::Find(absl::string_view name) const {
  for (const auto& schema : schemas_) {
    if (schema->name() == name) return schema.get();
  }
  return nullptr;
}

std::vector<const OpSchema*> OpRegistry::All() const {
  std::vector<const OpSchema*> all;
  for (const auto& schema : schemas_) all.push_back(schema.get());
  return all;
}

ShapeFn SameAsInput(int i) {
  return [i](const ShapeContext& c) -> absl::StatusOr<std::vector<TensorSpec>> {
    return std::vector<TensorSpec>{c.input(i)};
  };
}

namespace {

class FunctionKernelImpl : public Kernel {
 public:
  explicit FunctionKernelImpl(
      std::function<absl::Status(const KernelArgs&)> compute)
      : compute_(std::move(compute)) {}
  absl::Status Compute(const KernelArgs& args) override {
    return compute_(args);
  }

 private:
  std::function<absl::Status(const KernelArgs&)> compute_;
};

}  // namespace

KernelFactory FunctionKernel(
    std::function<absl::Status(const KernelArgs&)> compute) {
  return [compute](const KernelContext&)
             -> absl::StatusOr<std::unique_ptr<Kernel>> {
    return std::make_unique<FunctionKernelImpl>(compute);
  };
}

GradContext::GradContext(GraphBuilder* builder, int node, const AttrMap* attrs,
                         std::vector<nabla::Output> inputs,
                         std::vector<nabla::Output> outputs,
                         std::vector<nabla::Output> output_grads)
    : AttrReader(attrs),
      builder_(builder),
      node_(node),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)),
      output_grads_(std::move(output_grads)) {}

const Output& GradContext::x(int i) const { return inputs_[i]; }
const Output& GradContext::y(int i) const { return outputs_[i]; }
const Output& GradContext::dy(int i) const { return output_grads_[i]; }
bool GradContext::has_dy(int i) const { return output_grads_[i].valid(); }
const TensorSpec& GradContext::x_spec(int i) const {
  return inputs_[i].spec();
}
std::string GradContext::GradName(absl::string_view suffix) const {
  return absl::StrCat(builder_->graph().node(node_).name, "_grad/", suffix);
}

}  // namespace nabla
