#include "infer/quantize.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "graph/graph_def.h"

namespace nabla {
namespace {

// The u8 stand-in of an f32 value: the value it names times `scale`.
struct QuantizedValue {
  std::string ref;
  float scale = 1;
};

bool IsLayer(const std::string& op) {
  return op == "Conv2DWithBias" || op == "Dense";
}

// The ops a u8 value can flow into.
bool TakesU8(const std::string& op) {
  return IsLayer(op) || op == "MaxPool2D" || op == "Flatten";
}

// The scale that maps [0, max] onto the u8 range.
float U8Scale(float max) { return max > 0 ? max / 255 : 1.0f; }

std::string Describe(const Node& node) {
  return absl::StrCat(node.op(), " node '", node.name, "'");
}

// The nodes the values `outputs` need, by id.
std::vector<bool> NeededNodes(const Graph& graph,
                              const std::vector<NodeOutput>& outputs) {
  std::vector<bool> needed(graph.num_nodes(), false);
  for (NodeOutput o : outputs) needed[o.node] = true;
  for (int id = graph.num_nodes() - 1; id >= 0; --id) {
    if (!needed[id]) continue;
    for (NodeOutput in : graph.node(id).inputs) needed[in.node] = true;
  }
  return needed;
}

// Runs the graph on the calibration images and records the range of each
// of `values`.
absl::StatusOr<std::vector<ActivationRange>> Calibrate(
    Session& session, NodeOutput input, const Tensor& images,
    const std::vector<NodeOutput>& values, const QuantizeOptions& options) {
  const Graph& graph = session.graph();
  const TensorSpec& spec = graph.spec(input);
  if (images.dtype() != spec.dtype || images.shape().rank() != spec.shape.rank() ||
      images.shape().rank() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "calibration images are ", images.DebugString(), " but placeholder '",
        options.input, "' takes ", spec.ToString()));
  }
  const int64_t count =
      std::min<int64_t>(images.shape()[0], options.calibration_images);
  if (count < 1 || options.batch_size < 1) {
    return absl::InvalidArgumentError(
        "calibration needs at least one image and a positive batch size");
  }
  std::vector<ActivationRange> ranges(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    ranges[i].value = graph.OutputName(values[i]);
    ranges[i].min = std::numeric_limits<float>::infinity();
    ranges[i].max = -std::numeric_limits<float>::infinity();
  }
  const size_t image_bytes = images.nbytes() / images.shape()[0];
  std::vector<Tensor> fetched;
  for (int64_t start = 0; start < count; start += options.batch_size) {
    const int64_t batch = std::min(options.batch_size, count - start);
    Tensor part(images.dtype(), images.shape().WithDim(0, batch));
    std::memcpy(part.raw_data(),
                static_cast<const char*>(images.raw_data()) + start * image_bytes,
                batch * image_bytes);
    NABLA_ASSIGN_OR_RETURN(
        Plan * plan, session.Compile({{input, part.shape()}}, values, {},
                                     CompileOptions{RunMode::kInference}));
    NABLA_RETURN_IF_ERROR(plan->Run({part}, &fetched));
    for (size_t i = 0; i < values.size(); ++i) {
      for (float v : fetched[i].flat<float>()) {
        ranges[i].min = std::min(ranges[i].min, v);
        ranges[i].max = std::max(ranges[i].max, v);
      }
    }
  }
  return ranges;
}

// Drops the nodes of `def` that none of `outputs` needs.
proto::GraphDef Prune(const proto::GraphDef& def,
                      const std::vector<std::string>& outputs) {
  absl::flat_hash_set<std::string> needed;
  auto node_of = [](const std::string& ref) {
    return ref.substr(0, ref.find(':'));
  };
  for (const std::string& o : outputs) needed.insert(node_of(o));
  for (int i = def.node_size() - 1; i >= 0; --i) {
    if (!needed.contains(def.node(i).name())) continue;
    for (const std::string& in : def.node(i).input()) needed.insert(node_of(in));
  }
  proto::GraphDef pruned;
  pruned.set_version(def.version());
  for (const proto::NodeDef& node : def.node()) {
    if (needed.contains(node.name())) *pruned.add_node() = node;
  }
  return pruned;
}

}  // namespace

