// Cross-checks against PyTorch 1.13: forward outputs and gradients of nabla's
// ops against golden files that tools/make_torch_goldens.py computes with
// torch autograd in float64 (see that script for the file format). Running
// this test needs no Python.
//
// Each case feeds its inputs, fetches the op's output y and the gradients of
// sum(y * dy) for the case's upstream gradient dy (Gradients with grad_ys,
// torch's y.backward(dy)), and compares them with the golden values. The
// forward output is checked a second time from a plan that fetches y alone,
// since kernels may skip work (max pooling's workspace, the fused cross
// entropy's backprop output) when no gradient is asked for.
//
// Tolerance: |got - expected| <= kAtol + kRtol * |expected| for every
// element. nabla computes in f32 against a float64 reference (stored rounded
// to f32), so the differences are f32 rounding: about 1e-7 relative for an
// elementwise op and up to ~1e-6 for the longest sums here. The quantized
// lecture convolutions are exact in f32 and agree to the last bit.
// To regenerate the files:
//   /usr/bin/python3 tools/make_torch_goldens.py

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::RunOnce;

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;

// ---------------------------------------------------------------------------
// Reading the golden files.

struct GoldenTensor {
  std::string role;  // input, label, dy, output, grad
  std::string name;
  Tensor value;  // f32, i32 or i64
};

struct GoldenCase {
  std::string name;
  std::string op;
  std::map<std::string, std::vector<std::string>> attrs;
  std::vector<GoldenTensor> tensors;

  const GoldenTensor* Find(absl::string_view role,
                           absl::string_view name) const {
    for (const GoldenTensor& t : tensors) {
      if (t.role == role && t.name == name) return &t;
    }
    return nullptr;
  }
  bool Has(absl::string_view key) const {
    return attrs.count(std::string(key));
  }
  std::string Str(absl::string_view key) const {
    auto it = attrs.find(std::string(key));
    return it == attrs.end() || it->second.empty() ? "" : it->second[0];
  }
  std::vector<int64_t> Ints(absl::string_view key) const {
    std::vector<int64_t> out;
    auto it = attrs.find(std::string(key));
    if (it == attrs.end()) return out;
    for (const std::string& v : it->second) {
      int64_t x = 0;
      if (!absl::SimpleAtoi(v, &x))
        ADD_FAILURE() << name << ": attr " << key << " " << v;
      out.push_back(x);
    }
    return out;
  }
  double Float(absl::string_view key) const {
    double x = 0;
    if (!absl::SimpleAtod(Str(key), &x))
      ADD_FAILURE() << name << ": attr " << key;
    return x;
  }
};

std::string GoldenPath(absl::string_view family) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "nabla", "/tests/golden/", family,
                      ".golden");
}

absl::StatusOr<Shape> ParseShape(absl::string_view text) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') {
    return absl::InvalidArgumentError(absl::StrCat("bad shape ", text));
  }
  text = text.substr(1, text.size() - 2);
  std::vector<int64_t> dims;
  if (!text.empty()) {
    for (absl::string_view d : absl::StrSplit(text, ',')) {
      int64_t v = 0;
      if (!absl::SimpleAtoi(d, &v) || v < 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad shape ", text));
      }
      dims.push_back(v);
    }
  }
  return Shape(absl::Span<const int64_t>(dims));
}

