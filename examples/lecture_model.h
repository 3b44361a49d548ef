// The lecture's MNIST model, built from graph ops: Keras's classic
//
//   Conv2D(32, 5x5, relu) > MaxPool(2x2) > Conv2D(64, 5x5, relu) >
//   MaxPool(2x2) > Flatten > Dense(1000, relu) > Dense(10, softmax)
//
// with categorical cross-entropy. It takes u8 pixels and scales them to
// [0, 1] itself (Keras's Rescaling), so a dataset in memory costs a quarter
// of f32. Shared by examples/mnist.cc, the
// benchmarks and the tests.
//
//   GraphBuilder b;
//   LectureModel model = BuildLectureModel(b, /*seed=*/42);
//   NABLA_ASSIGN_OR_RETURN(TrainStep train,
//                          Adam().Minimize(model.loss, model.variables));

#ifndef NABLA_EXAMPLES_LECTURE_MODEL_H_
#define NABLA_EXAMPLES_LECTURE_MODEL_H_

#include <cstdint>
#include <vector>

#include "graph/builder.h"

namespace nabla {

struct LectureModel {
  Output images;         // placeholder u8 [?, 1, 28, 28], pixels 0-255
  Output labels;         // placeholder i32 [?], classes 0-9
  Output logits;         // f32 [?, 10]
  Output probabilities;  // softmax(logits): the model's prediction
  Output loss;           // mean categorical cross-entropy (fused, stable)
  Output accuracy;       // fraction of the batch classified right
  std::vector<Output> variables;  // the 8 trainable weights and biases
};

// Adds the model to `b`. Weights are Glorot-uniform (Keras's default) from
// `seed`, biases zero.
LectureModel BuildLectureModel(GraphBuilder& b, int64_t seed);

}  // namespace nabla

#endif  // NABLA_EXAMPLES_LECTURE_MODEL_H_
