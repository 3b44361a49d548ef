// ONNX export. Each nabla op with an ONNX counterpart has one converter
// function below, found through Converters(); the exporter emits the needed
// nodes in the graph's (topological) order and names every ONNX value as
// nabla does ("node", or "node:index"), so that a model's outputs keep their
// nabla names.

#include "export/onnx.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "graph/graph_def.h"
#include "ops/quantized.h"

namespace nabla {
namespace {

// The ONNX IR version that goes with each opset (onnx/helper.py's table).
int64_t IrVersionFor(int64_t opset) { return opset <= 14 ? 7 : 8; }

absl::StatusOr<onnx::TensorProto::DataType> OnnxType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return onnx::TensorProto::FLOAT;
    case DType::kI32:
      return onnx::TensorProto::INT32;
    case DType::kI64:
      return onnx::TensorProto::INT64;
    case DType::kU8:
      return onnx::TensorProto::UINT8;
    case DType::kInvalid:
      break;
  }
  return absl::InvalidArgumentError("a value of invalid dtype");
}

void SetAttr(onnx::NodeProto* node, absl::string_view name, int64_t value) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(std::string(name));
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(value);
}

void SetAttr(onnx::NodeProto* node, absl::string_view name, float value) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(std::string(name));
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(value);
}

void SetAttr(onnx::NodeProto* node, absl::string_view name,
             absl::Span<const int64_t> values) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(std::string(name));
  attr->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) attr->add_ints(v);
}

void SetAttr(onnx::NodeProto* node, absl::string_view name,
             absl::string_view value) {
  onnx::AttributeProto* attr = node->add_attribute();
  attr->set_name(std::string(name));
  attr->set_type(onnx::AttributeProto::STRING);
  attr->set_s(std::string(value));
}

// Fills an ONNX tensor with `value`'s elements (raw little-endian bytes, as
// nabla stores them).
absl::Status ToOnnxTensor(const Tensor& value, absl::string_view name,
                          onnx::TensorProto* out) {
  NABLA_ASSIGN_OR_RETURN(onnx::TensorProto::DataType type,
                         OnnxType(value.dtype()));
  out->set_name(std::string(name));
  out->set_data_type(type);
  for (int64_t d : value.shape().dims()) out->add_dims(d);
  out->set_raw_data(value.raw_data(), value.nbytes());
  return absl::OkStatus();
}

// The ONNX type of a value: its dtype and shape, with an unknown first
// dimension named `batch_dim` and other unknown dimensions left unnamed.
absl::Status SetValueInfo(absl::string_view name, const TensorSpec& spec,
                          absl::string_view batch_dim,
                          onnx::ValueInfoProto* info) {
  NABLA_ASSIGN_OR_RETURN(onnx::TensorProto::DataType type, OnnxType(spec.dtype));
  info->set_name(std::string(name));
  onnx::TypeProto::Tensor* tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  onnx::TensorShapeProto* shape = tensor->mutable_shape();
  for (int i = 0; i < spec.shape.rank(); ++i) {
    onnx::TensorShapeProto::Dimension* dim = shape->add_dim();
    if (spec.shape[i] != kUnknownDim) {
      dim->set_dim_value(spec.shape[i]);
    } else if (i == 0) {
      dim->set_dim_param(std::string(batch_dim));
    }
  }
  return absl::OkStatus();
}

// OnnxWriter appends to the ONNX graph being built and hands out names for
// the values the converters add between nabla's own.
class OnnxWriter {
 public:
  OnnxWriter(const Graph& graph, const VariableStore& values,
             const OnnxExportOptions& options, onnx::GraphProto* out)
      : graph_(graph), values_(values), options_(options), out_(out) {
    for (int id = 0; id < graph.num_nodes(); ++id) {
      for (int i = 0; i < static_cast<int>(graph.node(id).outputs.size()); ++i) {
        taken_.insert(graph.OutputName({id, i}));
      }
    }
  }

  const Graph& graph() const { return graph_; }
  const VariableStore& values() const { return values_; }
  const OnnxExportOptions& options() const { return options_; }

  // A value name not used by the nabla graph or by an earlier helper,
  // made from `base`.
  std::string NewValueName(absl::string_view base) {
    std::string name(base);
    for (int i = 1; taken_.contains(name); ++i) name = absl::StrCat(base, "_", i);
    taken_.insert(name);
    return name;
  }

  onnx::NodeProto* AddNode(absl::string_view op_type,
                           std::vector<std::string> inputs,
                           const std::string& output, absl::string_view name) {
    onnx::NodeProto* node = out_->add_node();
    node->set_op_type(std::string(op_type));
    node->set_name(std::string(name));
    for (std::string& input : inputs) node->add_input(std::move(input));
    node->add_output(output);
    return node;
  }

  absl::Status AddInitializer(absl::string_view name, const Tensor& value) {
    return ToOnnxTensor(value, name, out_->add_initializer());
  }

