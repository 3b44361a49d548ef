// The op registry: everything nabla knows about an op, declared once.
//
// An op family's file in ops/ registers each op with its inputs, outputs,
// typed attributes, shape function, kernel factory and gradient rule:
//
//   NABLA_REGISTER_OP(OpSchema("Relu")
//       .Input("x", {DType::kF32})
//       .Output("y")
//       .SetShapeFn(SameAsInput(0))
//       .SetKernel(MakeEltwiseKernel(dnnl::algorithm::eltwise_relu))
//       .SetGradient([](const GradContext& g) -> GradResult {
//         return {ReluGrad(g.dy(0), g.y(0))};
//       }));
//
// The graph builder checks inputs and attributes against the schema before a
// shape function runs, and the executor asks the kernel factory for a kernel
// once per compiled plan.

#ifndef NABLA_GRAPH_OP_REGISTRY_H_
#define NABLA_GRAPH_OP_REGISTRY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/dtype.h"
#include "core/layout.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "graph/attr.h"
#include "graph/output.h"

namespace nabla {

class GraphBuilder;
class VariableStore;

// TensorSpec is what shape inference knows of a value: dtype and shape.
struct TensorSpec {
  DType dtype = DType::kInvalid;
  Shape shape;

  std::string ToString() const;
  friend bool operator==(const TensorSpec& a, const TensorSpec& b) {
    return a.dtype == b.dtype && a.shape == b.shape;
  }
};

// ShapeContext is what a shape function sees of a node being added.
class ShapeContext : public AttrReader {
 public:
  ShapeContext(absl::string_view op, absl::string_view node_name,
               const AttrMap* attrs, absl::Span<const TensorSpec> inputs)
      : AttrReader(attrs), op_(op), node_name_(node_name), inputs_(inputs) {}

  absl::string_view op() const { return op_; }
  absl::string_view node_name() const { return node_name_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const TensorSpec& input(int i) const { return inputs_[i]; }
  const Shape& input_shape(int i) const { return inputs_[i].shape; }

 private:
  absl::string_view op_;
  absl::string_view node_name_;
  absl::Span<const TensorSpec> inputs_;
};

using ShapeFn =
    std::function<absl::StatusOr<std::vector<TensorSpec>>(const ShapeContext&)>;

// KernelArgs gives a running kernel its inputs and outputs without copying.
// Outputs arrive allocated with their compiled shapes, unless the op is
// declared SetKernelSetsOutputs(), in which case the kernel assigns them.
class KernelArgs {
 public:
  KernelArgs(Tensor* values, const int* inputs, const int* outputs)
      : values_(values), inputs_(inputs), outputs_(outputs) {}

  const Tensor& input(int i) const { return values_[inputs_[i]]; }
  Tensor& output(int i) const { return values_[outputs_[i]]; }

 private:
  Tensor* values_;
  const int* inputs_;
  const int* outputs_;
};

// Kernel: an op's computation prepared for fixed shapes. Everything costly
// (primitive descriptors, primitives, scratch buffers) is made by the
// factory; Compute only runs.
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual absl::Status Compute(const KernelArgs& args) = 0;
};

// KernelContext is what a kernel factory sees: the node's attributes, the
// concrete (batch-resolved) specs of its inputs and outputs, and the
// layouts its inputs arrive in.
//
// Layouts (core/layout.h): a factory that knows nothing of layouts sees only
// plain tensors, because every input it does not ask for otherwise is
// reordered to plain before it runs. A oneDNN kernel that can work in the
// layout its producer chose accepts it (AcceptInputLayout), or asks for the
// layout its primitive prefers (RequestInputLayout), and declares blocked
// outputs (SetOutputLayout), so that values flow between primitives with
// reorders only where two neighbours disagree.
class KernelContext : public ShapeContext {
 public:
  KernelContext(absl::string_view op, absl::string_view node_name,
                const AttrMap* attrs, absl::Span<const TensorSpec> inputs,
                absl::Span<const TensorSpec> outputs,
                std::vector<bool> output_used, VariableStore* variables,
                std::vector<Layout> input_layouts, bool training = false)
      : ShapeContext(op, node_name, attrs, inputs),
        outputs_(outputs),
        output_used_(std::move(output_used)),
        variables_(variables),
        input_layouts_(std::move(input_layouts)),
        training_(training) {
    for (int i = 0; i < num_inputs(); ++i) {
      requested_layouts_.push_back(PlainLayout(input(i).shape, input(i).dtype));
    }
    for (const TensorSpec& out : outputs) {
      output_layouts_.push_back(PlainLayout(out.shape, out.dtype));
    }
  }

  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  const TensorSpec& output(int i) const { return outputs_[i]; }
  const Shape& output_shape(int i) const { return outputs_[i].shape; }
  // False when nothing in the compiled plan reads output `i`; lets a kernel
  // skip work such as pooling's workspace in inference.
  bool output_used(int i) const { return output_used_[i]; }
  VariableStore* variables() const { return variables_; }
  // True when the plan is compiled in training mode (RunMode in
  // graph/planner.h): ops declared DependsOnMode() (batch normalization,
  // dropout) then behave as in training, and as in inference otherwise.
  bool training() const { return training_; }

