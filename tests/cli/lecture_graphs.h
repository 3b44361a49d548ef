// The lecture model's graphs as the tests of tests/cli need them: the whole
// training graph the MNIST example saves, the model alone, and the model
// with gradients but no optimizer.

#ifndef NABLA_TESTS_CLI_LECTURE_GRAPHS_H_
#define NABLA_TESTS_CLI_LECTURE_GRAPHS_H_

#include "graph/graph.h"

namespace nabla {
namespace testing {

enum class LectureGraph { kTraining, kModelOnly, kGradientsOnly };

// BuildLectureGraph builds the lecture model (seed 42) as `kind` says;
// training uses Adam, as examples/mnist does.
Graph BuildLectureGraph(LectureGraph kind);

}  // namespace testing
}  // namespace nabla

#endif  // NABLA_TESTS_CLI_LECTURE_GRAPHS_H_
