// The demo server with a model that has the lecture model's interface
// ("images" in, "probabilities" out) but not its layers: it still
// predicts, says it cannot explain, and refuses explain=1 with a message.

#include <string>

#include "gmock/gmock.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "ops/ops.h"
#include "tests/demo/demo_server_process.h"

namespace nabla {
namespace testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// Softmax regression on the pixels, untrained: a bare GraphDef file.
std::string WriteSoftmaxRegression() {
  GraphBuilder b;
  Output images = b.Placeholder("images", {kUnknownDim, 1, 28, 28}, DType::kU8);
  Output w = b.Variable("w", {784, 10}, Initializer::GlorotUniform(7));
  Output bias = b.Variable("b", {10}, Initializer::Zeros());
  Output logits = Dense(Flatten(Cast(images, 1.0f / 255)), w, bias);
  Softmax(logits, -1, "probabilities");
  absl::StatusOr<Graph> graph = b.Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/softmax.pbtxt";
  absl::Status saved = SaveGraph(*graph, path);
  EXPECT_TRUE(saved.ok()) << saved;
  return path;
}

TEST(DemoOtherModelTest, PredictsButDoesNotExplain) {
  absl::StatusOr<std::unique_ptr<DemoServerProcess>> server =
      DemoServerProcess::Start({"--model=" + WriteSoftmaxRegression()});
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client = (*server)->Client();

  httplib::Result model = client.Get("/api/model");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->status, 200);
  json info = json::parse(model->body);
  EXPECT_FALSE(info["explain"].get<bool>());
  EXPECT_THAT(info["explain_error"].get<std::string>(), HasSubstr("conv1"));

  const std::string png = ReadTestFile("tests/demo/testdata/seven_canvas.png");
  httplib::Result predicted = client.Post("/api/predict", png, "image/png");
  ASSERT_TRUE(predicted);
  EXPECT_EQ(predicted->status, 200) << predicted->body;
  json answer = json::parse(predicted->body);
  EXPECT_EQ(answer["probabilities"].size(), 10u);

  httplib::Result explained = client.Post("/api/predict?explain=1", png, "image/png");
  ASSERT_TRUE(explained);
  EXPECT_EQ(explained->status, 400);
  EXPECT_THAT(explained->body, HasSubstr("this model cannot be explained"));

  absl::StatusOr<int> exit = (*server)->Stop();
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(*exit, 0);
}

TEST(DemoOtherModelTest, AMissingModelIsAClearStartupError) {
  absl::StatusOr<std::unique_ptr<DemoServerProcess>> server =
      DemoServerProcess::Start({"--model=/nonexistent/model"});
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("/nonexistent/model"));
}

}  // namespace
}  // namespace testing
}  // namespace nabla