absl::StatusOr<QuantizedGraph> QuantizeModel(const SavedModel& model,
                                             const Tensor& images,
                                             const QuantizeOptions& options) {
  if (model.session == nullptr) {
    return absl::InvalidArgumentError("QuantizeModel: the model has no session");
  }
  Session& session = *model.session;
  const Graph& graph = session.graph();
  NABLA_ASSIGN_OR_RETURN(NodeOutput input, graph.FindOutput(options.input));
  std::vector<NodeOutput> outputs;
  for (const std::string& name : options.outputs) {
    NABLA_ASSIGN_OR_RETURN(NodeOutput o, graph.FindOutput(name));
    outputs.push_back(o);
  }
  const std::vector<bool> needed = NeededNodes(graph, outputs);
  std::vector<std::vector<int>> consumers(graph.num_nodes());
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!needed[id]) continue;
    for (NodeOutput in : graph.node(id).inputs) consumers[in.node].push_back(id);
  }
  auto is_output = [&](NodeOutput v) {
    return std::find(outputs.begin(), outputs.end(), v) != outputs.end();
  };

  // Calibrate every layer's input and output.
  std::vector<NodeOutput> values;
  absl::flat_hash_map<NodeOutput, int> range_of;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!needed[id] || !IsLayer(graph.node(id).op())) continue;
    for (NodeOutput v : {graph.node(id).inputs[0], NodeOutput{id, 0}}) {
      if (range_of.emplace(v, static_cast<int>(values.size())).second) {
        values.push_back(v);
      }
    }
  }
  QuantizedGraph result;
  if (!values.empty()) {
    NABLA_ASSIGN_OR_RETURN(result.ranges,
                           Calibrate(session, input, images, values, options));
  }

  const proto::GraphDef original = ToGraphDef(graph);
  proto::GraphDef& def = result.graph;
  def.set_version(original.version());
  absl::flat_hash_map<NodeOutput, QuantizedValue> quantized;
  // f32 values no node computes any more: their producer gives u8.
  absl::flat_hash_set<NodeOutput> gone;
  absl::flat_hash_map<NodeOutput, std::string> dequantized;
  absl::flat_hash_set<std::string> names;
  for (const Node& node : graph.nodes()) names.insert(node.name);
  auto unique_name = [&](const std::string& base) {
    std::string name = base;
    for (int i = 1; names.contains(name); ++i) name = absl::StrCat(base, "_", i);
    names.insert(name);
    return name;
  };
  // The name of f32 value `v`, dequantizing it if it became u8.
  auto f32_ref = [&](NodeOutput v) -> std::string {
    if (!gone.contains(v)) return graph.OutputName(v);
    auto it = dequantized.find(v);
    if (it != dequantized.end()) return it->second;
    const QuantizedValue& q = quantized.at(v);
    proto::NodeDef* d = def.add_node();
    d->set_name(unique_name(absl::StrCat(graph.node(v.node).name, "/dequantize")));
    d->set_op("Dequantize");
    d->add_input(q.ref);
    (*d->mutable_attr())["scale"] = FloatAttr(q.scale);
    dequantized[v] = d->name();
    return d->name();
  };
  auto all_consumers = [&](int id, auto predicate) {
    if (consumers[id].empty()) return false;
    for (int c : consumers[id]) {
      if (!predicate(graph.node(c).op())) return false;
    }
    return true;
  };

  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!needed[id]) continue;
    const Node& node = graph.node(id);
    const std::string& op = node.op();
    const NodeOutput y{id, 0};
    if (op == "Cast" && graph.spec(node.inputs[0]).dtype == DType::kU8) {
      // u8 pixels times a scale are already quantized.
      quantized[y] = {graph.OutputName(node.inputs[0]),
                      AttrReader(&node.attrs).GetFloat("scale")};
    } else if (IsLayer(op)) {
      const AttrReader attrs(&node.attrs);
      for (int i : {1, 2}) {
        const Node& weights = graph.node(node.inputs[i].node);
        if (weights.op() != "Variable") {
          return absl::InvalidArgumentError(absl::StrCat(
              "QuantizeModel: ", Describe(node), " takes its ",
              i == 1 ? "weights" : "bias", " from ", Describe(weights),
              "; only Variables are quantized"));
        }
      }
      if (op == "Conv2DWithBias" && attrs.GetString("padding") == "explicit") {
        return absl::InvalidArgumentError(absl::StrCat(
            "QuantizeModel: ", Describe(node),
            " has explicit padding, which the int8 convolution does not take"));
      }
      const NodeOutput x = node.inputs[0];
      QuantizedValue qx;
      if (auto it = quantized.find(x); it != quantized.end()) {
        qx = it->second;
      } else {
        const ActivationRange& range = result.ranges[range_of.at(x)];
        if (range.min < 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "QuantizeModel: ", Describe(node), "'s input '", range.value,
              "' reached ", range.min,
              " in calibration; int8 layers take only non-negative inputs"));
        }
        proto::NodeDef* q = def.add_node();
        q->set_name(unique_name(absl::StrCat(node.name, "/quantize")));
        q->set_op("Quantize");
        q->add_input(f32_ref(x));
        qx = {q->name(), U8Scale(range.max)};
        (*q->mutable_attr())["scale"] = FloatAttr(qx.scale);
      }
      const bool relu = attrs.GetString("activation") == "relu";
      const bool u8_out = relu && !is_output(y) && all_consumers(id, TakesU8);
      const float output_scale =
          U8Scale(result.ranges[range_of.at(y)].max);
      proto::NodeDef* d = def.add_node();
      d->set_name(node.name);
      d->set_op(op == "Dense" ? "QuantizedDense" : "QuantizedConv2D");
      d->add_input(qx.ref);
      d->add_input(graph.OutputName(node.inputs[1]));
      d->add_input(graph.OutputName(node.inputs[2]));
      auto& a = *d->mutable_attr();
      a["input_scale"] = FloatAttr(qx.scale);
      a["output_scale"] = FloatAttr(output_scale);
      a["output_type"] = DTypeAttr(u8_out ? DType::kU8 : DType::kF32);
      a["activation"] = StringAttr(relu ? "relu" : "linear");
      a["bias_variable"] = StringAttr(graph.node(node.inputs[2].node).name);
      const std::string weights_name = graph.node(node.inputs[1].node).name;
      if (op == "Dense") {
        a["weights_variable"] = StringAttr(weights_name);
      } else {
        a["filters_variable"] = StringAttr(weights_name);
        for (const char* name : {"strides", "dilations", "padding"}) {
          a[name] = node.attrs.at(name);
        }
      }
      if (u8_out) {
        quantized[y] = {node.name, output_scale};
        gone.insert(y);
      }
      result.quantized_nodes.push_back(node.name);
    } else if (op == "MaxPool2D" && quantized.contains(node.inputs[0]) &&
               AttrReader(&node.attrs).GetString("padding") == "valid" &&
               !is_output(y)) {
      bool workspace_used = false;
      for (int c : consumers[id]) {
        for (NodeOutput in : graph.node(c).inputs) {
          workspace_used |= in.node == id && in.index == 1;
        }
      }
      if (workspace_used) {
        return absl::InvalidArgumentError(absl::StrCat(
            "QuantizeModel: ", Describe(node),
            "'s workspace is used (by a gradient?); quantize an inference graph"));
      }
      const QuantizedValue qx = quantized.at(node.inputs[0]);
      proto::NodeDef* d = def.add_node();
      d->set_name(node.name);
      d->set_op("QuantizedMaxPool2D");
      d->add_input(qx.ref);
      (*d->mutable_attr())["kernel"] = node.attrs.at("kernel");
      (*d->mutable_attr())["strides"] = node.attrs.at("strides");
      quantized[y] = {node.name, qx.scale};
      gone.insert(y);
      result.quantized_nodes.push_back(node.name);
    } else if (op == "Flatten" && quantized.contains(node.inputs[0]) &&
               !is_output(y) &&
               all_consumers(id, [](const std::string& c) { return c == "Dense"; }) &&
               graph.spec(node.inputs[0]).shape.rank() == 4) {
      // QuantizedDense reads its 4-D input as Flatten would.
      quantized[y] = quantized.at(node.inputs[0]);
      gone.insert(y);
    } else {
      proto::NodeDef* d = def.add_node();
      *d = original.node(id);
      d->clear_input();
      for (NodeOutput in : node.inputs) d->add_input(f32_ref(in));
    }
  }
  def = Prune(def, options.outputs);
  absl::StatusOr<Graph> check = FromGraphDef(def, graph.options());
  if (!check.ok()) {
    return Annotate(check.status(), "QuantizeModel: the rewritten graph");
  }
  return result;
}

