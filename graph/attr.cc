#include "graph/attr.h"

namespace nabla {

absl::string_view AttrTypeName(AttrType type) {
  switch (type) {
    case AttrType::kInt:
      return "int";
    case AttrType::kFloat:
      return "float";
    case AttrType::kBool:
      return "bool";
    case AttrType::kString:
      return "string";
    case AttrType::kInts:
      return "list(int)";
    case AttrType::kFloats:
      return "list(float)";
    case AttrType::kShape:
      return "shape";
    case AttrType::kDType:
      return "dtype";
    case AttrType::kTensor:
      return "tensor";
  }
  return "unknown";
}

bool AttrHasType(const proto::AttrValue& value, AttrType type) {
  using V = proto::AttrValue;
  auto is_list_of = [&](int n) {
    if (value.value_case() != V::kList) return false;
    const auto& list = value.list();
    int total = list.i_size() + list.f_size() + list.b_size() + list.s_size();
    return total == n;
  };
  switch (type) {
    case AttrType::kInt:
      return value.value_case() == V::kI;
    case AttrType::kFloat:
      return value.value_case() == V::kF;
    case AttrType::kBool:
      return value.value_case() == V::kB;
    case AttrType::kString:
      return value.value_case() == V::kS;
    case AttrType::kInts:
      return is_list_of(value.list().i_size());
    case AttrType::kFloats:
      return is_list_of(value.list().f_size());
    case AttrType::kShape:
      return value.value_case() == V::kShape;
    case AttrType::kDType:
      return value.value_case() == V::kType;
    case AttrType::kTensor:
      return value.value_case() == V::kTensor;
  }
  return false;
}

proto::AttrValue IntAttr(int64_t v) {
  proto::AttrValue a;
  a.set_i(v);
  return a;
}
proto::AttrValue FloatAttr(float v) {
  proto::AttrValue a;
  a.set_f(v);
  return a;
}
proto::AttrValue BoolAttr(bool v) {
  proto::AttrValue a;
  a.set_b(v);
  return a;
}
proto::AttrValue StringAttr(absl::string_view v) {
  proto::AttrValue a;
  a.set_s(std::string(v));
  return a;
}
proto::AttrValue IntsAttr(const std::vector<int64_t>& v) {
  proto::AttrValue a;
  auto* list = a.mutable_list();
  for (int64_t x : v) list->add_i(x);
  return a;
}
proto::AttrValue FloatsAttr(const std::vector<float>& v) {
  proto::AttrValue a;
  auto* list = a.mutable_list();
  for (float x : v) list->add_f(x);
  return a;
}
proto::AttrValue ShapeAttr(const Shape& v) {
  proto::AttrValue a;
  auto* shape = a.mutable_shape();
  for (int64_t d : v.dims()) shape->add_dim(d);
  return a;
}
proto::AttrValue DTypeAttr(DType v) {
  proto::AttrValue a;
  a.set_type(static_cast<proto::DataType>(v));
  return a;
}
proto::AttrValue TensorAttr(const Tensor& v) {
  proto::AttrValue a;
  TensorToProto(v, a.mutable_tensor());
  return a;
}

const proto::AttrValue& AttrReader::Get(absl::string_view name) const {
  static const proto::AttrValue* const kEmpty = new proto::AttrValue();
  auto it = attrs_->find(std::string(name));
  return it == attrs_->end() ? *kEmpty : it->second;
}

int64_t AttrReader::GetInt(absl::string_view name) const { return Get(name).i(); }
float AttrReader::GetFloat(absl::string_view name) const { return Get(name).f(); }
bool AttrReader::GetBool(absl::string_view name) const { return Get(name).b(); }
const std::string& AttrReader::GetString(absl::string_view name) const {
  return Get(name).s();
}
std::vector<int64_t> AttrReader::GetInts(absl::string_view name) const {
  const auto& list = Get(name).list().i();
  return std::vector<int64_t>(list.begin(), list.end());
}
std::vector<float> AttrReader::GetFloats(absl::string_view name) const {
  const auto& list = Get(name).list().f();
  return std::vector<float>(list.begin(), list.end());
}
Shape AttrReader::GetShape(absl::string_view name) const {
  const auto& dims = Get(name).shape().dim();
  return Shape(absl::MakeConstSpan(dims.data(), dims.size()));
}
DType AttrReader::GetDType(absl::string_view name) const {
  return static_cast<DType>(Get(name).type());
}
Tensor AttrReader::GetTensor(absl::string_view name) const {
  auto tensor = TensorFromProto(Get(name).tensor());
  return tensor.ok() ? *std::move(tensor) : Tensor();
}

}  // namespace nabla