  // The initializer added last, for one of a type nabla has no dtype for.
  onnx::TensorProto* LastInitializer() {
    return out_->mutable_initializer(out_->initializer_size() - 1);
  }

  // A helper initializer named after `base`; returns its value name.
  absl::StatusOr<std::string> AddConstant(absl::string_view base,
                                          const Tensor& value) {
    std::string name = NewValueName(base);
    NABLA_RETURN_IF_ERROR(AddInitializer(name, value));
    return name;
  }

  absl::Status AddInput(absl::string_view name, const TensorSpec& spec) {
    return SetValueInfo(name, spec, options_.batch_dim, out_->add_input());
  }

  absl::Status AddOutput(absl::string_view name, const TensorSpec& spec) {
    return SetValueInfo(name, spec, options_.batch_dim, out_->add_output());
  }

 private:
  const Graph& graph_;
  const VariableStore& values_;
  const OnnxExportOptions& options_;
  onnx::GraphProto* out_;
  absl::flat_hash_set<std::string> taken_;
};

// What a converter sees of the nabla node it converts.
class NodeConversion : public AttrReader {
 public:
  NodeConversion(OnnxWriter* writer, int id)
      : AttrReader(&writer->graph().node(id).attrs),
        writer_(writer),
        id_(id),
        node_(writer->graph().node(id)) {}

  OnnxWriter& writer() const { return *writer_; }
  int id() const { return id_; }
  const Node& node() const { return node_; }
  const std::string& name() const { return node_.name; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  // The ONNX value name of input `i`, and what nabla knows of it.
  std::string input(int i) const {
    return writer_->graph().OutputName(node_.inputs[i]);
  }
  const TensorSpec& input_spec(int i) const {
    return writer_->graph().spec(node_.inputs[i]);
  }
  std::vector<std::string> inputs() const {
    std::vector<std::string> names;
    for (int i = 0; i < num_inputs(); ++i) names.push_back(input(i));
    return names;
  }
  // The ONNX value name of the node's output 0, the one converters produce.
  std::string output() const { return writer_->graph().OutputName({id_, 0}); }

  // The node's one ONNX counterpart, named as the node, writing output 0.
  onnx::NodeProto* Emit(absl::string_view op_type,
                        std::vector<std::string> inputs) const {
    return writer_->AddNode(op_type, std::move(inputs), output(), name());
  }
  // Emits `op_type` and then, for a fused "relu" activation, a Relu: the
  // first node writes a helper value that the Relu reads.
  onnx::NodeProto* EmitWithActivation(absl::string_view op_type,
                                      std::vector<std::string> inputs) const {
    if (GetString("activation") != "relu") return Emit(op_type, std::move(inputs));
    std::string pre = writer_->NewValueName(absl::StrCat(name(), "/preactivation"));
    onnx::NodeProto* first =
        writer_->AddNode(op_type, std::move(inputs), pre, name());
    writer_->AddNode("Relu", {pre}, output(), absl::StrCat(name(), "/relu"));
    return first;
  }

  // "<op> node '<name>' (inputs ...): <what>", as an Unimplemented error.
  absl::Status Unsupported(absl::string_view what) const {
    std::vector<TensorSpec> specs;
    for (int i = 0; i < num_inputs(); ++i) specs.push_back(input_spec(i));
    return absl::UnimplementedError(absl::StrCat(
        DescribeNode(node_.op(), node_.name, specs), ": ", what));
  }

 private:
  OnnxWriter* writer_;
  int id_;
  const Node& node_;
};

using Converter = absl::Status (*)(const NodeConversion& c);

// The padding of one spatial axis, as nabla's kernels apply it: "same"
// pads to an output of ceil(in / stride) with any odd pixel after,
// "explicit" takes the given pads, "valid" none.
struct AxisPads {
  int64_t before = 0;
  int64_t after = 0;
};

AxisPads SamePads(int64_t in, int64_t effective_kernel, int64_t stride) {
  int64_t out = (in + stride - 1) / stride;
  int64_t total = std::max<int64_t>((out - 1) * stride + effective_kernel - in, 0);
  return {total / 2, total - total / 2};
}

// Sets "pads" (ONNX order: top, left, bottom, right) for a convolution or
// pooling over input `x` [N, C, H, W] with `padding` "valid", "same" or
// "explicit" (`explicit_pads` top, bottom, left, right). Without known
// spatial sizes "same" becomes auto_pad SAME_UPPER, which ONNX defines as
// nabla's rule.
absl::Status SetPads(const NodeConversion& c, const Shape& x,
                     const std::string& padding,
                     const std::vector<int64_t>& explicit_pads,
                     const int64_t effective_kernel[2], const int64_t strides[2],
                     onnx::NodeProto* node) {
  AxisPads pads[2];
  if (padding == "same") {
    if (x[2] == kUnknownDim || x[3] == kUnknownDim) {
      SetAttr(node, "auto_pad", absl::string_view("SAME_UPPER"));
      return absl::OkStatus();
    }
    for (int axis = 0; axis < 2; ++axis) {
      pads[axis] = SamePads(x[2 + axis], effective_kernel[axis], strides[axis]);
    }
  } else if (padding == "explicit") {
    if (explicit_pads.size() != 4) {
      return c.Unsupported("explicit padding needs four explicit_paddings");
    }
    pads[0] = {explicit_pads[0], explicit_pads[1]};
    pads[1] = {explicit_pads[2], explicit_pads[3]};
  } else if (padding != "valid") {
    return c.Unsupported(absl::StrCat("unknown padding \"", padding, "\""));
  }
  SetAttr(node, "pads", std::vector<int64_t>{pads[0].before, pads[1].before,
                                              pads[0].after, pads[1].after});
  return absl::OkStatus();
}

// Sources: placeholders become graph inputs, variables and constants
// initializers.

absl::Status ConvertPlaceholder(const NodeConversion& c) {
  return c.writer().AddInput(c.output(), c.node().outputs[0]);
}

absl::Status ConvertVariable(const NodeConversion& c) {
  const Tensor* value = c.writer().values().Find(c.name());
  const TensorSpec& spec = c.node().outputs[0];
  if (value == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "variable '", c.name(), "' has no value to export; create a session "
        "over the graph (and restore its checkpoint) first"));
  }
  if (value->dtype() != spec.dtype || value->shape() != spec.shape) {
    return absl::FailedPreconditionError(absl::StrCat(
        "variable '", c.name(), "' is ", spec.ToString(), " in the graph but its value is ",
        value->DebugString()));
  }
  return c.writer().AddInitializer(c.output(), *value);
}

