#include "tests/cli/lecture_graphs.h"

#include "examples/lecture_model.h"
#include "graph/autodiff.h"
#include "gtest/gtest.h"
#include "train/optimizer.h"

namespace nabla {
namespace testing {

Graph BuildLectureGraph(LectureGraph kind) {
  GraphBuilder b;
  LectureModel model = BuildLectureModel(b, /*seed=*/42);
  if (kind == LectureGraph::kTraining) {
    absl::StatusOr<TrainStep> step = Adam().Minimize(model.loss, model.variables);
    EXPECT_TRUE(step.ok()) << step.status();
  } else if (kind == LectureGraph::kGradientsOnly) {
    absl::StatusOr<std::vector<Output>> grads = Gradients(model.loss, model.variables);
    EXPECT_TRUE(grads.ok()) << grads.status();
  }
  absl::StatusOr<Graph> graph = b.Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  return graph.ok() ? *std::move(graph) : Graph();
}

}  // namespace testing
}  // namespace nabla