absl::StatusOr<double> ClassificationAccuracy(Session& session,
                                              const Tensor& images,
                                              const Tensor& labels,
                                              const std::string& input,
                                              const std::string& output,
                                              int64_t batch_size) {
  const Graph& graph = session.graph();
  NABLA_ASSIGN_OR_RETURN(NodeOutput in, graph.FindOutput(input));
  NABLA_ASSIGN_OR_RETURN(NodeOutput out, graph.FindOutput(output));
  const int64_t count = images.shape().rank() > 0 ? images.shape()[0] : 0;
  if (count < 1 || labels.dtype() != DType::kI32 ||
      labels.num_elements() != count || batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ClassificationAccuracy: images ", images.DebugString(), " and labels ",
        labels.DebugString(), " must be one i32 label per image"));
  }
  const size_t image_bytes = images.nbytes() / count;
  int64_t correct = 0;
  std::vector<Tensor> fetched;
  for (int64_t start = 0; start < count; start += batch_size) {
    const int64_t batch = std::min(batch_size, count - start);
    Tensor part(images.dtype(), images.shape().WithDim(0, batch));
    std::memcpy(part.raw_data(),
                static_cast<const char*>(images.raw_data()) + start * image_bytes,
                batch * image_bytes);
    NABLA_ASSIGN_OR_RETURN(
        Plan * plan, session.Compile({{in, part.shape()}}, {out}, {},
                                     CompileOptions{RunMode::kInference}));
    NABLA_RETURN_IF_ERROR(plan->Run({part}, &fetched));
    const Tensor& scores = fetched[0];
    if (scores.dtype() != DType::kF32 || scores.shape().rank() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ClassificationAccuracy: '", output, "' is ", scores.DebugString(),
          ", not f32 class scores [N, classes]"));
    }
    const int64_t classes = scores.shape()[1];
    for (int64_t i = 0; i < batch; ++i) {
      const float* row = scores.data<float>() + i * classes;
      const int64_t best = std::max_element(row, row + classes) - row;
      correct += best == labels.data<int32_t>()[start + i];
    }
  }
  return static_cast<double>(correct) / count;
}

absl::Status SaveQuantizedModel(const QuantizedGraph& quantized,
                                const SavedModel& source,
                                const std::string& out_dir) {
  if (source.checkpoint_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", source.graph_path,
        "' has no checkpoint: a quantized model needs trained weights"));
  }
  NABLA_RETURN_IF_ERROR(MakeDirectories(out_dir));
  NABLA_ASSIGN_OR_RETURN(Graph graph, FromGraphDef(quantized.graph));
  NABLA_RETURN_IF_ERROR(
      SaveGraph(graph, absl::StrCat(out_dir, "/", kModelGraphFile)));
  NABLA_ASSIGN_OR_RETURN(std::string checkpoint,
                         ReadFile(source.checkpoint_path, int64_t{1} << 32));
  return WriteFileAtomically(absl::StrCat(out_dir, "/", kModelCheckpointFile),
                             checkpoint);
}

}  // namespace nabla
