// The lecture's model on real MNIST: trained on a subset it must reach at
// least 97% on the full test set, and a saved model must load back and
// predict exactly what the trained one does.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "examples/lecture_model.h"
#include "graph/graph_def.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/fit.h"
#include "train/idx.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

// The lecture's model scales u8 pixels itself.
const IdxOptions kPixels = [] {
  IdxOptions options;
  options.images_as_float = false;
  return options;
}();

std::string DataDir() {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" +
         std::getenv("TEST_WORKSPACE") + "/data/mnist";
}

Dataset Head(const MnistData& data, int64_t n) {
  Tensor images(data.images.dtype(), data.images.shape().WithDim(0, n));
  std::memcpy(images.raw_data(), data.images.raw_data(), images.nbytes());
  Tensor labels(DType::kI32, Shape({n}));
  std::memcpy(labels.raw_data(), data.labels.raw_data(), labels.nbytes());
  return Dataset{images, labels};
}

TEST(MnistTest, SubsetTrainingReachesAccuracyAndSavedModelPredictsTheSame) {
  NABLA_ASSERT_OK_AND_ASSIGN(MnistData train, LoadMnist(DataDir(), "train", kPixels));
  NABLA_ASSERT_OK_AND_ASSIGN(MnistData test, LoadMnist(DataDir(), "t10k", kPixels));
  ASSERT_EQ(train.images.shape(), Shape({60000, 1, 28, 28}));
  ASSERT_EQ(test.labels.shape(), Shape({10000}));

  GraphBuilder b;
  LectureModel model = BuildLectureModel(b, /*seed=*/7);
  NABLA_ASSERT_OK(b.status());
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep step,
                             Adam().Minimize(model.loss, model.variables));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(graph));
  ModelSpec spec;
  spec.inputs = model.images;
  spec.labels = model.labels;
  spec.loss = model.loss;
  spec.accuracy = model.accuracy;
  spec.train_targets = step.targets();
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(session.get(), spec, /*seed=*/7));

  // One pass over a third of the training set: a few seconds with -O2.
  FitOptions options;
  options.batch_size = 128;
  options.epochs = 1;
  options.verbosity = Verbosity::kEpochLines;
  NABLA_ASSERT_OK_AND_ASSIGN(History history,
                             trainer->Fit(Head(train, 20000), options));
  ASSERT_EQ(history.size(), 1u);
  Dataset test_set{test.images, test.labels};
  NABLA_ASSERT_OK_AND_ASSIGN(EvalResult result, trainer->Evaluate(test_set, 1000));
  EXPECT_EQ(result.examples, 10000);
  ASSERT_TRUE(result.accuracy.has_value());
  std::printf("test accuracy after 20000 images: %.4f\n", *result.accuracy);
  EXPECT_GE(*result.accuracy, 0.97) << "test loss " << result.loss;

  // Save the graph as text and the weights as a checkpoint, load both into
  // a fresh session, and compare predictions bit for bit.
  std::string dir = std::getenv("TEST_TMPDIR");
  NABLA_ASSERT_OK(SaveGraph(graph, dir + "/model.pbtxt"));
  NABLA_ASSERT_OK(trainer->SaveCheckpoint(dir + "/model.ckpt"));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph loaded, LoadGraph(dir + "/model.pbtxt"));
  NABLA_ASSERT_OK_AND_ASSIGN(auto restored, Session::Create(std::move(loaded)));
  NABLA_ASSERT_OK(LoadCheckpoint(dir + "/model.ckpt", restored.get()).status());

  Dataset sample = Head(test, 1000);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto before, session->Run({{model.images, sample.inputs}}, {model.probabilities}));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput images, restored->graph().FindOutput("images"));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput probabilities,
                             restored->graph().FindOutput("probabilities"));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto after, restored->Run({{images, sample.inputs}}, {probabilities}));
  EXPECT_TRUE(before[0].BitwiseEquals(after[0]));
}

}  // namespace
}  // namespace nabla
