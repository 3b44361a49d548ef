// Tests of infer/ensemble: averaged probabilities of small saved models,
// evaluation, and the errors for models that do not fit together.

#include "infer/ensemble.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "gtest/gtest.h"
#include "ops/arith.h"
#include "ops/dense.h"
#include "ops/shape_ops.h"
#include "ops/softmax.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::HasSubstr;

struct ModelShape {
  int64_t side = 4;
  int64_t classes = 3;
  DType dtype = DType::kU8;
  const char* output = "probabilities";
};

ModelShape With(int64_t side, int64_t classes, DType dtype = DType::kU8,
                const char* output = "probabilities") {
  ModelShape shape;
  shape.side = side;
  shape.classes = classes;
  shape.dtype = dtype;
  shape.output = output;
  return shape;
}

// Saves a softmax regression on `shape` images, its weights drawn from
// `seed`, as a model folder `dir` (model.pb and checkpoint.ckpt).
std::string SaveModel(const std::string& dir, uint64_t seed,
                      ModelShape shape = {}) {
  ::mkdir(dir.c_str(), 0755);
  GraphBuilder b;
  Output x = b.Placeholder("images", {kUnknownDim, 1, shape.side, shape.side},
                           shape.dtype);
  Output w = b.Variable("w", {shape.side * shape.side, shape.classes},
                        Initializer::GlorotUniform(seed));
  Output bias = b.Variable("b", {shape.classes}, Initializer::GlorotUniform(seed + 100));
  Output pixels = shape.dtype == DType::kU8 ? Cast(x, 1.0f / 255) : x;
  Softmax(Dense(Flatten(pixels), w, bias), -1, shape.output);
  absl::StatusOr<Graph> graph = b.Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(*graph);
  EXPECT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(SaveGraph(*graph, dir + "/model.pb").ok());
  CheckpointInfo info;
  info.epoch = 1;
  EXPECT_TRUE(SaveCheckpoint(**session, info, dir + "/checkpoint.ckpt").ok());
  return dir;
}

Tensor Images(int64_t n, int64_t side = 4) {
  Tensor t(DType::kU8, Shape({n, 1, side, side}));
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<uint8_t>()[i] = static_cast<uint8_t>((i * 2654435761u) >> 11);
  }
  return t;
}

Tensor PredictWith(const std::vector<std::string>& dirs, const Tensor& images) {
  absl::StatusOr<std::unique_ptr<Ensemble>> ensemble = Ensemble::Load(dirs);
  EXPECT_TRUE(ensemble.ok()) << ensemble.status();
  if (!ensemble.ok()) return Tensor();
  absl::StatusOr<Tensor> p = (*ensemble)->Predict(images);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.value_or(Tensor());
}

TEST(EnsembleTest, ProbabilitiesAreTheMeanOfTheModels) {
  const std::string dir = TestDir();
  const std::string a = SaveModel(dir + "/a", 1);
  const std::string b = SaveModel(dir + "/b", 2);
  const std::string c = SaveModel(dir + "/c", 3);
  // Over kMaxBatch: a full batch of 256 and a padded one of 44.
  const Tensor images = Images(300);
  const Tensor pa = PredictWith({a}, images);
  const Tensor pb = PredictWith({b}, images);
  const Tensor pc = PredictWith({c}, images);
  const Tensor ab = PredictWith({a, b}, images);
  const Tensor abc = PredictWith({a, b, c}, images);
  ASSERT_EQ(ab.shape(), Shape({300, 3}));
  ASSERT_EQ(abc.shape(), Shape({300, 3}));
  // The models differ, so the mean is not any one of them.
  EXPECT_FALSE(pa.BitwiseEquals(pb));
  EXPECT_FALSE(ab.BitwiseEquals(pa));
  for (int64_t i = 0; i < 300 * 3; ++i) {
    const double x = pa.data<float>()[i], y = pb.data<float>()[i],
                 z = pc.data<float>()[i];
    EXPECT_EQ(ab.data<float>()[i], static_cast<float>((x + y) / 2)) << i;
    EXPECT_EQ(abc.data<float>()[i], static_cast<float>((x + y + z) / 3)) << i;
  }
  for (int64_t r = 0; r < 300; ++r) {
    double sum = 0;
    for (int k = 0; k < 3; ++k) sum += abc.data<float>()[r * 3 + k];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  // A single model's rows do not depend on the batch they came in.
  const Tensor first = PredictWith({a}, Images(1));
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(first.data<float>()[k], pa.data<float>()[k], 1e-6);
  }
}

