#include "graph/initializers.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"

namespace nabla {

Initializer Initializer::Zeros() { return Initializer("zeros", 0, 0); }
Initializer Initializer::Constant(float value) {
  return Initializer("constant", value, 0);
}
Initializer Initializer::GlorotUniform(int64_t seed) {
  return Initializer("glorot_uniform", 0, seed);
}
Initializer Initializer::GlorotNormal(int64_t seed) {
  return Initializer("glorot_normal", 0, seed);
}
Initializer Initializer::HeUniform(int64_t seed) {
  return Initializer("he_uniform", 0, seed);
}
Initializer Initializer::HeNormal(int64_t seed) {
  return Initializer("he_normal", 0, seed);
}
Initializer Initializer::Value(const Tensor& value) {
  Initializer init("value", 0, 0);
  init.tensor_ = value;
  return init;
}

AttrMap Initializer::ToAttrs() const {
  AttrMap attrs = {{"initializer", StringAttr(kind_)},
                   {"init_value", FloatAttr(value_)},
                   {"seed", IntAttr(seed_)}};
  if (!tensor_.empty()) attrs["value"] = TensorAttr(tensor_);
  return attrs;
}

bool IsKnownInitializer(absl::string_view kind) {
  for (absl::string_view known :
       {"zeros", "constant", "glorot_uniform", "glorot_normal", "he_uniform",
        "he_normal", "value"}) {
    if (kind == known) return true;
  }
  return false;
}

std::pair<int64_t, int64_t> FanInOut(const Shape& shape) {
  if (shape.rank() == 0) return {1, 1};
  if (shape.rank() == 1) return {shape[0], shape[0]};
  if (shape.rank() == 2) return {shape[0], shape[1]};
  int64_t receptive = 1;
  for (int i = 2; i < shape.rank(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

int64_t SeedFromName(absl::string_view name) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash & 0x7fffffff;
}

absl::StatusOr<Tensor> MakeInitialValue(const AttrReader& attrs,
                                        const Shape& shape, DType dtype) {
  const std::string& kind = attrs.GetString("initializer");
  if (!shape.IsFullyDefined()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "variable shape ", shape.ToString(), " must be fully defined"));
  }
  if (kind == "value") {
    Tensor value = attrs.GetTensor("value");
    if (value.dtype() != dtype || value.shape() != shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("initial value ", value.DebugString(),
                       " does not match the variable's ", DTypeName(dtype),
                       shape.ToString()));
    }
    return value.Clone();
  }
  Tensor t(dtype, shape);
  if (kind == "zeros") return t;
  if (kind == "constant") {
    float v = attrs.GetFloat("init_value");
    switch (dtype) {
      case DType::kF32:
        for (float& x : t.flat<float>()) x = v;
        break;
      case DType::kI32:
        for (int32_t& x : t.flat<int32_t>()) x = static_cast<int32_t>(v);
        break;
      case DType::kI64:
        for (int64_t& x : t.flat<int64_t>()) x = static_cast<int64_t>(v);
        break;
      default:
        return absl::InvalidArgumentError("constant initializer needs a "
                                          "numeric dtype");
    }
    return t;
  }
  if (dtype != DType::kF32) {
    return absl::InvalidArgumentError(
        absl::StrCat("initializer '", kind, "' needs an f32 variable"));
  }
  auto [fan_in, fan_out] = FanInOut(shape);
  std::mt19937_64 rng(static_cast<uint64_t>(attrs.GetInt("seed")));
  // Drawn through our own transform of the raw generator output so that the
  // values do not depend on a standard library's distribution code.
  auto uniform01 = [&rng] {
    return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
  };
  auto fill_uniform = [&](double limit) {
    for (float& x : t.flat<float>()) {
      x = static_cast<float>((2 * uniform01() - 1) * limit);
    }
  };
  // Truncated at two standard deviations, as Keras's normal initializers
  // are; the 0.8796 factor restores the requested deviation.
  auto fill_normal = [&](double stddev) {
    double scaled = stddev / 0.87962566103423978;
    for (float& x : t.flat<float>()) {
      double z;
      do {
        double u1 = uniform01(), u2 = uniform01();
        z = std::sqrt(-2 * std::log(1 - u1)) * std::cos(2 * M_PI * u2);
      } while (std::abs(z) > 2);
      x = static_cast<float>(z * scaled);
    }
  };
  if (kind == "glorot_uniform") {
    fill_uniform(std::sqrt(6.0 / (fan_in + fan_out)));
  } else if (kind == "glorot_normal") {
    fill_normal(std::sqrt(2.0 / (fan_in + fan_out)));
  } else if (kind == "he_uniform") {
    fill_uniform(std::sqrt(6.0 / fan_in));
  } else if (kind == "he_normal") {
    fill_normal(std::sqrt(2.0 / fan_in));
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown initializer '", kind, "'"));
  }
  return t;
}

}  // namespace nabla