absl::Status ConvertConst(const NodeConversion& c) {
  return c.writer().AddInitializer(c.output(), c.GetTensor("value"));
}

// Element-wise ops with the same name and semantics in ONNX (binary ones
// broadcast as NumPy does in both).
absl::Status ConvertSameName(const NodeConversion& c) {
  c.Emit(c.node().op(), c.inputs());
  return absl::OkStatus();
}

absl::Status ConvertLeakyRelu(const NodeConversion& c) {
  SetAttr(c.Emit("LeakyRelu", c.inputs()), "alpha", c.GetFloat("alpha"));
  return absl::OkStatus();
}

absl::Status ConvertSoftmax(const NodeConversion& c) {
  // Opset 13's Softmax and LogSoftmax normalize along one axis, as nabla's.
  SetAttr(c.Emit(c.node().op(), c.inputs()), "axis", c.GetInt("axis"));
  return absl::OkStatus();
}

absl::Status ConvertFlatten(const NodeConversion& c) {
  SetAttr(c.Emit("Flatten", c.inputs()), "axis", int64_t{1});
  return absl::OkStatus();
}

absl::Status ConvertReshape(const NodeConversion& c) {
  Shape shape = c.GetShape("shape");
  // nabla's -1 is ONNX's -1; ONNX reads a 0 as "copy the input's
  // dimension" unless allowzero (opset 14) says otherwise.
  bool has_zero = false;
  for (int64_t d : shape.dims()) has_zero |= d == 0;
  if (has_zero && c.writer().options().opset < 14) {
    return c.Unsupported("a reshape to a zero-sized dimension needs opset 14 or later");
  }
  std::vector<int64_t> dims(shape.dims().begin(), shape.dims().end());
  NABLA_ASSIGN_OR_RETURN(Tensor shape_tensor,
                         Tensor::FromVector<int64_t>(Shape({shape.rank()}), dims));
  NABLA_ASSIGN_OR_RETURN(
      std::string shape_name,
      c.writer().AddConstant(absl::StrCat(c.name(), "/shape"), shape_tensor));
  onnx::NodeProto* node = c.Emit("Reshape", {c.input(0), shape_name});
  if (has_zero) SetAttr(node, "allowzero", int64_t{1});
  return absl::OkStatus();
}

absl::Status ConvertCast(const NodeConversion& c) {
  const float scale = c.GetFloat("scale");
  const bool is_float = c.input_spec(0).dtype == DType::kF32;
  if (is_float && scale == 1.0f) {
    c.Emit("Identity", c.inputs());
    return absl::OkStatus();
  }
  if (scale == 1.0f) {
    SetAttr(c.Emit("Cast", c.inputs()), "to", int64_t{onnx::TensorProto::FLOAT});
    return absl::OkStatus();
  }
  std::string as_float = c.input(0);
  if (!is_float) {
    as_float = c.writer().NewValueName(absl::StrCat(c.name(), "/float"));
    SetAttr(c.writer().AddNode("Cast", c.inputs(), as_float,
                               absl::StrCat(c.name(), "/cast")),
            "to", int64_t{onnx::TensorProto::FLOAT});
  }
  NABLA_ASSIGN_OR_RETURN(std::string scale_name,
                         c.writer().AddConstant(absl::StrCat(c.name(), "/scale"),
                                                Tensor::Scalar(scale)));
  c.Emit("Mul", {as_float, scale_name});
  return absl::OkStatus();
}

