#include "bench/op_cases.h"

#include <utility>

#include "core/tensor.h"
#include "graph/initializers.h"
#include "ops/ops.h"

namespace nabla {
namespace bench {
namespace {

constexpr int64_t kB = kUnknownDim;

// Multiply-accumulates of a valid, stride-1 convolution at `batch`.
double ConvMacs(int64_t batch, const RawConvSpec& c) {
  const double oh = c.height - c.kernel + 1, ow = c.width - c.kernel + 1;
  return static_cast<double>(batch) * c.filters * oh * ow * c.channels *
         c.kernel * c.kernel;
}

OpCase ConvCase(std::string name, const RawConvSpec& spec, bool input_grad) {
  OpCase c;
  c.name = std::move(name);
  CaseInput x("x", {kB, spec.channels, spec.height, spec.width});
  x.Range(0.0f, 1.0f);
  if (!input_grad) x.NoGradient();
  c.inputs = {x,
              CaseInput("w", {spec.filters, spec.channels, spec.kernel,
                              spec.kernel})
                  .Range(-0.1f, 0.1f),
              CaseInput("b", {spec.filters}).Range(-0.1f, 0.1f)};
  c.build = [](GraphBuilder&, const std::vector<Output>& in) {
    Conv2DOptions relu;
    relu.activation = Activation::kRelu;
    return std::vector<Output>{Conv2D(in[0], in[1], in[2], relu)};
  };
  c.forward_flops = [spec](int64_t n) { return 2 * ConvMacs(n, spec); };
  // Backward-weights always, backward-data only where x needs a gradient.
  c.backward_flops = [spec, input_grad](int64_t n) {
    return (input_grad ? 4 : 2) * ConvMacs(n, spec);
  };
  c.raw_forward = [spec](int64_t n) { return RawConvForward(n, spec); };
  c.raw_backward = [spec, input_grad](int64_t n) {
    return RawConvBackward(n, spec, input_grad);
  };
  return c;
}

OpCase MaxPoolCase(std::string name, const RawPoolSpec& spec) {
  OpCase c;
  c.name = std::move(name);
  c.inputs = {CaseInput("x", {kB, spec.channels, spec.height, spec.width})};
  const int64_t k = spec.window;
  c.build = [k](GraphBuilder&, const std::vector<Output>& in) {
    return std::vector<Output>{MaxPool2D(in[0], {k, k}, {k, k})};
  };
  c.raw_forward = [spec](int64_t n) { return RawMaxPoolForward(n, spec); };
  c.raw_backward = [spec](int64_t n) { return RawMaxPoolBackward(n, spec); };
  return c;
}

OpCase DenseCase(std::string name, const RawDenseSpec& spec) {
  OpCase c;
  c.name = std::move(name);
  c.inputs = {CaseInput("x", {kB, spec.in}),
              CaseInput("w", {spec.in, spec.out}).Range(-0.05f, 0.05f),
              CaseInput("b", {spec.out}).Range(-0.1f, 0.1f)};
  const Activation act = spec.relu ? Activation::kRelu : Activation::kLinear;
  c.build = [act](GraphBuilder&, const std::vector<Output>& in) {
    return std::vector<Output>{Dense(in[0], in[1], in[2], act)};
  };
  c.forward_flops = [spec](int64_t n) {
    return 2.0 * n * spec.in * spec.out;
  };
  c.backward_flops = [spec](int64_t n) {
    return 4.0 * n * spec.in * spec.out;
  };
  c.raw_forward = [spec](int64_t n) { return RawDenseForward(n, spec); };
  c.raw_backward = [spec](int64_t n) { return RawDenseBackward(n, spec); };
  return c;
}

// An activation on conv1's output, [N,32,24,24].
OpCase ActivationCase(std::string name, Output (*fn)(Output),
                      dnnl::algorithm alg, float alpha) {
  OpCase c;
  c.name = std::move(name);
  c.inputs = {CaseInput("x", {kB, 32, 24, 24}).Range(-3.0f, 3.0f)};
  c.build = [fn](GraphBuilder&, const std::vector<Output>& in) {
    return std::vector<Output>{fn(in[0])};
  };
  constexpr int64_t kElements = 32 * 24 * 24;
  c.raw_forward = [alg, alpha](int64_t n) {
    return RawEltwiseForward(n * kElements, alg, alpha);
  };
  c.raw_backward = [alg, alpha](int64_t n) {
    return RawEltwiseBackward(n * kElements, alg, alpha);
  };
  return c;
}

Output ReluFn(Output x) { return Relu(x); }
Output SigmoidFn(Output x) { return Sigmoid(x); }
Output TanhFn(Output x) { return Tanh(x); }
Output LeakyReluFn(Output x) { return LeakyRelu(x, 0.2f); }

std::vector<OpCase> MakeCases() {
  std::vector<OpCase> cases;

  // The lecture's model, layer by layer.
  cases.push_back(ConvCase("Conv1", kLectureConv1, /*input_grad=*/false));
  cases.push_back(MaxPoolCase("MaxPool1", kLecturePool1));
  cases.push_back(ConvCase("Conv2", kLectureConv2, /*input_grad=*/true));
  cases.push_back(MaxPoolCase("MaxPool2", kLecturePool2));
  {
    OpCase c;
    c.name = "Flatten";
    c.inputs = {CaseInput("x", {kB, 64, 4, 4})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Flatten(in[0])};
    };
    cases.push_back(std::move(c));
  }
  cases.push_back(DenseCase("Dense1", kLectureDense1));
  cases.push_back(DenseCase("Dense2", kLectureDense2));
  {
    OpCase c;
    c.name = "Softmax";
    c.inputs = {CaseInput("x", {kB, 10}).Range(-3.0f, 3.0f)};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Softmax(in[0])};
    };
    c.raw_forward = [](int64_t n) { return RawSoftmaxForward(n, 10); };
    c.raw_backward = [](int64_t n) { return RawSoftmaxBackward(n, 10); };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "SoftmaxCrossEntropy";
    CaseInput labels("labels", {kB}, DType::kI32);
    c.inputs = {CaseInput("logits", {kB, 10}).Range(-3.0f, 3.0f),
                labels.NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{SoftmaxCrossEntropy(in[0], in[1])};
    };
    c.raw_forward = [](int64_t n) {
      return RawSoftmaxCrossEntropyForward(n, 10);
    };
    c.raw_backward = [](int64_t n) {
      return RawSoftmaxCrossEntropyBackward(n, 10);
    };
    cases.push_back(std::move(c));
  }

