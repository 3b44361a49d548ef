#include "graph/builder.h"

#include "absl/strings/str_cat.h"

namespace nabla {

const TensorSpec& Output::spec() const {
  // An invalid Output (from a failed call) has an empty spec rather than
  // crashing code that inspects it before checking the builder's status.
  static const TensorSpec* const kInvalid = new TensorSpec();
  return valid() ? builder_->graph().spec(ref_) : *kInvalid;
}

const Shape& Output::shape() const { return spec().shape; }

DType Output::dtype() const { return spec().dtype; }

std::string Output::name() const {
  return valid() ? builder_->graph().OutputName(ref_) : "<invalid>";
}

GraphBuilder::GraphBuilder(GraphOptions options) : graph_(options) {}

GraphBuilder::GraphBuilder(Graph graph) : graph_(std::move(graph)) {}

void GraphBuilder::Fail(absl::Status error) {
  if (status_.ok()) status_ = std::move(error);
}

std::string GraphBuilder::UniqueName(absl::string_view base) const {
  if (!graph_.FindNode(base).ok()) return std::string(base);
  for (int i = 1;; ++i) {
    std::string candidate = absl::StrCat(base, "_", i);
    if (!graph_.FindNode(candidate).ok()) return candidate;
  }
}

std::vector<Output> GraphBuilder::AddOp(absl::string_view op,
                                        absl::Span<const Output> inputs,
                                        AttrMap attrs, absl::string_view name) {
  if (!status_.ok()) return {};
  std::vector<NodeOutput> refs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].valid()) {
      Fail(absl::InvalidArgumentError(absl::StrCat(
          op, " node '", name.empty() ? op : name, "': input ", i,
          " is not a valid value")));
      return {};
    }
    if (inputs[i].builder() != this) {
      Fail(absl::InvalidArgumentError(absl::StrCat(
          op, " node '", name.empty() ? op : name, "': input ", i,
          " belongs to another GraphBuilder")));
      return {};
    }
    refs.push_back(inputs[i].ref());
  }
  std::string node_name = name.empty() ? UniqueName(op) : std::string(name);
  absl::StatusOr<int> id =
      graph_.AddNode(op, node_name, std::move(refs), std::move(attrs));
  if (!id.ok()) {
    Fail(id.status());
    return {};
  }
  std::vector<Output> outputs;
  for (int i = 0; i < static_cast<int>(graph_.node(*id).outputs.size()); ++i) {
    outputs.emplace_back(this, NodeOutput{*id, i});
  }
  return outputs;
}

Output GraphBuilder::AddOp1(absl::string_view op,
                            absl::Span<const Output> inputs, AttrMap attrs,
                            absl::string_view name) {
  std::vector<Output> outputs = AddOp(op, inputs, std::move(attrs), name);
  return outputs.empty() ? Output() : outputs[0];
}

absl::StatusOr<Output> GraphBuilder::Find(absl::string_view ref) {
  absl::StatusOr<NodeOutput> output = graph_.FindOutput(ref);
  if (!output.ok()) return output.status();
  return Output(this, *output);
}

absl::StatusOr<Graph> GraphBuilder::Build() const {
  if (!status_.ok()) return status_;
  return graph_;
}

Output GraphBuilder::Placeholder(absl::string_view name, const Shape& shape,
                                 DType dtype) {
  return AddOp1("Placeholder", {},
                {{"shape", ShapeAttr(shape)}, {"dtype", DTypeAttr(dtype)}},
                name);
}

Output GraphBuilder::Constant(const Tensor& value, absl::string_view name) {
  return AddOp1("Const", {}, {{"value", TensorAttr(value)}}, name);
}

Output GraphBuilder::Scalar(float value, absl::string_view name) {
  return Constant(Tensor::Scalar(value), name);
}

Output GraphBuilder::Variable(absl::string_view name, const Shape& shape,
                              const Initializer& init, DType dtype) {
  AttrMap attrs = init.ToAttrs();
  attrs["shape"] = ShapeAttr(shape);
  attrs["dtype"] = DTypeAttr(dtype);
  if (init.seed() < 0) {
    // An unseeded initializer still gives the same values every time: its
    // seed comes from the variable's name.
    attrs["seed"] = IntAttr(SeedFromName(name));
  }
  return AddOp1("Variable", {}, std::move(attrs), name);
}

std::vector<Output> MakeOpOutputs(absl::string_view op,
                                  std::initializer_list<Output> inputs,
                                  AttrMap attrs, absl::string_view name) {
  for (const Output& input : inputs) {
    if (input.builder() != nullptr) {
      return input.builder()->AddOp(op, absl::MakeConstSpan(inputs.begin(),
                                                            inputs.size()),
                                    std::move(attrs), name);
    }
  }
  return {};
}

Output MakeOp(absl::string_view op, std::initializer_list<Output> inputs,
              AttrMap attrs, absl::string_view name) {
  std::vector<Output> outputs =
      MakeOpOutputs(op, inputs, std::move(attrs), name);
  return outputs.empty() ? Output() : outputs[0];
}

}  // namespace nabla