  // The layout input `i` arrives in.
  const Layout& input_layout(int i) const { return input_layouts_[i]; }
  bool input_is_plain(int i) const {
    return input_layouts_[i] == PlainLayout(input(i).shape, input(i).dtype);
  }
  // The kernel reads input `i` in `layout` (the executor reorders into it
  // if it arrives otherwise).
  void RequestInputLayout(int i, const Layout& layout) const {
    requested_layouts_[i] = layout;
  }
  // The kernel reads input `i` in whatever layout it arrives in.
  void AcceptInputLayout(int i) const { requested_layouts_[i] = input_layouts_[i]; }
  // The kernel writes output `i` in `layout`.
  void SetOutputLayout(int i, const Layout& layout) const {
    output_layouts_[i] = layout;
  }

  const Layout& requested_layout(int i) const { return requested_layouts_[i]; }
  const Layout& output_layout(int i) const { return output_layouts_[i]; }

 private:
  absl::Span<const TensorSpec> outputs_;
  std::vector<bool> output_used_;
  VariableStore* variables_;
  std::vector<Layout> input_layouts_;
  bool training_;
  // The factory's answers; mutable because factories take the context as
  // const and answer through it.
  mutable std::vector<Layout> requested_layouts_;
  mutable std::vector<Layout> output_layouts_;
};

using KernelFactory =
    std::function<absl::StatusOr<std::unique_ptr<Kernel>>(const KernelContext&)>;

// GradContext is what a gradient rule sees of the node it differentiates.
class GradContext : public AttrReader {
 public:
  GradContext(GraphBuilder* builder, int node, const AttrMap* attrs,
              std::vector<Output> inputs, std::vector<Output> outputs,
              std::vector<Output> output_grads);

  GraphBuilder* builder() const { return builder_; }
  // The node's inputs (x) and outputs (y), and the gradient of the loss with
  // respect to each output (dy); dy(i) is invalid where no gradient flows,
  // and has_dy(i) says so.
  const Output& x(int i) const;
  const Output& y(int i) const;
  const Output& dy(int i) const;
  bool has_dy(int i) const;
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const TensorSpec& x_spec(int i) const;
  // The name gradient nodes of this node are given, "<node>_grad/<suffix>".
  std::string GradName(absl::string_view suffix) const;

 private:
  GraphBuilder* builder_;
  int node_;
  std::vector<Output> inputs_;
  std::vector<Output> outputs_;
  std::vector<Output> output_grads_;
};

// A gradient rule returns one Output per input: the gradient with respect to
// that input, or an invalid Output() where none flows (labels, indices).
using GradResult = absl::StatusOr<std::vector<Output>>;
using GradFn = std::function<GradResult(const GradContext&)>;

struct AttrSpec {
  std::string name;
  AttrType type;
  std::optional<proto::AttrValue> default_value;  // nullopt: required
};

struct InputSpec {
  std::string name;
  std::vector<DType> dtypes;  // the dtypes accepted
};

// OpSchema: one op's registration. The setters return *this so that a
// registration reads as one expression.
class OpSchema {
 public:
  explicit OpSchema(std::string name) : name_(std::move(name)) {}