  // Activations at conv1's output shape.
  cases.push_back(
      ActivationCase("Relu", ReluFn, dnnl::algorithm::eltwise_relu, 0.0f));
  cases.push_back(ActivationCase("Sigmoid", SigmoidFn,
                                 dnnl::algorithm::eltwise_logistic, 0.0f));
  cases.push_back(
      ActivationCase("Tanh", TanhFn, dnnl::algorithm::eltwise_tanh, 0.0f));
  cases.push_back(ActivationCase("LeakyRelu", LeakyReluFn,
                                 dnnl::algorithm::eltwise_relu, 0.2f));

  // Other registered ops, at shapes the model would give them.
  {
    OpCase c;
    c.name = "AvgPool1";
    c.inputs = {CaseInput("x", {kB, 32, 24, 24})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{AvgPool2D(in[0], {2, 2}, {2, 2})};
    };
    cases.push_back(std::move(c));
  }
  {
    // Batch normalization of conv1's output. A forward-only plan runs it in
    // inference (running statistics); the backward plan, which runs
    // BatchNormGrad, in training.
    OpCase c;
    c.name = "BatchNorm";
    const RawBatchNormSpec spec = kLectureConv1Output;
    c.inputs = {
        CaseInput("x", {kB, spec.channels, spec.height, spec.width}),
        CaseInput("gamma", {spec.channels}).Range(0.5f, 1.5f),
        CaseInput("beta", {spec.channels}).Range(-0.5f, 0.5f)};
    c.build = [spec](GraphBuilder& b, const std::vector<Output>& in) {
      const Shape channels({spec.channels});
      Output mean =
          b.Variable("bn/moving_mean", channels, Initializer::Zeros());
      Output variance = b.Variable("bn/moving_variance", channels,
                                   Initializer::Constant(1.0f));
      return std::vector<Output>{
          BatchNorm(in[0], in[1], in[2], mean, variance)};
    };
    c.raw_forward = [spec](int64_t n) { return RawBatchNormForward(n, spec); };
    c.raw_backward = [spec](int64_t n) {
      return RawBatchNormBackward(n, spec);
    };
    cases.push_back(std::move(c));
  }
  {
    // The model's first op: u8 pixels to f32 in [0, 1].
    OpCase c;
    c.name = "Cast";
    CaseInput pixels("pixels", {kB, 1, 28, 28}, DType::kU8);
    pixels.classes = 256;
    c.inputs = {pixels.NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Cast(in[0], 1.0f / 255)};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "LogSoftmax";
    c.inputs = {CaseInput("x", {kB, 10}).Range(-3.0f, 3.0f)};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{LogSoftmax(in[0])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "CategoricalCrossEntropy";
    CaseInput labels("labels", {kB}, DType::kI32);
    c.inputs = {CaseInput("probs", {kB, 10}).Range(0.01f, 1.0f),
                labels.NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{CategoricalCrossEntropy(in[0], in[1])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "Accuracy";
    CaseInput labels("labels", {kB}, DType::kI32);
    c.inputs = {CaseInput("scores", {kB, 10}).NoGradient(),
                labels.NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Accuracy(in[0], in[1])};
    };
    cases.push_back(std::move(c));
  }
  {
    // Arithmetic at dense1's output shape, [N,1000].
    OpCase c;
    c.name = "Add";
    c.inputs = {CaseInput("a", {kB, 1000}), CaseInput("b", {kB, 1000})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Add(in[0], in[1])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "Mul";
    c.inputs = {CaseInput("a", {kB, 1000}), CaseInput("b", {kB, 1000})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Mul(in[0], in[1])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "SumBatch";
    c.inputs = {CaseInput("x", {kB, 1000})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Sum(in[0], {0})};
    };
    cases.push_back(std::move(c));
  }
  {
    // Conv2D without a bias (and without ReLU), at conv2's shapes.
    OpCase c;
    c.name = "Conv2NoBias";
    const RawConvSpec spec = kLectureConv2;
    c.inputs = {CaseInput("x", {kB, 32, 12, 12}).Range(0.0f, 1.0f),
                CaseInput("w", {64, 32, 5, 5}).Range(-0.1f, 0.1f)};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Conv2D(in[0], in[1])};
    };
    c.forward_flops = [spec](int64_t n) { return 2 * ConvMacs(n, spec); };
    c.backward_flops = [spec](int64_t n) { return 4 * ConvMacs(n, spec); };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "ArgMax";
    c.inputs = {CaseInput("x", {kB, 10}).NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{ArgMax(in[0])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "BinaryCrossEntropy";
    c.inputs = {CaseInput("probs", {kB, 10}).Range(0.01f, 0.99f),
                CaseInput("labels", {kB, 10}).Range(0.0f, 1.0f).NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{BinaryCrossEntropy(in[0], in[1])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "BinaryCrossEntropyWithLogits";
    c.inputs = {CaseInput("logits", {kB, 10}).Range(-3.0f, 3.0f),
                CaseInput("labels", {kB, 10}).Range(0.0f, 1.0f).NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{BinaryCrossEntropyWithLogits(in[0], in[1])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "Sub";
    c.inputs = {CaseInput("a", {kB, 1000}), CaseInput("b", {kB, 1000})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Sub(in[0], in[1])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "Mean";
    c.inputs = {CaseInput("x", {kB, 1000})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Mean(in[0])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "Identity";
    c.inputs = {CaseInput("x", {kB, 1000})};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{Identity(in[0])};
    };
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "ZerosLike";
    c.inputs = {CaseInput("x", {kB, 1000}).NoGradient()};
    c.build = [](GraphBuilder&, const std::vector<Output>& in) {
      return std::vector<Output>{ZerosLike(in[0])};
    };
    cases.push_back(std::move(c));
  }
  {
    // SGD's and momentum's updates of dense1's weights, and the step count's
    // increment; like ApplyAdam below, independent of the batch.
    OpCase c;
    c.name = "ApplySgd";
    c.inputs = {
        CaseInput("grad", {1024, 1000}).Range(-0.01f, 0.01f).NoGradient()};
    c.build = [](GraphBuilder& b, const std::vector<Output>& in) {
      Output w = b.Variable("w", {1024, 1000}, Initializer::GlorotUniform(1));
      return std::vector<Output>{ApplySgd(w, in[0], b.Scalar(0.01f, "lr"))};
    };
    c.forward_flops = [](int64_t) { return 2.0 * 1024 * 1000; };
    c.batches = {1};
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "ApplyMomentum";
    c.inputs = {
        CaseInput("grad", {1024, 1000}).Range(-0.01f, 0.01f).NoGradient()};
    c.build = [](GraphBuilder& b, const std::vector<Output>& in) {
      Output w = b.Variable("w", {1024, 1000}, Initializer::GlorotUniform(1));
      Output accum =
          b.Variable("w/momentum", {1024, 1000}, Initializer::Zeros());
      return std::vector<Output>{
          ApplyMomentum(w, accum, in[0], b.Scalar(0.01f, "lr"), 0.9f)};
    };
    c.forward_flops = [](int64_t) { return 4.0 * 1024 * 1000; };
    c.batches = {1};
    cases.push_back(std::move(c));
  }
  {
    OpCase c;
    c.name = "AssignAdd";
    c.inputs = {CaseInput("delta", {}, DType::kI64).NoGradient()};
    c.inputs[0].classes = 3;
    c.build = [](GraphBuilder& b, const std::vector<Output>& in) {
      Output step = b.Variable("step", {}, Initializer::Zeros(), DType::kI64);
      return std::vector<Output>{AssignAdd(step, in[0])};
    };
    c.batches = {1};
    cases.push_back(std::move(c));
  }
  {
    // Adam's update of dense1's weights, the model's largest variable; it
    // does not depend on the batch, so it runs at one "batch" only.
    OpCase c;
    c.name = "ApplyAdam";
    c.inputs = {
        CaseInput("grad", {1024, 1000}).Range(-0.01f, 0.01f).NoGradient()};
    c.build = [](GraphBuilder& b, const std::vector<Output>& in) {
      Output w = b.Variable("w", {1024, 1000}, Initializer::GlorotUniform(1));
      Output m = b.Variable("w/adam_m", {1024, 1000}, Initializer::Zeros());
      Output v = b.Variable("w/adam_v", {1024, 1000}, Initializer::Zeros());
      Output lr = b.Scalar(0.001f, "lr");
      Output step = b.Constant(Tensor::Filled<int64_t>(Shape(), 10), "step");
      return std::vector<Output>{ApplyAdam(w, m, v, in[0], lr, step)};
    };
    // Per element: two moment updates, bias correction, sqrt and divide.
    c.forward_flops = [](int64_t) { return 12.0 * 1024 * 1000; };
    c.batches = {1};
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

const std::vector<OpCase>& OpCases() {
  static const std::vector<OpCase>* cases =
      new std::vector<OpCase>(MakeCases());
  return *cases;
}

}  // namespace bench
}  // namespace nabla
