#include "graph/graph_def.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "graph/topo_order.h"
#include "google/protobuf/text_format.h"

namespace nabla {
namespace {

// Splits "name:1" into ("name", 1); "name" is output 0.
bool ParseInputRef(absl::string_view ref, absl::string_view* name, int* index) {
  *name = ref;
  *index = 0;
  size_t colon = ref.rfind(':');
  if (colon == absl::string_view::npos) return !ref.empty();
  *name = ref.substr(0, colon);
  return !name->empty() && absl::SimpleAtoi(ref.substr(colon + 1), index) &&
         *index >= 0;
}

constexpr int64_t kMaxTextGraphBytes = int64_t{1} << 30;
constexpr int64_t kMaxBinaryGraphBytes = std::numeric_limits<int32_t>::max();

// Bytes of `value` if it is a tensor attribute, else 0.
int64_t TensorAttrBytes(const proto::AttrValue& value) {
  return value.value_case() == proto::AttrValue::kTensor
             ? static_cast<int64_t>(value.tensor().content().size())
             : 0;
}

// Bytes a Variable NodeDef declares (shape times dtype size, f32 when no
// dtype is given), or -1 when its attributes are not a valid, fully defined
// shape: AddNode then reports what is wrong.
int64_t DeclaredVariableBytes(const proto::NodeDef& node) {
  auto shape = node.attr().find("shape");
  if (shape == node.attr().end() ||
      shape->second.value_case() != proto::AttrValue::kShape) {
    return -1;
  }
  DType dtype = DType::kF32;
  auto type = node.attr().find("dtype");
  if (type != node.attr().end()) {
    if (type->second.value_case() != proto::AttrValue::kType) return -1;
    dtype = static_cast<DType>(type->second.type());
  }
  if (type != node.attr().end() &&
      (type->second.type() <= proto::DT_INVALID ||
       type->second.type() > proto::DT_UINT8)) {
    return -1;
  }
  int64_t bytes = static_cast<int64_t>(DTypeSize(dtype));
  for (int64_t dim : shape->second.shape().dim()) {
    if (dim < 0) return -1;
    if (dim != 0 && bytes > std::numeric_limits<int64_t>::max() / dim) {
      return std::numeric_limits<int64_t>::max();
    }
    bytes *= dim;
  }
  return bytes;
}

// Refuses a GraphDef whose variables or tensor attributes exceed the
// options' byte caps, before any node is built (and so before anything the
// file declares is allocated).
absl::Status CheckDeclaredBytes(const proto::GraphDef& def,
                                const GraphOptions& options) {
  int64_t variable_bytes = 0, constant_bytes = 0;
  for (const proto::NodeDef& node : def.node()) {
    for (const auto& [name, value] : node.attr()) {
      const int64_t bytes = TensorAttrBytes(value);
      if (bytes > options.max_constant_bytes - constant_bytes) {
        return absl::ResourceExhaustedError(absl::StrCat(
            node.op(), " node '", node.name(), "': tensor attribute '", name,
            "' of ", bytes, " bytes brings the graph's tensor attributes to ",
            constant_bytes + bytes, " bytes, more than the limit of ",
            options.max_constant_bytes,
            " bytes (GraphOptions::max_constant_bytes)"));
      }
      constant_bytes += bytes;
    }
    if (node.op() != "Variable") continue;
    const int64_t bytes = DeclaredVariableBytes(node);
    if (bytes > options.max_variable_bytes - variable_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "Variable node '", node.name(), "' needs ", bytes,
          " bytes, which brings the graph's variables to more than the "
          "limit of ", options.max_variable_bytes,
          " bytes (GraphOptions::max_variable_bytes); ", variable_bytes,
          " bytes are taken by the variables before it"));
    }
    if (bytes > 0) variable_bytes += bytes;
  }
  return absl::OkStatus();
}

// True when `text` holds nothing but whitespace.
bool IsBlank(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isspace(c); });
}

}  // namespace

proto::GraphDef ToGraphDef(const Graph& graph) {
  proto::GraphDef def;
  def.set_version(kGraphDefVersion);
  for (const Node& node : graph.nodes()) {
    proto::NodeDef* n = def.add_node();
    n->set_name(node.name);
    n->set_op(node.op());
    for (NodeOutput in : node.inputs) n->add_input(graph.OutputName(in));
    for (const auto& [name, value] : node.attrs) (*n->mutable_attr())[name] = value;
  }
  return def;
}

