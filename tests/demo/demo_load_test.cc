// A bounded load on the demo server: 8 concurrent clients on 127.0.0.1
// sending requests back to back for 10 seconds, twice: the page's own
// request (a canvas PNG, decoded, prepared, predicted and explained), then
// 28x28 pixels as JSON (predicted only, what a script would send). Every
// answer must be a 200 that reads the digit right; the test prints the
// requests per second and the latency percentiles of each (and writes them
// to load.txt among the test's outputs).
//
//   bazel test //tests/demo:demo_load_test --test_output=all
//   bazel test //tests/demo:demo_load_test --test_env=DEMO_LOAD_SECONDS=30
//
// The numbers describe the machine the test ran on, and whatever else it
// was doing; they are reported, never asserted.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/demo/demo_server_process.h"

namespace nabla {
namespace testing {
namespace {

constexpr int kClients = 8;

double LoadSeconds() {
  double seconds = 10;
  if (const char* env = std::getenv("DEMO_LOAD_SECONDS")) {
    if (!absl::SimpleAtod(env, &seconds) || seconds <= 0 || seconds > 300) {
      seconds = 10;
    }
  }
  return seconds;
}

struct ClientResult {
  std::vector<double> latencies_ms;
  int errors = 0;
  std::string first_error;
};

// One phase: kClients clients post `body` to `path` until `seconds` have
// passed. Returns the report line.
std::string RunLoad(const DemoServerProcess& server, const std::string& what,
                    const std::string& path, const std::string& body,
                    const std::string& content_type, int digit, double seconds) {
  std::vector<ClientResult> results(kClients);
  std::vector<std::thread> clients;
  std::atomic<bool> go{false};
  absl::Time end;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client = server.Client();
      client.set_keep_alive(true);
      ClientResult& result = results[c];
      while (!go.load()) std::this_thread::yield();
      while (absl::Now() < end) {
        const absl::Time start = absl::Now();
        httplib::Result r = client.Post(path, body, content_type);
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
        std::string error;
        if (!r) {
          error = "no answer: " + httplib::to_string(r.error());
        } else if (r->status != 200) {
          error = absl::StrFormat("HTTP %d: %s", r->status, r->body.substr(0, 200));
        } else {
          nlohmann::json answer = nlohmann::json::parse(r->body, nullptr, false);
          if (answer.is_discarded() || answer["digit"] != digit) {
            error = "a wrong answer: " + r->body.substr(0, 200);
          }
        }
        if (error.empty()) {
          result.latencies_ms.push_back(ms);
        } else if (result.errors++ == 0) {
          result.first_error = error;
        }
      }
    });
  }
  const absl::Time start = absl::Now();
  end = start + absl::Seconds(seconds);
  go.store(true);
  for (std::thread& t : clients) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);

  std::vector<double> latencies;
  int errors = 0;
  for (const ClientResult& r : results) {
    latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    errors += r.errors;
    EXPECT_EQ(r.errors, 0) << what << ": " << r.first_error;
  }
  EXPECT_FALSE(latencies.empty()) << what;
  if (latencies.empty()) return what + ": no request succeeded";
  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double q) {
    size_t i = std::min(latencies.size() - 1,
                        static_cast<size_t>(q * (latencies.size() - 1) + 0.5));
    return latencies[i];
  };
  return absl::StrFormat(
      "load, %s: %d clients for %.1f s, %d requests, %d errors, %.1f "
      "requests/s, latency p50 %.2f ms, p99 %.2f ms, max %.2f ms",
      what, kClients, elapsed, static_cast<int>(latencies.size()) + errors,
      errors, latencies.size() / elapsed, percentile(0.5), percentile(0.99),
      latencies.back());
}

TEST(DemoLoadTest, ConcurrentClientsSeeNoErrors) {
  absl::StatusOr<std::unique_ptr<DemoServerProcess>> server =
      DemoServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string png = ReadTestFile("tests/demo/testdata/seven_canvas.png");
  ASSERT_FALSE(png.empty());
  // MNIST's first test image, a 7, in the MNIST convention.
  const std::string mnist_png = ReadTestFile("tests/demo/testdata/mnist_t10k_0.png");
  httplib::Result prepared =
      (*server)->Client().Post("/api/predict", mnist_png, "image/png");
  ASSERT_TRUE(prepared && prepared->status == 200);
  const std::string pixels =
      nlohmann::json{{"pixels", nlohmann::json::parse(prepared->body)["input"]}}
          .dump();

  const double seconds = LoadSeconds();
  std::string report =
      absl::StrCat(RunLoad(**server, "the page's request (canvas PNG, explain=1)",
                           "/api/predict?explain=1", png, "image/png", 7, seconds),
                   "\n",
                   RunLoad(**server, "28x28 pixels as JSON", "/api/predict",
                           pixels, "application/json", 7, seconds),
                   "\n", absl::StrFormat("on %u cores, shared with whatever else runs",
                                         std::thread::hardware_concurrency()));
  std::printf("%s\n", report.c_str());
  if (const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    std::ofstream(std::string(out) + "/load.txt") << report << "\n";
  }

  // Still answering, and it shuts down cleanly.
  httplib::Result after = (*server)->Client().Get("/api/model");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  absl::StatusOr<int> exit = (*server)->Stop();
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(*exit, 0);
}

}  // namespace
}  // namespace testing
}  // namespace nabla
