// The demo server's JSON API, over HTTP against the real binary on
// 127.0.0.1: predictions from PNGs and pixels, the explanations checked
// against plain loops, the activation curves against closed forms in double
// precision, and every kind of bad request answered with its 4xx while the
// server stays up.

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/demo/demo_server_process.h"
#include "train/idx.h"

namespace nabla {
namespace testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// Opens a connection to the server on 127.0.0.1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 &&
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class DemoApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DemoServerProcess>> server =
        DemoServerProcess::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value().release();
  }

  static void TearDownTestSuite() {
    if (server_ == nullptr) return;
    absl::StatusOr<int> exit = server_->Stop();
    EXPECT_TRUE(exit.ok() && *exit == 0) << "the server did not exit cleanly";
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(server_, nullptr); }

  // A request whose answer must be JSON with `status`.
  static json Expect(const httplib::Result& result, int status) {
    EXPECT_TRUE(result) << "no answer: " << httplib::to_string(result.error());
    if (!result) return json();
    EXPECT_EQ(result->status, status) << result->body.substr(0, 300);
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
    json body = json::parse(result->body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << result->body.substr(0, 300);
    if (status >= 400) {
      EXPECT_TRUE(body.contains("error")) << result->body;
    }
    return body;
  }

  static json PostJson(const std::string& path, const std::string& body,
                       int status) {
    return Expect(server_->Client().Post(path, body, "application/json"),
                  status);
  }

  static json PostImage(const std::string& path, const std::string& bytes,
                        int status) {
    return Expect(server_->Client().Post(path, bytes, "image/png"), status);
  }

  static json Get(const std::string& path, int status) {
    return Expect(server_->Client().Get(path), status);
  }

  static std::vector<float> Decode(const json& tensor) {
    EXPECT_EQ(tensor["encoding"], "f32le-base64");
    std::string bytes;
    EXPECT_TRUE(absl::Base64Unescape(tensor["data"].get<std::string>(), &bytes));
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
  }

  static DemoServerProcess* server_;
};

DemoServerProcess* DemoApiTest::server_ = nullptr;

TEST_F(DemoApiTest, PredictsDigitsDrawnOnTheCanvasAndScanned) {
  // A 7 drawn with mouse events on the page's canvas (dark on white), and
  // MNIST's first test image printed as a scan would show it.
  for (const char* file : {"tests/demo/testdata/seven_canvas.png",
                           "tests/demo/testdata/mnist_t10k_0.png"}) {
    SCOPED_TRACE(file);
    std::string png = ReadTestFile(file);
    ASSERT_FALSE(png.empty());
    json reply = PostImage("/api/predict", png, 200);
    EXPECT_EQ(reply["digit"], 7);
    EXPECT_EQ(reply["ranking"][0], 7);
    EXPECT_GT(reply["probabilities"][7].get<double>(), 0.9);
    double sum = 0;
    for (const json& p : reply["probabilities"]) sum += p.get<double>();
    EXPECT_NEAR(sum, 1, 1e-5);
    EXPECT_EQ(reply["input"].size(), 784u);
    EXPECT_EQ(reply["source"]["kind"], "image");
    EXPECT_EQ(reply["source"]["width"], 280);
    EXPECT_FALSE(reply.contains("conv1"));
  }
}