absl::Status ConvertReduction(const NodeConversion& c) {
  const bool mean = c.node().op() == "Mean";
  std::vector<int64_t> axes = c.GetInts("axes");
  const int64_t keep_dims = c.GetBool("keep_dims") ? 1 : 0;
  if (mean) {
    // Opset 13's ReduceMean takes its axes as an attribute; none reduces
    // every axis, as nabla's empty list does.
    onnx::NodeProto* node = c.Emit("ReduceMean", c.inputs());
    if (!axes.empty()) SetAttr(node, "axes", axes);
    SetAttr(node, "keepdims", keep_dims);
    return absl::OkStatus();
  }
  std::vector<std::string> inputs = c.inputs();
  if (!axes.empty()) {
    NABLA_ASSIGN_OR_RETURN(
        Tensor axes_tensor,
        Tensor::FromVector<int64_t>(Shape({static_cast<int64_t>(axes.size())}), axes));
    NABLA_ASSIGN_OR_RETURN(
        std::string axes_name,
        c.writer().AddConstant(absl::StrCat(c.name(), "/axes"), axes_tensor));
    inputs.push_back(axes_name);
  }
  SetAttr(c.Emit("ReduceSum", std::move(inputs)), "keepdims", keep_dims);
  return absl::OkStatus();
}

absl::Status ConvertArgMax(const NodeConversion& c) {
  onnx::NodeProto* node = c.Emit("ArgMax", c.inputs());
  SetAttr(node, "axis", c.GetInt("axis"));
  SetAttr(node, "keepdims", int64_t{0});
  return absl::OkStatus();
}

absl::Status ConvertZerosLike(const NodeConversion& c) {
  std::string shape = c.writer().NewValueName(absl::StrCat(c.name(), "/shape"));
  c.writer().AddNode("Shape", c.inputs(), shape, absl::StrCat(c.name(), "/shape"));
  onnx::NodeProto* node = c.Emit("ConstantOfShape", {shape});
  onnx::AttributeProto* value = node->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  Tensor zero(c.input_spec(0).dtype, Shape({1}));
  return ToOnnxTensor(zero, "", value->mutable_t());
}

absl::Status ConvertDense(const NodeConversion& c) {
  // Gemm computes x · w + bias with w as stored, [in, out] (transB = 0).
  if (c.input_spec(0).shape.rank() == 2) {
    c.EmitWithActivation("Gemm", c.inputs());
    return absl::OkStatus();
  }
  // Gemm is 2-D only; MatMul multiplies over x's last axis as Dense does,
  // and Add broadcasts the bias along it.
  std::string product =
      c.writer().NewValueName(absl::StrCat(c.name(), "/matmul"));
  c.writer().AddNode("MatMul", {c.input(0), c.input(1)}, product,
                     absl::StrCat(c.name(), "/matmul"));
  c.EmitWithActivation("Add", {product, c.input(2)});
  return absl::OkStatus();
}

absl::Status ConvertMatMul(const NodeConversion& c) {
  const bool ta = c.GetBool("transpose_a"), tb = c.GetBool("transpose_b");
  if (!ta && !tb) {
    c.Emit("MatMul", c.inputs());
    return absl::OkStatus();
  }
  onnx::NodeProto* node = c.Emit("Gemm", c.inputs());
  SetAttr(node, "transA", int64_t{ta});
  SetAttr(node, "transB", int64_t{tb});
  return absl::OkStatus();
}

absl::Status ConvertConv(const NodeConversion& c) {
  // Both are NCHW with OIHW filters [O, C, KH, KW]; the bias is Conv's
  // optional third input.
  const Shape& x = c.input_spec(0).shape;
  const Shape& w = c.input_spec(1).shape;
  std::vector<int64_t> strides = c.GetInts("strides");
  std::vector<int64_t> dilations = c.GetInts("dilations");
  if (x.rank() != 4 || w.rank() != 4 || strides.size() != 2 ||
      dilations.size() != 2) {
    return c.Unsupported("expects rank-4 x and filters, two strides and two dilations");
  }
  onnx::NodeProto* node = c.EmitWithActivation("Conv", c.inputs());
  SetAttr(node, "kernel_shape", std::vector<int64_t>{w[2], w[3]});
  SetAttr(node, "strides", strides);
  SetAttr(node, "dilations", dilations);
  SetAttr(node, "group", c.GetInt("groups"));
  const int64_t effective_kernel[2] = {(w[2] - 1) * dilations[0] + 1,
                                       (w[3] - 1) * dilations[1] + 1};
  return SetPads(c, x, c.GetString("padding"), c.GetInts("explicit_paddings"),
                 effective_kernel, strides.data(), node);
}

