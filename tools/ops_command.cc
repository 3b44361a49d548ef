// nabla ops [--json] [OP...]: the registered ops, with their inputs,
// outputs, attributes and whether autodiff can differentiate them; as text
// for people or as one JSON document for programs.

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/attr.h"
#include "graph/op_registry.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"

ABSL_DECLARE_FLAG(bool, json);

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

// `f` as the double its shortest decimal names (0.1f as 0.1, not
// 0.100000001490116), so that JSON shows what the text listing shows.
double Shortest(float f) { return std::strtod(absl::StrCat(f).c_str(), nullptr); }

// The default as a JSON value of its own type: 2, 0.5, true, "valid",
// [1, 1], the dims of a shape (-1 unknown), a dtype's name, or a tensor's
// dtype and dims.
nlohmann::ordered_json JsonDefault(const AttrSpec& attr) {
  AttrMap map = {{attr.name, *attr.default_value}};
  AttrReader reader(&map);
  auto dims = [](const Shape& shape) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (int i = 0; i < shape.rank(); ++i) out.push_back(shape[i]);
    return out;
  };
  switch (attr.type) {
    case AttrType::kInt:
      return reader.GetInt(attr.name);
    case AttrType::kFloat:
      return Shortest(reader.GetFloat(attr.name));
    case AttrType::kBool:
      return reader.GetBool(attr.name);
    case AttrType::kString:
      return reader.GetString(attr.name);
    case AttrType::kInts:
      return reader.GetInts(attr.name);
    case AttrType::kFloats: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (float f : reader.GetFloats(attr.name)) out.push_back(Shortest(f));
      return out;
    }
    case AttrType::kShape:
      return dims(reader.GetShape(attr.name));
    case AttrType::kDType:
      return std::string(DTypeName(reader.GetDType(attr.name)));
    case AttrType::kTensor: {
      Tensor t = reader.GetTensor(attr.name);
      return {{"dtype", std::string(DTypeName(t.dtype()))},
              {"shape", dims(t.shape())}};
    }
  }
  return nullptr;
}

// What autodiff does with the op, as one word for programs.
const char* GradientKind(const OpSchema& op) {
  if (op.gradient()) return "differentiable";
  if (op.is_gradient_op()) return "gradient_op";
  if (op.not_differentiable()) return "not_differentiable";
  return "no_gradient_rule";
}

nlohmann::ordered_json DescribeJson(const OpSchema& op) {
  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  for (const InputSpec& input : op.inputs()) {
    nlohmann::ordered_json dtypes = nlohmann::ordered_json::array();
    for (DType dtype : input.dtypes) dtypes.push_back(std::string(DTypeName(dtype)));
    inputs.push_back({{"name", input.name}, {"dtypes", dtypes}});
  }
  nlohmann::ordered_json attrs = nlohmann::ordered_json::array();
  for (const AttrSpec& attr : op.attrs()) {
    nlohmann::ordered_json entry = {{"name", attr.name},
                                    {"type", std::string(AttrTypeName(attr.type))}};
    entry["required"] = !attr.default_value.has_value();
    if (attr.default_value.has_value()) entry["default"] = JsonDefault(attr);
    attrs.push_back(std::move(entry));
  }
  nlohmann::ordered_json written = nlohmann::ordered_json::array();
  for (int i : op.written_inputs()) written.push_back(op.inputs()[i].name);
  return {{"name", op.name()},
          {"gradient", GradientKind(op)},
          {"inputs", inputs},
          {"outputs", op.outputs()},
          {"attrs", attrs},
          {"updates_in_place", written}};
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
  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::ordered_json document = nlohmann::ordered_json::array();
    for (const OpSchema* op : ops) document.push_back(DescribeJson(*op));
    std::fputs((document.dump(2) + "\n").c_str(), stdout);
    return absl::OkStatus();
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
      "ops [--json] [OP...]",
      "Lists every registered op (or the ones named) with its inputs and the\n"
      "dtypes they accept, its outputs, its attributes (type and default, or\n"
      "required) and whether autodiff can differentiate it. --json prints\n"
      "one JSON array instead, an object per op: name, gradient\n"
      "(differentiable, gradient_op, not_differentiable or no_gradient_rule),\n"
      "inputs (name, dtypes), outputs, attrs (name, type, required, default\n"
      "as a typed value) and updates_in_place.",
      {"json"},
      /*min_args=*/0,
      /*max_args=*/-1,
      RunOps};
  return *kCommand;
}

}  // namespace nabla
