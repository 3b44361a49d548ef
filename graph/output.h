// NodeOutput and Output: references to one value of a graph.
//
// NodeOutput is a plain (node id, output index) pair. Output adds the
// GraphBuilder the value belongs to, so that op functions such as
// Relu(x) need no builder argument.

#ifndef NABLA_GRAPH_OUTPUT_H_
#define NABLA_GRAPH_OUTPUT_H_

#include <string>
#include <utility>

namespace nabla {

class GraphBuilder;
struct TensorSpec;
class Shape;
enum class DType : signed char;

// NodeOutput names one value of a graph: output `index` of node `node`.
struct NodeOutput {
  int node = -1;
  int index = 0;

  friend bool operator==(NodeOutput a, NodeOutput b) {
    return a.node == b.node && a.index == b.index;
  }
  template <typename H>
  friend H AbslHashValue(H h, NodeOutput o) {
    return H::combine(std::move(h), o.node, o.index);
  }
};

// Output: one value of a graph under construction. Default-constructed, or
// returned by a call that failed, it is invalid.
class Output {
 public:
  Output() = default;
  Output(GraphBuilder* builder, NodeOutput ref) : builder_(builder), ref_(ref) {}

  bool valid() const { return builder_ != nullptr && ref_.node >= 0; }
  GraphBuilder* builder() const { return builder_; }
  NodeOutput ref() const { return ref_; }
  operator NodeOutput() const { return ref_; }  // NOLINT: a handle is a ref

  // What shape inference knows of the value; an invalid Output has dtype
  // kInvalid and a scalar shape.
  const TensorSpec& spec() const;
  const Shape& shape() const;
  DType dtype() const;
  // "node" or "node:index".
  std::string name() const;

 private:
  GraphBuilder* builder_ = nullptr;
  NodeOutput ref_;
};

}  // namespace nabla

#endif  // NABLA_GRAPH_OUTPUT_H_