  OpSchema& Input(std::string name, std::vector<DType> dtypes = {DType::kF32});
  OpSchema& Output(std::string name);
  // An attribute without a default must be given by every node.
  OpSchema& Attr(std::string name, AttrType type);
  OpSchema& Attr(std::string name, AttrType type, proto::AttrValue default_value);
  OpSchema& SetShapeFn(ShapeFn fn);
  OpSchema& SetKernel(KernelFactory factory);
  OpSchema& SetGradient(GradFn fn);
  // The op has no gradient (argmax, accuracy, placeholders): autodiff stops
  // at it instead of failing.
  OpSchema& NotDifferentiable();
  // The op computes a gradient (ReluGrad, Conv2DBackpropFilter) and has no
  // gradient of its own: nabla does not take second derivatives. Autodiff
  // through it fails with a message saying so.
  OpSchema& IsGradientOp();
  // The kernel assigns its outputs itself (views, variables, constants)
  // instead of writing into buffers the executor allocated.
  OpSchema& SetKernelSetsOutputs();
  // The kernel updates input `i` in place; that input must come from a
  // Variable, and the executor runs this node after every other reader of it.
  OpSchema& WritesInput(int i);
  // The op behaves differently in training and in inference (batch
  // normalization, dropout); its kernel reads KernelContext::training().
  // Its own in-place writes (running statistics, a mask counter) do not
  // make a plan a training plan (see planner::ResolveMode).
  OpSchema& DependsOnMode();

  const std::string& name() const { return name_; }
  const std::vector<InputSpec>& inputs() const { return inputs_; }
  const std::vector<std::string>& outputs() const { return outputs_; }
  const std::vector<AttrSpec>& attrs() const { return attrs_; }
  const ShapeFn& shape_fn() const { return shape_fn_; }
  const KernelFactory& kernel_factory() const { return kernel_factory_; }
  const GradFn& gradient() const { return gradient_; }
  bool not_differentiable() const { return not_differentiable_; }
  bool is_gradient_op() const { return is_gradient_op_; }
  bool kernel_sets_outputs() const { return kernel_sets_outputs_; }
  const std::vector<int>& written_inputs() const { return written_inputs_; }
  bool depends_on_mode() const { return depends_on_mode_; }

 private:
  std::string name_;
  std::vector<InputSpec> inputs_;
  std::vector<std::string> outputs_;
  std::vector<AttrSpec> attrs_;
  ShapeFn shape_fn_;
  KernelFactory kernel_factory_;
  GradFn gradient_;
  bool not_differentiable_ = false;
  bool is_gradient_op_ = false;
  bool kernel_sets_outputs_ = false;
  bool depends_on_mode_ = false;
  std::vector<int> written_inputs_;
};

// OpRegistry: the process-wide table of schemas, filled by static
// registrations before main().
class OpRegistry {
 public:
  static OpRegistry& Global();

  // Registering a name twice is a programming error in nabla itself, so it
  // aborts at start-up rather than returning a Status nobody could act on.
  void Register(OpSchema schema);
  // nullptr for an unknown op.
  const OpSchema* Find(absl::string_view name) const;
  std::vector<const OpSchema*> All() const;

 private:
  std::vector<std::unique_ptr<OpSchema>> schemas_;
};

struct OpRegistrar {
  explicit OpRegistrar(OpSchema schema) {
    OpRegistry::Global().Register(std::move(schema));
  }
};

#define NABLA_OP_CONCAT_INNER_(a, b) a##b
#define NABLA_OP_CONCAT_(a, b) NABLA_OP_CONCAT_INNER_(a, b)
// NABLA_REGISTER_OP(OpSchema("Name")...) registers an op at start-up. The
// library holding it needs alwayslink = True.
#define NABLA_REGISTER_OP(schema)                                        \
  static ::nabla::OpRegistrar NABLA_OP_CONCAT_(nabla_op_registrar_,     \
                                               __COUNTER__)(schema)

// Shape-function helpers shared by many ops.

// The output has input `i`'s spec.
ShapeFn SameAsInput(int i);

// A kernel factory for ops whose kernel is a plain function of its args.
KernelFactory FunctionKernel(
    std::function<absl::Status(const KernelArgs&)> compute);

}  // namespace nabla

#endif  // NABLA_GRAPH_OP_REGISTRY_H_
