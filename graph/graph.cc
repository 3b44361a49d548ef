#include "graph/graph.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"

namespace nabla {

std::string TensorSpec::ToString() const {
  return absl::StrCat(DTypeName(dtype), shape.ToString());
}

std::string DescribeNode(absl::string_view op, absl::string_view name,
                         absl::Span<const TensorSpec> inputs) {
  return absl::StrCat(
      op, " node '", name, "' (inputs ",
      inputs.empty() ? "none"
                     : absl::StrJoin(inputs, ", ",
                                     [](std::string* out, const TensorSpec& s) {
                                       absl::StrAppend(out, s.ToString());
                                     }),
      ")");
}

absl::StatusOr<int> Graph::FindNode(absl::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("no node named '", name, "'"));
  }
  return it->second;
}

absl::StatusOr<NodeOutput> Graph::FindOutput(absl::string_view ref) const {
  absl::string_view name = ref;
  int index = 0;
  size_t colon = ref.rfind(':');
  if (colon != absl::string_view::npos) {
    name = ref.substr(0, colon);
    if (!absl::SimpleAtoi(ref.substr(colon + 1), &index) || index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed output reference '", ref, "'"));
    }
  }
  NABLA_ASSIGN_OR_RETURN(int node, FindNode(name));
  if (index >= static_cast<int>(nodes_[node].outputs.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", ref, "' refers to output ", index, " of ",
                     nodes_[node].op(), " node '", name, "', which has ",
                     nodes_[node].outputs.size()));
  }
  return NodeOutput{node, index};
}

std::string Graph::OutputName(NodeOutput output) const {
  const std::string& name = nodes_[output.node].name;
  return output.index == 0 ? name : absl::StrCat(name, ":", output.index);
}

absl::StatusOr<std::vector<TensorSpec>> InferOutputs(
    const OpSchema& schema, absl::string_view node_name, const AttrMap& attrs,
    absl::Span<const TensorSpec> inputs, int64_t max_elements) {
  ShapeContext context(schema.name(), node_name, &attrs, inputs);
  absl::StatusOr<std::vector<TensorSpec>> outputs = schema.shape_fn()(context);
  if (!outputs.ok()) return outputs.status();
  if (outputs->size() != schema.outputs().size()) {
    return absl::InternalError(absl::StrCat(
        "shape function returned ", outputs->size(), " outputs, op has ",
        schema.outputs().size()));
  }
  for (const TensorSpec& spec : *outputs) {
    absl::Status valid = spec.shape.Validate(max_elements);
    if (!valid.ok()) return Annotate(valid, "output");
  }
  return outputs;
}

absl::StatusOr<int> Graph::AddNode(absl::string_view op, absl::string_view name,
                                   std::vector<NodeOutput> inputs,
                                   AttrMap attrs) {
  std::vector<TensorSpec> input_specs;
  for (NodeOutput in : inputs) {
    if (in.node >= 0 && in.node < num_nodes() && in.index >= 0 &&
        in.index < static_cast<int>(nodes_[in.node].outputs.size())) {
      input_specs.push_back(spec(in));
    } else {
      input_specs.emplace_back();
    }
  }
  auto fail = [&](absl::StatusCode code, absl::string_view message) {
    return absl::Status(code, absl::StrCat(DescribeNode(op, name, input_specs),
                                           ": ", message));
  };

  const OpSchema* schema = OpRegistry::Global().Find(op);
  if (schema == nullptr) {
    return fail(absl::StatusCode::kNotFound, "no such op is registered");
  }
  if (name.empty()) {
    return fail(absl::StatusCode::kInvalidArgument, "node name is empty");
  }
  if (by_name_.contains(name)) {
    return fail(absl::StatusCode::kAlreadyExists,
                "a node of that name already exists");
  }
  if (inputs.size() != schema->inputs().size()) {
    return fail(absl::StatusCode::kInvalidArgument,
                absl::StrCat("takes ", schema->inputs().size(),
                             " inputs, got ", inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputSpec& expected = schema->inputs()[i];
    if (input_specs[i].dtype == DType::kInvalid) {
      return fail(absl::StatusCode::kInvalidArgument,
                  absl::StrCat("input '", expected.name,
                               "' refers to a value that does not exist"));
    }
    bool accepted = false;
    for (DType d : expected.dtypes) accepted |= d == input_specs[i].dtype;
    if (!accepted) {
      return fail(absl::StatusCode::kInvalidArgument,
                  absl::StrCat("input '", expected.name, "' must be ",
                               absl::StrJoin(expected.dtypes, " or ",
                                             [](std::string* out, DType d) {
                                               absl::StrAppend(out,
                                                               DTypeName(d));
                                             }),
                               ", got ", DTypeName(input_specs[i].dtype)));
    }
  }
  for (int i : schema->written_inputs()) {
    if (nodes_[inputs[i].node].op() != "Variable") {
      return fail(absl::StatusCode::kInvalidArgument,
                  absl::StrCat("input '", schema->inputs()[i].name,
                               "' is updated in place, so it must be a "
                               "Variable, not a ",
                               nodes_[inputs[i].node].op()));
    }
  }
  for (const auto& [attr_name, value] : attrs) {
    bool known = false;
    for (const AttrSpec& a : schema->attrs()) known |= a.name == attr_name;
    if (!known) {
      return fail(absl::StatusCode::kInvalidArgument,
                  absl::StrCat("has no attribute '", attr_name, "'"));
    }
  }
  for (const AttrSpec& a : schema->attrs()) {
    auto it = attrs.find(a.name);
    if (it == attrs.end()) {
      if (!a.default_value.has_value()) {
        return fail(absl::StatusCode::kInvalidArgument,
                    absl::StrCat("missing required attribute '", a.name, "'"));
      }
      attrs.emplace(a.name, *a.default_value);
    } else if (!AttrHasType(it->second, a.type)) {
      return fail(absl::StatusCode::kInvalidArgument,
                  absl::StrCat("attribute '", a.name, "' must be ",
                               AttrTypeName(a.type)));
    }
    if (a.type == AttrType::kShape) {
      absl::Status valid =
          AttrReader(&attrs).GetShape(a.name).Validate(options_.max_elements);
      if (!valid.ok()) {
        return fail(valid.code(), absl::StrCat("attribute '", a.name,
                                               "': ", valid.message()));
      }
    }
    if (a.type == AttrType::kTensor) {
      absl::Status valid =
          TensorFromProto(attrs[a.name].tensor(), options_.max_elements)
              .status();
      if (!valid.ok()) {
        return fail(valid.code(), absl::StrCat("attribute '", a.name,
                                               "': ", valid.message()));
      }
    }
  }

  absl::StatusOr<std::vector<TensorSpec>> outputs = InferOutputs(
      *schema, name, attrs, input_specs, options_.max_elements);
  if (!outputs.ok()) {
    return fail(outputs.status().code(), outputs.status().message());
  }

  Node node;
  node.name = std::string(name);
  node.schema = schema;
  node.inputs = std::move(inputs);
  node.attrs = std::move(attrs);
  node.outputs = *std::move(outputs);
  int id = num_nodes();
  by_name_.emplace(node.name, id);
  nodes_.push_back(std::move(node));
  return id;
}

}  // namespace nabla
