// Initializer: how a Variable gets its first value.
//
// Initializers are stored as the Variable node's attributes, so a serialized
// graph carries them compactly and a session re-creates exactly the same
// values from the same seed.
//
//   b.Variable("conv1/w", {32, 1, 5, 5}, Initializer::GlorotUniform(42));
//   b.Variable("conv1/b", {32}, Initializer::Zeros());

#ifndef NABLA_GRAPH_INITIALIZERS_H_
#define NABLA_GRAPH_INITIALIZERS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"
#include "graph/attr.h"

namespace nabla {

class Initializer {
 public:
  static Initializer Zeros();
  static Initializer Constant(float value);
  // Uniform in ±sqrt(6 / (fan_in + fan_out)): Keras's default for Dense and
  // Conv2D kernels.
  static Initializer GlorotUniform(int64_t seed = -1);
  static Initializer GlorotNormal(int64_t seed = -1);
  // Suited to ReLU layers: uniform in ±sqrt(6 / fan_in), or normal with
  // standard deviation sqrt(2 / fan_in).
  static Initializer HeUniform(int64_t seed = -1);
  static Initializer HeNormal(int64_t seed = -1);
  // Exactly `value` (whose shape must match the variable's).
  static Initializer Value(const Tensor& value);

  // A negative seed means "derive one from the variable's name".
  int64_t seed() const { return seed_; }
  AttrMap ToAttrs() const;

 private:
  Initializer(std::string kind, float value, int64_t seed)
      : kind_(std::move(kind)), value_(value), seed_(seed) {}
  std::string kind_;
  float value_ = 0;
  int64_t seed_ = -1;
  Tensor tensor_;
};

// The attribute names and initializer kinds a Variable node understands.
bool IsKnownInitializer(absl::string_view kind);

// The first value of a variable whose node has these (checked) attributes.
absl::StatusOr<Tensor> MakeInitialValue(const AttrReader& attrs,
                                        const Shape& shape, DType dtype);

// (fan_in, fan_out) of a weight: [in, out] for dense weights, OIHW for
// convolution filters, the single size for vectors.
std::pair<int64_t, int64_t> FanInOut(const Shape& shape);

// A stable 31-bit seed from a name (FNV-1a; absl::Hash differs per process).
int64_t SeedFromName(absl::string_view name);

}  // namespace nabla

#endif  // NABLA_GRAPH_INITIALIZERS_H_