TEST_F(DemoApiTest, PredictsMnistTestPixels) {
  absl::StatusOr<MnistData> mnist = [] {
    IdxOptions options;
    options.images_as_float = false;
    return LoadMnist(std::string(std::getenv("TEST_SRCDIR")) + "/nabla/data/mnist",
                     "t10k", options);
  }();
  ASSERT_TRUE(mnist.ok()) << mnist.status();
  const uint8_t* images = mnist->images.data<uint8_t>();
  const int32_t* labels = mnist->labels.data<int32_t>();
  int correct = 0;
  constexpr int kDigits = 50;
  for (int n = 0; n < kDigits; ++n) {
    std::vector<int> pixels(images + 784 * n, images + 784 * (n + 1));
    json reply = PostJson("/api/predict", json{{"pixels", pixels}}.dump(), 200);
    EXPECT_EQ(reply["source"]["kind"], "pixels");
    // The pixels are used as given: no preprocessing.
    EXPECT_EQ(reply["input"].get<std::vector<int>>(), pixels);
    correct += reply["digit"] == labels[n];
  }
  // The shipped model scores 99.17% on the whole test set.
  EXPECT_GE(correct, kDigits - 1);

  // 28 rows of 28 are accepted too.
  std::vector<std::vector<int>> rows(28, std::vector<int>(28));
  for (int i = 0; i < 784; ++i) rows[i / 28][i % 28] = images[i];
  json reply = PostJson("/api/predict", json{{"pixels", rows}}.dump(), 200);
  EXPECT_EQ(reply["digit"], labels[0]);
}

TEST_F(DemoApiTest, ExplanationsAreTheModelsFirstLayers) {
  json model = Get("/api/model", 200);
  ASSERT_TRUE(model["explain"].get<bool>());
  EXPECT_EQ(model["conv1"]["filters"]["shape"], json({32, 1, 5, 5}));
  std::vector<float> w = model["conv1"]["filters"]["values"];
  std::vector<float> b = model["conv1"]["bias"];
  ASSERT_EQ(w.size(), 800u);
  ASSERT_EQ(b.size(), 32u);

  json reply = PostImage("/api/predict?explain=1",
                         ReadTestFile("tests/demo/testdata/seven_canvas.png"), 200);
  EXPECT_EQ(reply["conv1"]["shape"], json({32, 24, 24}));
  EXPECT_EQ(reply["pool1"]["shape"], json({32, 12, 12}));
  std::vector<float> conv1 = Decode(reply["conv1"]);
  std::vector<float> pool1 = Decode(reply["pool1"]);
  ASSERT_EQ(conv1.size(), 32u * 24 * 24);
  ASSERT_EQ(pool1.size(), 32u * 12 * 12);
  std::vector<int> input = reply["input"];

  // conv1 = ReLU(b + the 5x5 cross-correlation of pixels / 255), pool1 the
  // max of each 2x2 block, as plain loops in double precision.
  int positive = 0;
  for (int k = 0; k < 32; ++k) {
    for (int i = 0; i < 24; ++i) {
      for (int j = 0; j < 24; ++j) {
        double sum = b[k];
        for (int a = 0; a < 5; ++a) {
          for (int c = 0; c < 5; ++c) {
            sum += input[(i + a) * 28 + j + c] / 255.0 * w[k * 25 + a * 5 + c];
          }
        }
        const double expected = std::max(0.0, sum);
        ASSERT_NEAR(conv1[(k * 24 + i) * 24 + j], expected, 1e-5)
            << "conv1[" << k << "][" << i << "][" << j << "]";
        positive += expected > 0.01;
      }
    }
    for (int i = 0; i < 12; ++i) {
      for (int j = 0; j < 12; ++j) {
        float max = 0;
        for (int a = 0; a < 2; ++a) {
          for (int c = 0; c < 2; ++c) {
            max = std::max(max, conv1[(k * 24 + 2 * i + a) * 24 + 2 * j + c]);
          }
        }
        ASSERT_EQ(pool1[(k * 12 + i) * 12 + j], max);
      }
    }
  }
  EXPECT_GT(positive, 1000);  // a drawn digit, not a blank
}