// The int8 ops of ops/quantized.h, in ONNX's QDQ form: DequantizeLinear
// of the u8 input and of the s8 weights (quantized per output channel as
// the kernels quantize them), the f32 Conv or Gemm with the f32 bias, Relu,
// and QuantizeLinear for a u8 output. Runtimes fuse the pattern into their
// int8 kernels. Zero points are left out (0: u8 activations, s8 weights).

// DequantizeLinear(x, scale); returns the f32 value's name.
absl::StatusOr<std::string> AddDequantize(const NodeConversion& c,
                                          const std::string& x, float scale,
                                          absl::string_view what) {
  NABLA_ASSIGN_OR_RETURN(
      std::string scale_name,
      c.writer().AddConstant(absl::StrCat(c.name(), "/", what, "_scale"),
                             Tensor::Scalar(scale)));
  std::string out = c.writer().NewValueName(absl::StrCat(c.name(), "/", what));
  c.writer().AddNode("DequantizeLinear", {x, scale_name}, out,
                     absl::StrCat(c.name(), "/dequantize_", what));
  return out;
}

// The layer's weights variable quantized per output channel, as an int8
// initializer [dims] with `axis` the channel axis, and its DequantizeLinear;
// returns the f32 weights' name. `at(o, k)` is the index of w[o, k] in the
// initializer's row-major order.
absl::StatusOr<std::string> AddQuantizedWeights(
    const NodeConversion& c, const char* variable_attr, int64_t channels,
    int64_t per_channel, int64_t channel_stride, int64_t element_stride,
    int64_t axis) {
  const Tensor* w = c.writer().values().Find(c.GetString(variable_attr));
  if (w == nullptr || w->dtype() != DType::kF32 ||
      w->shape() != c.input_spec(1).shape) {
    return c.Unsupported(absl::StrCat("its ", variable_attr, " '",
                                      c.GetString(variable_attr),
                                      "' has no value of the input's shape"));
  }
  PerChannelWeights q = QuantizeWeightsPerChannel(
      w->data<float>(), channels, per_channel, channel_stride, element_stride);
  std::string stored(q.values.size(), '\0');
  for (int64_t o = 0; o < channels; ++o) {
    for (int64_t k = 0; k < per_channel; ++k) {
      stored[o * channel_stride + k * element_stride] =
          static_cast<char>(q.values[o * per_channel + k]);
    }
  }
  const std::string values_name =
      c.writer().NewValueName(absl::StrCat(c.name(), "/weights_q"));
  // Written as the f32 tensor for its name and dims, then made int8.
  NABLA_RETURN_IF_ERROR(c.writer().AddInitializer(values_name, *w));
  onnx::TensorProto* values = c.writer().LastInitializer();
  values->set_data_type(onnx::TensorProto::INT8);
  values->set_raw_data(stored);
  NABLA_ASSIGN_OR_RETURN(
      Tensor scales, Tensor::FromVector<float>(Shape({channels}), q.scales));
  NABLA_ASSIGN_OR_RETURN(
      std::string scales_name,
      c.writer().AddConstant(absl::StrCat(c.name(), "/weights_scale"), scales));
  std::string out = c.writer().NewValueName(absl::StrCat(c.name(), "/weights"));
  SetAttr(c.writer().AddNode("DequantizeLinear", {values_name, scales_name}, out,
                             absl::StrCat(c.name(), "/dequantize_weights")),
          "axis", axis);
  return out;
}

// Relu if asked and QuantizeLinear for a u8 output, after the layer's
// f32 result `pre`; the last writes the node's output.
absl::Status FinishQuantizedLayer(const NodeConversion& c,
                                  const std::string& op_type,
                                  std::vector<std::string> inputs,
                                  std::vector<onnx::NodeProto*>* emitted) {
  const bool relu = c.GetString("activation") == "relu";
  const bool u8_out = c.GetDType("output_type") == DType::kU8;
  std::string value = c.writer().NewValueName(absl::StrCat(c.name(), "/f32"));
  emitted->push_back(c.writer().AddNode(op_type, std::move(inputs),
                                        relu || u8_out ? value : c.output(),
                                        c.name()));
  if (relu) {
    std::string after = u8_out ? c.writer().NewValueName(absl::StrCat(c.name(), "/relu"))
                               : c.output();
    c.writer().AddNode("Relu", {value}, after, absl::StrCat(c.name(), "/relu"));
    value = after;
  }
  if (u8_out) {
    NABLA_ASSIGN_OR_RETURN(
        std::string scale_name,
        c.writer().AddConstant(absl::StrCat(c.name(), "/output_scale"),
                               Tensor::Scalar(c.GetFloat("output_scale"))));
    c.writer().AddNode("QuantizeLinear", {value, scale_name}, c.output(),
                       absl::StrCat(c.name(), "/quantize"));
  }
  return absl::OkStatus();
}