TEST(EnsembleTest, EvaluateCountsTheMostProbableClass) {
  const std::string dir = TestDir();
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto ensemble,
      Ensemble::Load({SaveModel(dir + "/a", 1), SaveModel(dir + "/b", 2)}));
  EXPECT_EQ(ensemble->size(), 2u);
  EXPECT_EQ(ensemble->num_classes(), 3);
  EXPECT_EQ(ensemble->input_dtype(), DType::kU8);
  EXPECT_EQ(ensemble->input_shape(), Shape({kUnknownDim, 1, 4, 4}));
  const Tensor images = Images(40);
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor p, ensemble->Predict(images));
  // Labels right for the first 30 examples, wrong for the last 10.
  Tensor labels(DType::kI64, Shape({40}));
  for (int64_t i = 0; i < 40; ++i) {
    const float* row = p.data<float>() + i * 3;
    int64_t best = std::max_element(row, row + 3) - row;
    labels.data<int64_t>()[i] = i < 30 ? best : (best + 1) % 3;
  }
  NABLA_ASSERT_OK_AND_ASSIGN(double accuracy, ensemble->Evaluate({images, labels}));
  EXPECT_DOUBLE_EQ(accuracy, 0.75);

  labels.data<int64_t>()[7] = 3;
  EXPECT_THAT(ensemble->Evaluate({images, labels}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("label 3 of example 7 is outside [0, 3)")));
  EXPECT_THAT(ensemble->Evaluate({images, Tensor(DType::kI32, Shape({39}))}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("39 labels")));
  EXPECT_THAT(ensemble->Evaluate({images, Tensor(DType::kF32, Shape({40}))}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("i32 or i64")));
  EXPECT_THAT(ensemble->Predict(Images(5, 5)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("takes images u8[?,1,4,4], not u8[5,1,5,5]")));
}

TEST(EnsembleTest, ScoreCountsTheEnsembleAndEachModel) {
  const std::string dir = TestDir();
  // 300 images, over kMaxBatch, so votes from two batches are counted.
  const Tensor images = Images(300);
  std::vector<std::string> dirs;
  std::vector<Tensor> alone;
  for (uint64_t seed : {1, 2, 3}) {
    dirs.push_back(SaveModel(absl::StrCat(dir, "/m", seed), seed));
    alone.push_back(PredictWith({dirs.back()}, images));
  }
  const Tensor& pa = alone[0];
  const Tensor& pb = alone[1];
  const Tensor& pc = alone[2];
  // Labels: model b's answer, so b is always right and the others only
  // where they agree with it.
  auto argmax = [](const Tensor& p, int64_t i) {
    const float* row = p.data<float>() + i * 3;
    return static_cast<int32_t>(std::max_element(row, row + 3) - row);
  };
  Tensor labels(DType::kI32, Shape({300}));
  int64_t a_right = 0, c_right = 0, mean_right = 0;
  for (int64_t i = 0; i < 300; ++i) {
    const int32_t label = argmax(pb, i);
    labels.data<int32_t>()[i] = label;
    a_right += argmax(pa, i) == label;
    c_right += argmax(pc, i) == label;
    double mean[3];
    for (int k = 0; k < 3; ++k) {
      mean[k] = (static_cast<double>(pa.data<float>()[i * 3 + k]) +
                 pb.data<float>()[i * 3 + k] + pc.data<float>()[i * 3 + k]) / 3;
    }
    mean_right += (std::max_element(mean, mean + 3) - mean) == label;
  }
  // The models disagree often enough for the counts to tell them apart.
  ASSERT_LT(a_right, 300);
  ASSERT_LT(c_right, 300);

  NABLA_ASSERT_OK_AND_ASSIGN(auto ensemble, Ensemble::Load(dirs));
  NABLA_ASSERT_OK_AND_ASSIGN(EnsembleScore score, ensemble->Score({images, labels}));
  EXPECT_EQ(score.examples, 300);
  EXPECT_EQ(score.correct, mean_right);
  EXPECT_EQ(score.model_correct, (std::vector<int64_t>{a_right, 300, c_right}));
  EXPECT_DOUBLE_EQ(score.model_accuracy(1), 1.0);
  EXPECT_DOUBLE_EQ(score.model_accuracy(0), a_right / 300.0);
  NABLA_ASSERT_OK_AND_ASSIGN(double accuracy, ensemble->Evaluate({images, labels}));
  EXPECT_DOUBLE_EQ(accuracy, score.accuracy());
  EXPECT_DOUBLE_EQ(score.accuracy(), mean_right / 300.0);

  labels.data<int32_t>()[299] = -1;
  EXPECT_THAT(ensemble->Score({images, labels}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("label -1 of example 299 is outside [0, 3)")));
}

TEST(EnsembleTest, ModelsMustAgree) {
  const std::string dir = TestDir();
  const std::string a = SaveModel(dir + "/a", 1);
  const std::string wider = SaveModel(dir + "/wider", 2, With(5, 3));
  const std::string floats = SaveModel(dir + "/floats", 2, With(4, 3, DType::kF32));
  const std::string four = SaveModel(dir + "/four", 2, With(4, 4));
  const std::string unnamed =
      SaveModel(dir + "/unnamed", 2, With(4, 3, DType::kU8, "scores"));
  EXPECT_THAT(Ensemble::Load({a, wider}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model '" + wider + "' takes images u8[?,1,5,5] but model '" +
                                 a + "' takes u8[?,1,4,4]")));
  EXPECT_THAT(Ensemble::Load({a, floats}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model '" + floats + "' takes images f32[?,1,4,4]")));
  EXPECT_THAT(Ensemble::Load({a, four}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model '" + four + "' has 4 classes but model '" + a +
                                 "' has 3")));
  EXPECT_THAT(Ensemble::Load({a, unnamed}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model '" + unnamed + "' has no output 'probabilities'")));
  EXPECT_THAT(Ensemble::Load({a, dir + "/missing"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir + "/missing")));
  EXPECT_THAT(Ensemble::Load({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one")));
}

}  // namespace
}  // namespace nabla