TEST_F(DemoApiTest, ActivationCurvesMatchClosedForms) {
  json reply = Get("/api/activations?alpha=0.1&from=-5&to=5", 200);
  std::vector<float> x = reply["x"];
  ASSERT_EQ(x.size(), 241u);
  EXPECT_FLOAT_EQ(x.front(), -5);
  EXPECT_FLOAT_EQ(x.back(), 5);
  auto curve = [&](const char* fn, const char* what) {
    return reply["activations"][fn][what].get<std::vector<float>>();
  };
  for (size_t n = 0; n < x.size(); ++n) {
    const double v = x[n];
    const double sigmoid = 1 / (1 + std::exp(-v));
    const double tanh = std::tanh(v);
    EXPECT_NEAR(curve("linear", "y")[n], v, 1e-6);
    EXPECT_NEAR(curve("linear", "dy")[n], 1, 1e-6);
    EXPECT_NEAR(curve("sigmoid", "y")[n], sigmoid, 1e-6);
    EXPECT_NEAR(curve("sigmoid", "dy")[n], sigmoid * (1 - sigmoid), 1e-6);
    EXPECT_NEAR(curve("tanh", "y")[n], tanh, 1e-6);
    EXPECT_NEAR(curve("tanh", "dy")[n], 1 - tanh * tanh, 1e-5);
    EXPECT_NEAR(curve("relu", "y")[n], std::max(0.0, v), 1e-6);
    EXPECT_NEAR(curve("leaky_relu", "y")[n], v > 0 ? v : 0.1 * v, 1e-6);
    if (v != 0) {
      EXPECT_NEAR(curve("relu", "dy")[n], v > 0 ? 1 : 0, 1e-6);
      EXPECT_NEAR(curve("leaky_relu", "dy")[n], v > 0 ? 1 : 0.1, 1e-6);
    }
  }

  // Softmax of (x, 1, 0) and the first row of its Jacobian.
  const json& softmax = reply["softmax"];
  for (size_t n = 0; n < x.size(); ++n) {
    const double e0 = std::exp(double{x[n]}), e1 = std::exp(1.0), e2 = 1;
    const double p0 = e0 / (e0 + e1 + e2), p1 = e1 / (e0 + e1 + e2),
                 p2 = e2 / (e0 + e1 + e2);
    EXPECT_NEAR(softmax["p"][0][n].get<double>(), p0, 1e-6);
    EXPECT_NEAR(softmax["p"][1][n].get<double>(), p1, 1e-6);
    EXPECT_NEAR(softmax["p"][2][n].get<double>(), p2, 1e-6);
    EXPECT_NEAR(softmax["dp0"][0][n].get<double>(), p0 * (1 - p0), 1e-6);
    EXPECT_NEAR(softmax["dp0"][1][n].get<double>(), -p0 * p1, 1e-6);
    EXPECT_NEAR(softmax["dp0"][2][n].get<double>(), -p0 * p2, 1e-6);
  }

  // -log(p) and -1/p, and growing without bound as p goes to 0.
  const json& bce = reply["cross_entropy"];
  std::vector<float> p = bce["p"], loss = bce["loss"], dloss = bce["dloss"];
  ASSERT_EQ(p.size(), 241u);
  for (size_t n = 0; n < p.size(); ++n) {
    EXPECT_NEAR(loss[n], -std::log(double{p[n]}), 1e-5 * (1 - std::log(p[n])));
    EXPECT_NEAR(dloss[n], -1 / double{p[n]}, 1e-4 / p[n]);
    if (n > 0) {
      EXPECT_LT(loss[n], loss[n - 1]);
    }
  }
  EXPECT_GT(loss.front(), 6.9);

  json at = Get("/api/activations?fn=cross_entropy&p=0.25", 200);
  EXPECT_NEAR(at["cross_entropy"]["at"]["loss"].get<double>(), std::log(4.0), 1e-6);
  EXPECT_NEAR(at["cross_entropy"]["at"]["dloss"].get<double>(), -4, 1e-5);
  EXPECT_FALSE(at.contains("activations"));

  json one = Get("/api/activations?fn=tanh", 200);
  EXPECT_TRUE(one["activations"].contains("tanh"));
  EXPECT_EQ(one["activations"].size(), 1u);
  EXPECT_FALSE(one.contains("softmax"));
}