absl::Status ConvertQuantizedConv(const NodeConversion& c) {
  const Shape& x = c.input_spec(0).shape;
  const Shape& w = c.input_spec(1).shape;
  std::vector<int64_t> strides = c.GetInts("strides");
  std::vector<int64_t> dilations = c.GetInts("dilations");
  NABLA_ASSIGN_OR_RETURN(std::string x_f,
                         AddDequantize(c, c.input(0), c.GetFloat("input_scale"), "x"));
  const int64_t per_channel = w[1] * w[2] * w[3];
  NABLA_ASSIGN_OR_RETURN(
      std::string w_f,
      AddQuantizedWeights(c, "filters_variable", w[0], per_channel, per_channel,
                          1, /*axis=*/0));
  std::vector<onnx::NodeProto*> emitted;
  NABLA_RETURN_IF_ERROR(
      FinishQuantizedLayer(c, "Conv", {x_f, w_f, c.input(2)}, &emitted));
  onnx::NodeProto* node = emitted[0];
  SetAttr(node, "kernel_shape", std::vector<int64_t>{w[2], w[3]});
  SetAttr(node, "strides", strides);
  SetAttr(node, "dilations", dilations);
  SetAttr(node, "group", int64_t{1});
  const int64_t effective_kernel[2] = {(w[2] - 1) * dilations[0] + 1,
                                       (w[3] - 1) * dilations[1] + 1};
  return SetPads(c, x, c.GetString("padding"), {}, effective_kernel,
                 strides.data(), node);
}

absl::Status ConvertQuantizedDense(const NodeConversion& c) {
  const Shape& w = c.input_spec(1).shape;
  NABLA_ASSIGN_OR_RETURN(std::string x_f,
                         AddDequantize(c, c.input(0), c.GetFloat("input_scale"), "x"));
  if (c.input_spec(0).shape.rank() != 2) {
    // QuantizedDense reads a 4-D input as Flatten would.
    std::string flat = c.writer().NewValueName(absl::StrCat(c.name(), "/flatten"));
    SetAttr(c.writer().AddNode("Flatten", {x_f}, flat,
                               absl::StrCat(c.name(), "/flatten")),
            "axis", int64_t{1});
    x_f = flat;
  }
  // w is [K, O]; its channels are the columns.
  NABLA_ASSIGN_OR_RETURN(
      std::string w_f,
      AddQuantizedWeights(c, "weights_variable", w[1], w[0], 1, w[1], /*axis=*/1));
  std::vector<onnx::NodeProto*> emitted;
  return FinishQuantizedLayer(c, "Gemm", {x_f, w_f, c.input(2)}, &emitted);
}

absl::Status ConvertQuantizedMaxPool(const NodeConversion& c) {
  // ONNX's MaxPool takes uint8 (opset 12 on); the scale is unchanged.
  onnx::NodeProto* node = c.Emit("MaxPool", {c.input(0)});
  std::vector<int64_t> kernel = c.GetInts("kernel");
  std::vector<int64_t> strides = c.GetInts("strides");
  SetAttr(node, "kernel_shape", kernel);
  SetAttr(node, "strides", strides);
  return SetPads(c, c.input_spec(0).shape, "valid", {}, kernel.data(),
                 strides.data(), node);
}

absl::Status ConvertQuantize(const NodeConversion& c) {
  const bool quantize = c.node().op() == "Quantize";
  NABLA_ASSIGN_OR_RETURN(
      std::string scale_name,
      c.writer().AddConstant(absl::StrCat(c.name(), "/scale"),
                             Tensor::Scalar(c.GetFloat("scale"))));
  c.Emit(quantize ? "QuantizeLinear" : "DequantizeLinear", {c.input(0), scale_name});
  return absl::OkStatus();
}

absl::Status ConvertPool(const NodeConversion& c) {
  const bool max = c.node().op() == "MaxPool2D";
  std::vector<int64_t> kernel = c.GetInts("kernel");
  std::vector<int64_t> strides = c.GetInts("strides");
  if (strides.empty()) strides = kernel;
  if (kernel.size() != 2 || strides.size() != 2) {
    return c.Unsupported("expects a two-dimensional kernel and strides");
  }
  onnx::NodeProto* node = c.Emit(max ? "MaxPool" : "AveragePool", {c.input(0)});
  SetAttr(node, "kernel_shape", kernel);
  SetAttr(node, "strides", strides);
  // nabla's average leaves the padding out of each window, as Keras does,
  // unless count_include_pad (PyTorch's default) says otherwise.
  if (!max) {
    SetAttr(node, "count_include_pad",
            int64_t{c.GetBool("count_include_pad")});
  }
  // ONNX's ceil_mode (opset 10) is PyTorch's, which nabla follows.
  if (c.GetBool("ceil_mode")) SetAttr(node, "ceil_mode", int64_t{1});
  return SetPads(c, c.input_spec(0).shape, c.GetString("padding"),
                 c.GetInts("explicit_paddings"), kernel.data(), strides.data(),
                 node);
}

// An exported model infers: dropout is the identity there (ONNX's Dropout
// in inference is too, but Identity needs no ratio or training_mode input).
absl::Status ConvertDropout(const NodeConversion& c) {
  c.Emit("Identity", {c.input(0)});
  return absl::OkStatus();
}

