// The demo server as a test meets it: the real examples/mnist_demo binary,
// started on a free port of 127.0.0.1 and talked to over HTTP.
//
//   NABLA_ASSERT_OK_AND_ASSIGN(auto server, DemoServerProcess::Start());
//   httplib::Client client = server->Client();
//   httplib::Result r = client.Get("/api/model");
//   EXPECT_THAT(server->Stop(), IsOkAndHolds(0));   // SIGTERM, exit status

#ifndef NABLA_TESTS_DEMO_DEMO_SERVER_PROCESS_H_
#define NABLA_TESTS_DEMO_DEMO_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "httplib.h"

namespace nabla {
namespace testing {

class DemoServerProcess {
 public:
  // Start runs the server with --port=0 and `extra_args`, and waits (up to
  // two minutes: the machine may be busy) for it to print its address.
  static absl::StatusOr<std::unique_ptr<DemoServerProcess>> Start(
      const std::vector<std::string>& extra_args = {});

  // Kills the server if Stop() was not called.
  ~DemoServerProcess();

  int port() const { return port_; }

  // A client with generous timeouts, for one thread.
  httplib::Client Client() const;

  // Stop sends SIGTERM and returns the exit status (-1 for a signal).
  absl::StatusOr<int> Stop();

  // Running is true while the process has not exited.
  bool Running();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

// ReadTestFile returns the bytes of `path` (relative paths are relative to
// the runfiles root), or nothing if it cannot be read.
std::string ReadTestFile(const std::string& path);

}  // namespace testing
}  // namespace nabla

#endif  // NABLA_TESTS_DEMO_DEMO_SERVER_PROCESS_H_