TEST_F(DemoApiTest, BadJsonAndWrongSizesAre400) {
  const std::string zeros(784, '0');
  struct Case {
    std::string body;
    std::string message;
  } cases[] = {
      {"this is not json", "not valid JSON"},
      {"{\"pixels\": [1, 2, 3", "not valid JSON"},
      {"[]", "an object with a \"pixels\" array"},
      {"{\"image\": 1}", "an object with a \"pixels\" array"},
      {"{\"pixels\": \"abc\"}", "must be an array"},
      {"{\"pixels\": [1, 2]}", "784 numbers (28x28), not 2"},
      {json{{"pixels", std::vector<int>(785, 0)}}.dump(), "not 785"},
      {json{{"pixels", std::vector<std::vector<int>>(28, std::vector<int>(27))}}
           .dump(),
       "28 arrays of 28"},
      {json{{"pixels", std::vector<int>(783, 0)}}.dump().insert(11, "300,"),
       "pixel 0 must be a number from 0 to 255, not 300"},
      {json{{"pixels", std::vector<int>(783, 0)}}.dump().insert(11, "\"x\","),
       "pixel 0 must be a number"},
      {json{{"pixels", std::vector<int>(783, 0)}}.dump().insert(11, "-1,"),
       "not -1"},
      {json{{"pixels", std::vector<int>(783, 0)}}.dump().insert(11, "null,"),
       "not null"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 60));
    json reply = PostJson("/api/predict", c.body, 400);
    EXPECT_THAT(reply["error"].get<std::string>(), HasSubstr(c.message));
  }
  // Deeply nested arrays, within the size limit: refused, and nothing
  // recursive runs out of stack.
  const std::string nested = absl::StrCat("{\"pixels\": ", std::string(200000, '['),
                                          std::string(200000, ']'), "}");
  EXPECT_THAT(PostJson("/api/predict", nested, 400)["error"].get<std::string>(),
              HasSubstr("784 numbers (28x28), not 1"));
  PostJson("/api/predict", std::string(500000, '['), 400);
  json empty = PostJson("/api/predict", "", 400);
  EXPECT_THAT(empty["error"].get<std::string>(), HasSubstr("empty"));
}

TEST_F(DemoApiTest, ImagesThatDoNotDecodeOrHoldNoInkAre400) {
  const std::string png = ReadTestFile("tests/demo/testdata/seven_canvas.png");
  for (const std::string& bytes :
       {std::string("not an image at all"), png.substr(0, 8),
        png.substr(0, png.size() / 2), std::string(1000, '\0')}) {
    json reply = PostImage("/api/predict", bytes, 400);
    EXPECT_THAT(reply["error"].get<std::string>(),
                HasSubstr("the image does not decode"));
  }
  // A PNG header that declares 100000 x 100000 pixels: refused before any
  // allocation.
  std::string huge = png.substr(0, 33);
  const unsigned char side[4] = {0x00, 0x01, 0x86, 0xA0};
  huge.replace(16, 4, reinterpret_cast<const char*>(side), 4);
  huge.replace(20, 4, reinterpret_cast<const char*>(side), 4);
  httplib::Result r = server_->Client().Post("/api/predict", huge, "image/png");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->status == 400 || r->status == 413) << r->status << r->body;

  json blank =
      PostImage("/api/predict", ReadTestFile("tests/demo/testdata/blank.png"), 400);
  EXPECT_THAT(blank["error"].get<std::string>(), HasSubstr("no digit"));
}