absl::Status ConvertGlobalAveragePool(const NodeConversion& c) {
  if (c.GetBool("keep_dims")) {
    c.Emit("GlobalAveragePool", {c.input(0)});
    return absl::OkStatus();
  }
  // ONNX keeps the 1x1 spatial axes; Flatten drops them.
  std::string pooled = c.writer().NewValueName(absl::StrCat(c.name(), "/pool"));
  c.writer().AddNode("GlobalAveragePool", {c.input(0)}, pooled,
                     absl::StrCat(c.name(), "/pool"));
  SetAttr(c.Emit("Flatten", {pooled}), "axis", int64_t{1});
  return absl::OkStatus();
}

// The inference form: ONNX's BatchNormalization normalizes with its mean
// and variance inputs, nabla's running statistics (inputs 3 and 4), as
// nabla's inference plans do. Both take momentum as the weight of the old
// running value; a fused ReLU becomes a Relu after it.
absl::Status ConvertBatchNorm(const NodeConversion& c) {
  onnx::NodeProto* node = c.EmitWithActivation("BatchNormalization", c.inputs());
  SetAttr(node, "epsilon", c.GetFloat("epsilon"));
  SetAttr(node, "momentum", c.GetFloat("momentum"));
  return absl::OkStatus();
}

const absl::flat_hash_map<std::string, Converter>& Converters() {
  static const auto* converters =
      new absl::flat_hash_map<std::string, Converter>{
          {"Placeholder", ConvertPlaceholder},
          {"Variable", ConvertVariable},
          {"Const", ConvertConst},
          {"Identity", ConvertSameName},
          {"Add", ConvertSameName},
          {"Sub", ConvertSameName},
          {"Mul", ConvertSameName},
          {"Relu", ConvertSameName},
          {"Sigmoid", ConvertSameName},
          {"Tanh", ConvertSameName},
          {"LeakyRelu", ConvertLeakyRelu},
          {"Softmax", ConvertSoftmax},
          {"LogSoftmax", ConvertSoftmax},
          {"Flatten", ConvertFlatten},
          {"Reshape", ConvertReshape},
          {"Cast", ConvertCast},
          {"Sum", ConvertReduction},
          {"Mean", ConvertReduction},
          {"ArgMax", ConvertArgMax},
          {"ZerosLike", ConvertZerosLike},
          {"Dense", ConvertDense},
          {"MatMul", ConvertMatMul},
          {"Conv2D", ConvertConv},
          {"Conv2DWithBias", ConvertConv},
          {"MaxPool2D", ConvertPool},
          {"AvgPool2D", ConvertPool},
          {"BatchNorm", ConvertBatchNorm},
          {"GlobalAveragePool", ConvertGlobalAveragePool},
          {"Dropout", ConvertDropout},
          {"QuantizedConv2D", ConvertQuantizedConv},
          {"QuantizedDense", ConvertQuantizedDense},
          {"QuantizedMaxPool2D", ConvertQuantizedMaxPool},
          {"Quantize", ConvertQuantize},
          {"Dequantize", ConvertQuantize},
      };
  return *converters;
}

// Why an op without a converter has none, for the error message.
std::string WhyNoMapping(const OpSchema& schema) {
  static const auto* training_only = new absl::flat_hash_set<std::string>{
      "SoftmaxCrossEntropy", "CategoricalCrossEntropy", "BinaryCrossEntropy",
      "BinaryCrossEntropyWithLogits", "Accuracy"};
  if (schema.is_gradient_op()) {
    return "it computes a gradient, which is training-only";
  }
  if (!schema.written_inputs().empty()) {
    return "it updates a variable, which is training-only";
  }
  if (training_only->contains(schema.name())) {
    return "losses and metrics are training-only";
  }
  return "nabla has no ONNX mapping for this op";
}

absl::StatusOr<std::vector<NodeOutput>> ResolveOutputs(
    const Graph& graph, const OnnxExportOptions& options) {
  std::vector<std::string> names = options.outputs;
  if (names.empty()) names.push_back("probabilities");
  std::vector<NodeOutput> outputs;
  for (const std::string& name : names) {
    absl::StatusOr<NodeOutput> output = graph.FindOutput(name);
    if (!output.ok()) {
      return Annotate(output.status(),
                      absl::StrCat("ONNX export of output '", name, "'"));
    }
    const std::string& op = graph.node(output->node).op();
    if (op == "Placeholder" || op == "Variable" || op == "Const") {
      return absl::InvalidArgumentError(absl::StrCat(
          "ONNX export: output '", name, "' is a ", op,
          ", not a value the model computes"));
    }
    outputs.push_back(*output);
  }
  return outputs;
}

// The nodes the outputs depend on, and which of their outputs are read.
struct NeededNodes {
  std::vector<bool> nodes;
  absl::flat_hash_set<NodeOutput> values;
};

