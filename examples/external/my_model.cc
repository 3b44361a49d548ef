// A user's program built outside nabla's own tree, three ways (see the
// README's "Using nabla from your own build"): in its own Bazel workspace
// with nabla as an external repository, with pkg-config, or with CMake.
//
// It trains a small classifier on a toy problem (is the sum of the inputs
// positive?), checks that it learned, and exports it to ONNX.
//
//   my_model [OUT.onnx]

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "export/onnx.h"
#include "graph/builder.h"
#include "graph/op_registry.h"
#include "graph/session.h"
#include "ops/ops.h"
#include "train/optimizer.h"

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "my_model: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nabla;
  constexpr int64_t kBatch = 64, kFeatures = 8;

  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, kFeatures});
  Output labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
  Output w1 = b.Variable("dense1/w", {kFeatures, 16}, Initializer::GlorotUniform(1));
  Output b1 = b.Variable("dense1/b", {16}, Initializer::Zeros());
  Output w2 = b.Variable("dense2/w", {16, 2}, Initializer::GlorotUniform(2));
  Output b2 = b.Variable("dense2/b", {2}, Initializer::Zeros());
  Output logits = Dense(Dense(x, w1, b1, Activation::kRelu), w2, b2);
  Softmax(logits, -1, "probabilities");
  Output loss = SoftmaxCrossEntropy(logits, labels);
  Output accuracy = Accuracy(logits, labels);
  AdamOptions adam;
  adam.learning_rate = 0.01f;
  absl::StatusOr<TrainStep> train = Adam(adam).Minimize(loss, {w1, b1, w2, b2});
  if (!train.ok()) return Fail(train.status());
  absl::StatusOr<Graph> graph = b.Build();
  if (!graph.ok()) return Fail(graph.status());
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(*std::move(graph));
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<Plan*> step = (*session)->Compile(
      {{x, Shape({kBatch, kFeatures})}, {labels, Shape({kBatch})}},
      /*fetches=*/{loss, accuracy}, /*targets=*/train->targets());
  if (!step.ok()) return Fail(step.status());

  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  Tensor batch_x(DType::kF32, Shape({kBatch, kFeatures}));
  Tensor batch_labels(DType::kI32, Shape({kBatch}));
  std::vector<Tensor> out;
  float accuracy_sum = 0;
  for (int i = 1; i <= 300; ++i) {
    for (int64_t n = 0; n < kBatch; ++n) {
      float sum = 0;
      for (int64_t f = 0; f < kFeatures; ++f) {
        sum += batch_x.data<float>()[n * kFeatures + f] = normal(rng);
      }
      batch_labels.data<int32_t>()[n] = sum > 0;
    }
    absl::Status status = (*step)->Run({batch_x, batch_labels}, &out);
    if (!status.ok()) return Fail(status);
    if (i > 250) accuracy_sum += out[1].data<float>()[0];
    if (i % 100 == 0) {
      std::printf("step %d: loss %.4f, accuracy %.3f\n", i, out[0].data<float>()[0],
                  out[1].data<float>()[0]);
    }
  }
  const float final_accuracy = accuracy_sum / 50;
  std::printf("accuracy over the last 50 steps: %.3f\n", final_accuracy);
  std::printf("ops registered: %zu\n", OpRegistry::Global().All().size());
  if (final_accuracy < 0.9f) {
    std::fprintf(stderr, "my_model: did not learn the toy problem\n");
    return 1;
  }
  if (argc > 1) {
    absl::Status status = ExportOnnxFile(**session, argv[1]);
    if (!status.ok()) return Fail(status);
    std::printf("wrote %s\n", argv[1]);
  }
  return 0;
}
