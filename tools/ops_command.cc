// nabla ops [OP...]: the registered ops, with their inputs, outputs,
// attributes and whether autodiff can differentiate them.

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/attr.h"
#include "graph/op_registry.h"
#include "tools/commands.h"

namespace nabla {
namespace {

// A default as one would write it: 2, 0.5, true, "valid", [1, 1], f32.
std::string FormatDefault(const AttrSpec& attr) {
  AttrMap map = {{attr.name, *attr.default_value}};
  AttrReader reader(&map);
  switch (attr.type) {
    case AttrType::kInt:
      return absl::StrCat(reader.GetInt(attr.name));
    case AttrType::kFloat:
      return absl::StrCat(reader.GetFloat(attr.name));
    case AttrType::kBool:
      return reader.GetBool(attr.name) ? "true" : "false";
    case AttrType::kString:
      return absl::StrCat("\"", reader.GetString(attr.name), "\"");
    case AttrType::kInts:
      return absl::StrCat("[", absl::StrJoin(reader.GetInts(attr.name), ", "), "]");
    case AttrType::kFloats:
      return absl::StrCat("[", absl::StrJoin(reader.GetFloats(attr.name), ", "), "]");
    case AttrType::kShape:
      return reader.GetShape(attr.name).ToString();
    case AttrType::kDType:
      return std::string(DTypeName(reader.GetDType(attr.name)));
    case AttrType::kTensor: {
      Tensor t = reader.GetTensor(attr.name);
      return absl::StrCat("tensor ", DTypeName(t.dtype()), t.shape().ToString());
    }
  }
  return "?";
}

std::string Differentiability(const OpSchema& op) {
  if (op.gradient()) return "differentiable";
  if (op.is_gradient_op()) return "a gradient op (no second derivatives)";
  if (op.not_differentiable()) return "not differentiable (gradients stop here)";
  return "no gradient rule (autodiff through it fails)";
}

std::string Describe(const OpSchema& op) {
  std::vector<std::string> inputs, attrs;
  for (const InputSpec& input : op.inputs()) {
    std::vector<std::string> dtypes;
    for (DType dtype : input.dtypes) dtypes.emplace_back(DTypeName(dtype));
    inputs.push_back(absl::StrCat(input.name, ": ", absl::StrJoin(dtypes, "|")));
  }
  for (const AttrSpec& attr : op.attrs()) {
    attrs.push_back(absl::StrCat(attr.name, ": ", AttrTypeName(attr.type),
                                 attr.default_value.has_value()
                                     ? absl::StrCat(" = ", FormatDefault(attr))
                                     : " (required)"));
  }
  std::string text = absl::StrCat(op.name(), "  ", Differentiability(op), "\n");
  absl::StrAppend(&text, "  inputs:  ",
                  inputs.empty() ? "none" : absl::StrJoin(inputs, ", "), "\n");
  absl::StrAppend(&text, "  outputs: ", absl::StrJoin(op.outputs(), ", "), "\n");
  if (!attrs.empty()) absl::StrAppend(&text, "  attrs:   ", absl::StrJoin(attrs, ", "), "\n");
  if (!op.written_inputs().empty()) {
    std::vector<std::string> written;
    for (int i : op.written_inputs()) written.push_back(op.inputs()[i].name);
    absl::StrAppend(&text, "  updates in place: ", absl::StrJoin(written, ", "), "\n");
  }
  return text;
}

absl::Status RunOps(const Invocation& invocation) {
  std::vector<const OpSchema*> ops;
  std::vector<std::string> unknown;
  for (const std::string& name : invocation.args) {
    const OpSchema* op = OpRegistry::Global().Find(name);
    if (op == nullptr) {
      unknown.push_back(absl::StrCat("'", name, "'"));
    } else {
      ops.push_back(op);
    }
  }
  if (!unknown.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "unknown op", unknown.size() > 1 ? "s " : " ", absl::StrJoin(unknown, ", "),
        " ('nabla ops' lists the registered ones)"));
  }
  if (invocation.args.empty()) {
    ops = OpRegistry::Global().All();
    std::sort(ops.begin(), ops.end(), [](const OpSchema* a, const OpSchema* b) {
      return a->name() < b->name();
    });
  }
  std::vector<std::string> texts;
  for (const OpSchema* op : ops) texts.push_back(Describe(*op));
  std::fputs(absl::StrJoin(texts, "\n").c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace

const Command& OpsCommand() {
  static const Command* const kCommand = new Command{
      "ops",
      "The registered ops: inputs, outputs, attributes, gradients",
      "ops [OP...]",
      "Lists every registered op (or the ones named) with its inputs and the\n"
      "dtypes they accept, its outputs, its attributes (type and default, or\n"
      "required) and whether autodiff can differentiate it.",
      {},
      /*min_args=*/0,
      /*max_args=*/-1,
      RunOps};
  return *kCommand;
}

}  // namespace nabla