NeededNodes FindNeeded(const Graph& graph, const std::vector<NodeOutput>& outputs) {
  NeededNodes needed;
  needed.nodes.assign(graph.num_nodes(), false);
  std::vector<NodeOutput> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    NodeOutput value = stack.back();
    stack.pop_back();
    needed.values.insert(value);
    if (needed.nodes[value.node]) continue;
    needed.nodes[value.node] = true;
    for (NodeOutput input : graph.node(value.node).inputs) stack.push_back(input);
  }
  return needed;
}

// OK when the node's op has a converter and only its output 0, the one
// converters write, is read (a MaxPool2D's workspace is read only by its
// gradient).
absl::Status CheckMapped(const NodeConversion& c, const NeededNodes& needed) {
  const Node& node = c.node();
  if (!Converters().contains(node.op())) {
    return c.Unsupported(absl::StrCat(
        "no ONNX export: ", WhyNoMapping(*node.schema),
        "; export inference outputs only (such as 'probabilities')"));
  }
  for (int i = 1; i < static_cast<int>(node.outputs.size()); ++i) {
    if (needed.values.contains(NodeOutput{c.id(), i})) {
      return c.Unsupported(absl::StrCat("no ONNX export of its output ", i, " ('",
                                        node.schema->outputs()[i], "')"));
    }
  }
  return absl::OkStatus();
}

// Removes the initializers no node reads: the f32 weights of an int8 layer,
// which its converter re-exports as int8 initializers with their
// DequantizeLinear, would otherwise ride along at four times the size.
void DropUnreadInitializers(onnx::GraphProto* graph) {
  absl::flat_hash_set<std::string> read;
  for (const onnx::NodeProto& node : graph->node()) {
    for (const std::string& input : node.input()) read.insert(input);
  }
  for (const onnx::ValueInfoProto& output : graph->output()) {
    read.insert(output.name());
  }
  auto* initializers = graph->mutable_initializer();
  int kept = 0;
  for (int i = 0; i < initializers->size(); ++i) {
    if (!read.contains(initializers->Get(i).name())) continue;
    if (kept != i) initializers->SwapElements(kept, i);
    ++kept;
  }
  while (initializers->size() > kept) initializers->RemoveLast();
}

}  // namespace

absl::StatusOr<onnx::ModelProto> ExportOnnx(const Graph& graph,
                                            const VariableStore& values,
                                            const OnnxExportOptions& options) {
  if (options.opset < kOnnxMinOpset || options.opset > kOnnxMaxOpset) {
    return absl::InvalidArgumentError(
        absl::StrCat("ONNX export: opset ", options.opset, " is not in [",
                     kOnnxMinOpset, ", ", kOnnxMaxOpset, "]"));
  }
  NABLA_ASSIGN_OR_RETURN(std::vector<NodeOutput> outputs,
                         ResolveOutputs(graph, options));
  NeededNodes needed = FindNeeded(graph, outputs);

  onnx::ModelProto model;
  model.set_ir_version(IrVersionFor(options.opset));
  model.set_producer_name("nabla");
  model.set_doc_string("The inference part of a nabla graph, exported by nabla's export/onnx.h.");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  onnx::GraphProto* onnx_graph = model.mutable_graph();
  onnx_graph->set_name(options.graph_name);

  OnnxWriter writer(graph, values, options, onnx_graph);
  // Checked from the outputs back, so that the error names the unmapped
  // node nearest to what was asked for (a gradient, not the loss it needs).
  for (int id = graph.num_nodes() - 1; id >= 0; --id) {
    if (needed.nodes[id]) {
      NABLA_RETURN_IF_ERROR(CheckMapped(NodeConversion(&writer, id), needed));
    }
  }
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!needed.nodes[id]) continue;
    NABLA_RETURN_IF_ERROR(
        Converters().at(graph.node(id).op())(NodeConversion(&writer, id)));
  }
  for (NodeOutput output : outputs) {
    NABLA_RETURN_IF_ERROR(writer.AddOutput(graph.OutputName(output), graph.spec(output)));
  }
  DropUnreadInitializers(onnx_graph);
  return model;
}

absl::StatusOr<onnx::ModelProto> ExportOnnx(const Session& session,
                                            const OnnxExportOptions& options) {
  return ExportOnnx(session.graph(), session.variables(), options);
}

absl::Status ExportOnnxFile(const Graph& graph, const VariableStore& values,
                            const std::string& path,
                            const OnnxExportOptions& options) {
  NABLA_ASSIGN_OR_RETURN(onnx::ModelProto model, ExportOnnx(graph, values, options));
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    return absl::InternalError(
        absl::StrCat("ONNX export: cannot serialize the model for ", path,
                     " (over protobuf's 2 GiB limit?)"));
  }
  return WriteFileAtomically(path, bytes);
}

absl::Status ExportOnnxFile(const Session& session, const std::string& path,
                            const OnnxExportOptions& options) {
  return ExportOnnxFile(session.graph(), session.variables(), path, options);
}

}  // namespace nabla