// Decodes `count` elements of `encoding` from `data`, advancing it.
absl::StatusOr<Tensor> Decode(absl::string_view encoding, const Shape& shape,
                              absl::string_view* data) {
  const int64_t count = shape.NumElements();
  auto take = [&](size_t bytes) -> absl::StatusOr<const char*> {
    if (data->size() < bytes) return absl::DataLossError("payload too short");
    const char* p = data->data();
    data->remove_prefix(bytes);
    return p;
  };
  // The files are little-endian, as is every machine nabla runs on.
  if (encoding == "f32" || encoding == "i32" || encoding == "i64") {
    DType dtype = encoding == "f32"   ? DType::kF32
                  : encoding == "i32" ? DType::kI32
                                      : DType::kI64;
    Tensor t(dtype, shape);
    NABLA_ASSIGN_OR_RETURN(const char* p, take(t.nbytes()));
    if (t.nbytes() > 0) std::memcpy(t.raw_data(), p, t.nbytes());
    return t;
  }
  // q8e<k> / q16e<k>: int8 / int16 codes times 2^-k.
  int bits = 0, exponent = 0;
  std::vector<std::string> parts = absl::StrSplit(encoding.substr(1), 'e');
  if (encoding.empty() || encoding[0] != 'q' || parts.size() != 2 ||
      !absl::SimpleAtoi(parts[0], &bits) ||
      !absl::SimpleAtoi(parts[1], &exponent) || (bits != 8 && bits != 16)) {
    return absl::InvalidArgumentError(absl::StrCat("bad encoding ", encoding));
  }
  Tensor t(DType::kF32, shape);
  NABLA_ASSIGN_OR_RETURN(const char* p, take(count * (bits / 8)));
  const double scale = std::ldexp(1.0, -exponent);
  for (int64_t i = 0; i < count; ++i) {
    double code;
    if (bits == 8) {
      code = static_cast<int8_t>(p[i]);
    } else {
      int16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      code = v;
    }
    t.data<float>()[i] = static_cast<float>(code * scale);
  }
  return t;
}

absl::StatusOr<std::vector<GoldenCase>> LoadGolden(absl::string_view family) {
  const std::string path = GoldenPath(family);
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string contents = buffer.str();
  absl::string_view rest = contents;
  auto next_line = [&rest]() {
    size_t end = rest.find('\n');
    absl::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == absl::string_view::npos ? rest.size() : end + 1);
    return line;
  };
  if (next_line() != "nabla-golden 1") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a golden file"));
  }
  std::vector<GoldenCase> cases;
  // Tensor headers of the current case, decoded when its "data" line comes.
  std::vector<std::vector<std::string>> pending;
  while (!rest.empty()) {
    absl::string_view line = next_line();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> words = absl::StrSplit(line, ' ');
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", what, " in line \"", line, "\""));
    };
    if (words[0] == "case" && words.size() == 2) {
      cases.emplace_back();
      cases.back().name = words[1];
      continue;
    }
    if (cases.empty()) return error("no case");
    GoldenCase& c = cases.back();
    if (words[0] == "op" && words.size() == 2) {
      c.op = words[1];
    } else if (words[0] == "attr" && words.size() >= 2) {
      c.attrs[words[1]] =
          std::vector<std::string>(words.begin() + 2, words.end());
    } else if (words[0] == "tensor" && words.size() == 5) {
      pending.push_back(words);
    } else if (words[0] == "data" && words.size() == 2) {
      size_t bytes = 0;
      if (!absl::SimpleAtoi(words[1], &bytes) || bytes > rest.size()) {
        return error("bad payload size");
      }
      absl::string_view data = rest.substr(0, bytes);
      rest.remove_prefix(bytes);
      for (const std::vector<std::string>& t : pending) {
        NABLA_ASSIGN_OR_RETURN(Shape shape, ParseShape(t[4]));
        NABLA_ASSIGN_OR_RETURN(Tensor value, Decode(t[3], shape, &data));
        c.tensors.push_back(GoldenTensor{t[1], t[2], std::move(value)});
      }
      pending.clear();
      if (!data.empty()) return error("payload longer than its tensors");
    } else {
      return error("unknown directive");
    }
  }
  if (!pending.empty()) return absl::DataLossError(path + ": no data");
  return cases;
}

// ---------------------------------------------------------------------------
// Running a case.

// Builds the case's op from its placeholders, in the order the file lists
// the inputs and labels.
using BuildFn = std::function<Output(const GoldenCase& c,
                                     const std::map<std::string, Output>& in)>;

