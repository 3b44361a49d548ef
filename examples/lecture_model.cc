#include "examples/lecture_model.h"

#include "ops/ops.h"

namespace nabla {

LectureModel BuildLectureModel(GraphBuilder& b, int64_t seed) {
  LectureModel m;
  m.images = b.Placeholder("images", {kUnknownDim, 1, 28, 28}, DType::kU8);
  m.labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);

  // Each weight gets its own seed, so that layers are not initialized alike.
  int64_t next_seed = seed * 1000;
  auto weight = [&](const char* name, const Shape& shape) {
    Output w = b.Variable(name, shape, Initializer::GlorotUniform(next_seed++));
    m.variables.push_back(w);
    return w;
  };
  auto bias = [&](const char* name, int64_t size) {
    Output v = b.Variable(name, {size}, Initializer::Zeros());
    m.variables.push_back(v);
    return v;
  };

  Conv2DOptions relu;
  relu.activation = Activation::kRelu;
  Output pixels = Cast(m.images, 1.0f / 255, "rescale");
  Output conv1 = Conv2D(pixels, weight("conv1/w", {32, 1, 5, 5}),
                        bias("conv1/b", 32), relu, "conv1");
  Output pool1 = MaxPool2D(conv1, {2, 2}, {2, 2}, "valid", "pool1");
  Output conv2 = Conv2D(pool1, weight("conv2/w", {64, 32, 5, 5}),
                        bias("conv2/b", 64), relu, "conv2");
  Output pool2 = MaxPool2D(conv2, {2, 2}, {2, 2}, "valid", "pool2");
  Output flat = Flatten(pool2, "flatten");
  Output dense1 = Dense(flat, weight("dense1/w", {1024, 1000}),
                        bias("dense1/b", 1000), Activation::kRelu, "dense1");
  m.logits = Dense(dense1, weight("dense2/w", {1000, 10}), bias("dense2/b", 10),
                   Activation::kLinear, "dense2");
  m.probabilities = Softmax(m.logits, -1, "probabilities");
  m.loss = SoftmaxCrossEntropy(m.logits, m.labels, Reduction::kMean, "loss");
  m.accuracy = Accuracy(m.logits, m.labels, "accuracy");
  return m;
}

}  // namespace nabla