absl::StatusOr<Graph> FromGraphDef(const proto::GraphDef& def,
                                   GraphOptions options) {
  if (def.version() == 0 && def.node_size() == 0) {
    return absl::InvalidArgumentError(
        "empty GraphDef: it has no version and no nodes");
  }
  if (def.version() < 1 || def.version() > kGraphDefVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("GraphDef version ", def.version(),
                     " is not supported (this build reads 1 to ",
                     kGraphDefVersion, ")"));
  }
  NABLA_RETURN_IF_ERROR(CheckDeclaredBytes(def, options));
  const int n = def.node_size();
  absl::flat_hash_map<absl::string_view, int> index_of;
  for (int i = 0; i < n; ++i) {
    if (!index_of.emplace(def.node(i).name(), i).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GraphDef has two nodes named '", def.node(i).name(), "'"));
    }
  }
  // Resolve every input first, so that a dangling reference is reported as
  // such rather than as a cycle or an ordering problem.
  std::vector<std::vector<std::pair<int, int>>> inputs(n);
  for (int i = 0; i < n; ++i) {
    for (const std::string& ref : def.node(i).input()) {
      absl::string_view name;
      int index;
      if (!ParseInputRef(ref, &name, &index)) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", def.node(i).name(),
                         "' has a malformed input '", ref, "'"));
      }
      auto it = index_of.find(name);
      if (it == index_of.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", def.node(i).name(), "' has input '", ref,
                         "', but no node is named '", name, "'"));
      }
      inputs[i].emplace_back(it->second, index);
    }
  }
  // Ready nodes are taken in file order, so that a graph written by
  // ToGraphDef loads with the same node ids.
  DependencyGraph dependencies(n);
  for (int i = 0; i < n; ++i) {
    for (auto [producer, index] : inputs[i]) dependencies.AddEdge(producer, i);
  }
  TopologicalOrder order = SortTopologically(dependencies);
  if (!order.complete()) {
    return absl::InvalidArgumentError(
        absl::StrCat("GraphDef has a cycle through node '",
                     def.node(order.first_unordered).name(), "'"));
  }

  Graph graph(options);
  std::vector<int> id_of(n, -1);
  for (int i : order.nodes) {
    const proto::NodeDef& node = def.node(i);
    std::vector<NodeOutput> refs;
    for (auto [producer, index] : inputs[i]) {
      refs.push_back(NodeOutput{id_of[producer], index});
      if (index >= static_cast<int>(
                       graph.node(id_of[producer]).outputs.size())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", node.name(), "' reads output ", index, " of '",
            def.node(producer).name(), "', which has only ",
            graph.node(id_of[producer]).outputs.size()));
      }
    }
    AttrMap attrs(node.attr().begin(), node.attr().end());
    NABLA_ASSIGN_OR_RETURN(
        id_of[i], graph.AddNode(node.op(), node.name(), std::move(refs),
                                std::move(attrs)));
  }
  return graph;
}

GraphFormat FormatForPath(absl::string_view path) {
  return absl::EndsWith(path, ".pbtxt") || absl::EndsWith(path, ".txt")
             ? GraphFormat::kText
             : GraphFormat::kBinary;
}

absl::Status SaveGraph(const Graph& graph, const std::string& path) {
  return SaveGraph(graph, path, FormatForPath(path));
}

absl::Status SaveGraph(const Graph& graph, const std::string& path,
                       GraphFormat format) {
  proto::GraphDef def = ToGraphDef(graph);
  std::string contents;
  bool ok = true;
  if (format == GraphFormat::kText) {
    ok = google::protobuf::TextFormat::PrintToString(def, &contents);
  } else {
    contents = SerializeDeterministically(def);
  }
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot serialize the graph for '", path, "'"));
  }
  return WriteFileAtomically(path, contents);
}

absl::StatusOr<Graph> LoadGraph(const std::string& path,
                                const GraphLoadOptions& options) {
  return LoadGraph(path, FormatForPath(path), options);
}

absl::StatusOr<Graph> LoadGraph(const std::string& path, GraphFormat format,
                                const GraphLoadOptions& options) {
  // libprotobuf's parsers take at most 2 GiB and its text parser crashes
  // before that: a raised cap is held to these ceilings.
  const int64_t ceiling = format == GraphFormat::kText ? kMaxTextGraphBytes
                                                       : kMaxBinaryGraphBytes;
  NABLA_ASSIGN_OR_RETURN(
      std::string contents,
      ReadFile(path, std::min(options.max_file_bytes, ceiling)));
  if (IsBlank(contents)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is an empty graph file (",
        contents.empty() ? "no bytes" : "only whitespace", ")"));
  }
  proto::GraphDef def;
  bool ok = format == GraphFormat::kText
                ? google::protobuf::TextFormat::ParseFromString(contents, &def)
                : def.ParseFromString(contents);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a ",
                     format == GraphFormat::kText ? "text" : "binary",
                     " GraphDef"));
  }
  contents = std::string();  // the parsed GraphDef holds what is needed
  absl::StatusOr<Graph> graph = FromGraphDef(def, options.graph);
  if (!graph.ok()) return Annotate(graph.status(), path);
  return graph;
}

}  // namespace nabla
