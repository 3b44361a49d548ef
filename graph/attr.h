// Attributes: the typed, named parameters of a node (strides, alpha, shape).
//
// Attributes are stored as proto::AttrValue so that a node serializes as it
// is. Ops declare each attribute's type and default in their schema; by the
// time a shape function or kernel sees a node, its attributes have been
// checked and defaults filled in, so the getters below cannot fail.
//
//   AttrMap attrs = {{"alpha", FloatAttr(0.2f)}, {"strides", IntsAttr({2, 2})}};

#ifndef NABLA_GRAPH_ATTR_H_
#define NABLA_GRAPH_ATTR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "proto/graph.pb.h"

namespace nabla {

// Sorted by name, so that serialization is deterministic.
using AttrMap = std::map<std::string, proto::AttrValue>;

enum class AttrType {
  kInt,
  kFloat,
  kBool,
  kString,
  kInts,
  kFloats,
  kShape,
  kDType,
  kTensor,
};

absl::string_view AttrTypeName(AttrType type);

// True when `value` holds an attribute of `type`. An empty list counts as a
// list of any element type.
bool AttrHasType(const proto::AttrValue& value, AttrType type);

proto::AttrValue IntAttr(int64_t v);
proto::AttrValue FloatAttr(float v);
proto::AttrValue BoolAttr(bool v);
proto::AttrValue StringAttr(absl::string_view v);
proto::AttrValue IntsAttr(const std::vector<int64_t>& v);
proto::AttrValue FloatsAttr(const std::vector<float>& v);
proto::AttrValue ShapeAttr(const Shape& v);
proto::AttrValue DTypeAttr(DType v);
proto::AttrValue TensorAttr(const Tensor& v);

// Read access to a node's checked attributes.
class AttrReader {
 public:
  explicit AttrReader(const AttrMap* attrs) : attrs_(attrs) {}

  int64_t GetInt(absl::string_view name) const;
  float GetFloat(absl::string_view name) const;
  bool GetBool(absl::string_view name) const;
  const std::string& GetString(absl::string_view name) const;
  std::vector<int64_t> GetInts(absl::string_view name) const;
  std::vector<float> GetFloats(absl::string_view name) const;
  Shape GetShape(absl::string_view name) const;
  DType GetDType(absl::string_view name) const;
  // The tensor attribute decoded; an empty tensor if it does not decode
  // (which validation has already ruled out).
  Tensor GetTensor(absl::string_view name) const;

  const AttrMap& attrs() const { return *attrs_; }

 private:
  const proto::AttrValue& Get(absl::string_view name) const;
  const AttrMap* attrs_;
};

}  // namespace nabla

#endif  // NABLA_GRAPH_ATTR_H_