TEST_F(DemoApiTest, BodiesOverTheLimitAre413) {
  // 50 MB: the server reads no more than the headers into memory; it skips
  // the body (so that the client, which sends it all before reading, gets
  // the answer rather than a reset connection) and answers 413.
  const std::string big(50 << 20, 'x');
  httplib::Client client = server_->Client();
  httplib::Result r = client.Post("/api/predict", big, "image/png");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("over the limit of 1048576 bytes"));

  // A client that declares 50 MB and sends none of it: the answer comes
  // from the header alone, once the server's read timeout (5 s) ends its
  // wait for the body; the worker is not held any longer.
  int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const std::string head = absl::StrCat(
      "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: image/png\r\nContent-Length: ",
      50 << 20, "\r\n\r\n");
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(head.size()));
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    answer.append(buffer, n);
  }
  close(fd);
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 413"));
  EXPECT_THAT(answer, HasSubstr("over the limit"));
}

TEST_F(DemoApiTest, UnknownRoutesAndMethodsAndParameters) {
  EXPECT_THAT(Get("/api/nothing", 404)["error"].get<std::string>(),
              HasSubstr("no such route: GET /api/nothing"));
  Get("/no/such/page.html", 404);
  EXPECT_THAT(Get("/api/predict", 405)["error"].get<std::string>(),
              HasSubstr("use POST"));
  PostJson("/api/model", "{}", 405);
  PostJson("/api/activations", "{}", 405);
  Expect(server_->Client().Delete("/api/model"), 404);

  for (const char* query :
       {"fn=swish", "alpha=0.33", "from=abc", "from=3&to=1", "to=1e9",
        "from=nan", "z1=1000", "fn=cross_entropy&p=1.5"}) {
    SCOPED_TRACE(query);
    Get(absl::StrCat("/api/activations?", query), 400);
  }
  PostJson("/api/predict?explain=maybe", "{}", 400);
}

TEST_F(DemoApiTest, ServesThePageFromTheRepository) {
  httplib::Client client = server_->Client();
  for (const char* path : {"/", "/index.html", "/app.js", "/style.css"}) {
    SCOPED_TRACE(path);
    httplib::Result r = client.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_FALSE(r->body.empty());
    EXPECT_THAT(r->get_header_value("Content-Security-Policy"),
                HasSubstr("default-src 'self'"));
  }
  httplib::Result page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_THAT(page->body, HasSubstr("<canvas id=\"pad\""));
  // No asset comes from anywhere else.
  EXPECT_THAT(page->body, ::testing::Not(HasSubstr("http")));
  // No way out of the folder.
  httplib::Result escape = client.Get("/../BUILD.bazel");
  ASSERT_TRUE(escape);
  EXPECT_GE(escape->status, 400);
}

TEST_F(DemoApiTest, ClientsThatHangUpEarlyCostNothing) {
  const std::string png = ReadTestFile("tests/demo/testdata/seven_canvas.png");
  const std::string request = absl::StrCat(
      "POST /api/predict?explain=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: image/png\r\nContent-Length: ", png.size(), "\r\n\r\n", png);
  for (int n = 0; n < 20; ++n) {
    int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    // Half the request, or all of it and gone before the ~130 kB answer
    // (a reset, not a polite close, so that the server's writes fail).
    const size_t length = n % 2 ? request.size() : request.size() / 2;
    ASSERT_EQ(send(fd, request.data(), length, MSG_NOSIGNAL),
              static_cast<ssize_t>(length));
    linger reset{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
  }
  ASSERT_TRUE(server_->Running());
  EXPECT_EQ(PostImage("/api/predict", png, 200)["digit"], 7);
}

// Last in the file, so run after the bad requests: the server still
// answers, and correctly.
TEST_F(DemoApiTest, StaysResponsiveAfterBadRequests) {
  ASSERT_TRUE(server_->Running());
  json reply = PostImage("/api/predict?explain=1",
                         ReadTestFile("tests/demo/testdata/mnist_t10k_0.png"), 200);
  EXPECT_EQ(reply["digit"], 7);
  Get("/api/model", 200);
}

}  // namespace
}  // namespace testing
}  // namespace nabla