// Compares `got` with `expected`, element by element; logs the largest
// error, which the test log keeps as a record of how close the two are.
void ExpectClose(const GoldenCase& c, absl::string_view what, const Tensor& got,
                 const Tensor& expected) {
  SCOPED_TRACE(absl::StrCat(c.name, " ", what));
  ASSERT_EQ(got.dtype(), DType::kF32);
  ASSERT_EQ(got.shape(), expected.shape())
      << "got " << got.shape().ToString() << ", expected "
      << expected.shape().ToString();
  double max_abs = 0, max_ratio = 0;
  int reported = 0;
  for (int64_t i = 0; i < expected.num_elements(); ++i) {
    const double e = expected.data<float>()[i];
    const double g = got.data<float>()[i];
    const double err = std::abs(g - e);
    const double tolerance = kAtol + kRtol * std::abs(e);
    if (!(err <= tolerance)) {  // NaN fails too
      if (reported++ < 10) {
        ADD_FAILURE() << "element " << i << " of " << what << ": got " << g
                      << ", expected " << e << " (tolerance " << tolerance
                      << ")";
      }
      max_abs = std::isnan(err) ? err : std::max(max_abs, err);
    } else {
      max_abs = std::max(max_abs, err);
    }
    max_ratio = std::max(max_ratio, err / tolerance);
  }
  if (reported > 10)
    ADD_FAILURE() << reported << " elements of " << what << " differ";
  std::cout << "  " << c.name << " " << what << " "
            << expected.shape().ToString() << ": max |error| " << max_abs
            << " (" << max_ratio << " of the tolerance)"
            << (reported ? "  MISMATCH" : "") << "\n";
}

void RunCase(const GoldenCase& c, const BuildFn& build) {
  SCOPED_TRACE("case " + c.name);
  GraphBuilder b;
  std::map<std::string, Output> in;
  std::vector<std::pair<Output, Tensor>> feeds;
  std::vector<std::string> wrt_names;
  std::vector<Output> wrt;
  for (const GoldenTensor& t : c.tensors) {
    if (t.role != "input" && t.role != "label") continue;
    Output p = b.Placeholder(t.name, t.value.shape(), t.value.dtype());
    in[t.name] = p;
    feeds.emplace_back(p, t.value);
    if (t.role == "input") {
      wrt_names.push_back(t.name);
      wrt.push_back(p);
    }
  }
  const GoldenTensor* dy_golden = c.Find("dy", "dy");
  const GoldenTensor* y_golden = c.Find("output", "y");
  ASSERT_NE(dy_golden, nullptr);
  ASSERT_NE(y_golden, nullptr);

  Output y = build(c, in);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(y.valid());
  EXPECT_EQ(y.shape(), y_golden->value.shape())
      << "inferred " << y.shape().ToString();

  // Forward alone.
  {
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOnce(b, feeds, {y}));
    ExpectClose(c, "y (forward only)", out[0], y_golden->value);
  }

  // Forward and backward.
  Output dy = b.Placeholder("upstream_dy", dy_golden->value.shape());
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads,
                             Gradients({y}, {dy}, wrt));
  ASSERT_EQ(grads.size(), wrt.size());
  feeds.emplace_back(dy, dy_golden->value);
  std::vector<Output> fetches = {y};
  fetches.insert(fetches.end(), grads.begin(), grads.end());
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                             RunOnce(b, feeds, fetches));
  ExpectClose(c, "y", out[0], y_golden->value);
  for (size_t i = 0; i < wrt.size(); ++i) {
    const GoldenTensor* g = c.Find("grad", wrt_names[i]);
    ASSERT_NE(g, nullptr) << "no golden gradient for " << wrt_names[i];
    ExpectClose(c, "d" + wrt_names[i], out[1 + i], g->value);
  }
}

// Runs every case of `family`; `build` returns Output() (and fails) for an
// op it does not know.
void RunFamily(absl::string_view family, const BuildFn& build) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<GoldenCase> cases, LoadGolden(family));
  ASSERT_FALSE(cases.empty()) << family;
  std::cout << family << ": " << cases.size() << " cases\n";
  for (const GoldenCase& c : cases) RunCase(c, build);
}

Output Get(const std::map<std::string, Output>& in, const std::string& name) {
  auto it = in.find(name);
  if (it == in.end()) {
    ADD_FAILURE() << "no input " << name;
    return Output();
  }
  return it->second;
}

Activation ActivationOf(const GoldenCase& c) {
  const std::string a = c.Str("activation");
  if (a == "relu") return Activation::kRelu;
  if (a != "linear") ADD_FAILURE() << c.name << ": activation " << a;
  return Activation::kLinear;
}

Reduction ReductionOf(const GoldenCase& c) {
  const std::string r = c.Str("reduction");
  if (r == "sum") return Reduction::kSum;
  if (r != "mean") ADD_FAILURE() << c.name << ": reduction " << r;
  return Reduction::kMean;
}

Output UnknownOp(const GoldenCase& c) {
  ADD_FAILURE() << c.name << ": unknown op " << c.op;
  return Output();
}

// ---------------------------------------------------------------------------
// One test per op family.

TEST(TorchGoldenTest, Conv2D) {
  RunFamily("conv2d",
            [](const GoldenCase& c, const std::map<std::string, Output>& in) {
              if (c.op != "conv2d") return UnknownOp(c);
              Conv2DOptions options;
              options.strides = c.Ints("strides");
              options.padding = c.Str("padding");
              options.explicit_paddings = c.Ints("explicit_paddings");
              options.dilations = c.Ints("dilations");
              options.activation = ActivationOf(c);
              Output bias = in.count("b") ? in.at("b") : Output();
              return Conv2D(Get(in, "x"), Get(in, "w"), bias, options);
            });
}

TEST(TorchGoldenTest, Pooling) {
  RunFamily("pool",
            [](const GoldenCase& c, const std::map<std::string, Output>& in) {
              if (c.op == "maxpool") {
                return MaxPool2D(Get(in, "x"), c.Ints("kernel"),
                                 c.Ints("strides"), c.Str("padding"));
              }
              if (c.op == "avgpool") {
                return AvgPool2D(Get(in, "x"), c.Ints("kernel"),
                                 c.Ints("strides"), c.Str("padding"));
              }
              return UnknownOp(c);
            });
}

TEST(TorchGoldenTest, DenseAndMatMul) {
  RunFamily("dense", [](const GoldenCase& c,
                        const std::map<std::string, Output>& in) {
    if (c.op == "dense") {
      // The golden w is already in nabla's [in, out] layout.
      return Dense(Get(in, "x"), Get(in, "w"), Get(in, "b"), ActivationOf(c));
    }
    if (c.op == "matmul") {
      return MatMul(Get(in, "a"), Get(in, "b"),
                    c.Ints("transpose_a") == std::vector<int64_t>{1},
                    c.Ints("transpose_b") == std::vector<int64_t>{1});
    }
    return UnknownOp(c);
  });
}

TEST(TorchGoldenTest, ActivationsAndSoftmax) {
  RunFamily("activations",
            [](const GoldenCase& c, const std::map<std::string, Output>& in) {
              Output x = Get(in, "x");
              if (c.op == "relu") return Relu(x);
              if (c.op == "sigmoid") return Sigmoid(x);
              if (c.op == "tanh") return Tanh(x);
              if (c.op == "leaky_relu") {
                return LeakyRelu(x, static_cast<float>(c.Float("alpha")));
              }
              if (c.op == "softmax") return Softmax(x, c.Ints("axis").at(0));
              if (c.op == "log_softmax")
                return LogSoftmax(x, c.Ints("axis").at(0));
              return UnknownOp(c);
            });
}

TEST(TorchGoldenTest, Losses) {
  RunFamily("losses", [](const GoldenCase& c,
                         const std::map<std::string, Output>& in) {
    Output labels = Get(in, "labels");
    Reduction reduction = ReductionOf(c);
    if (c.op == "softmax_ce") {
      return SoftmaxCrossEntropy(Get(in, "logits"), labels, reduction);
    }
    if (c.op == "categorical_ce") {
      return CategoricalCrossEntropy(Get(in, "probs"), labels, reduction);
    }
    if (c.op == "binary_ce") {
      return BinaryCrossEntropy(Get(in, "probs"), labels, reduction);
    }
    if (c.op == "binary_ce_logits") {
      return BinaryCrossEntropyWithLogits(Get(in, "logits"), labels, reduction);
    }
    return UnknownOp(c);
  });
}

}  // namespace
}  // namespace nabla
