#include "tests/demo/demo_server_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace nabla {
namespace testing {
namespace {

std::string Runfile(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  if (const char* root = std::getenv("TEST_SRCDIR")) {
    return absl::StrCat(root, "/nabla/", path);
  }
  return path;
}

}  // namespace

std::string ReadTestFile(const std::string& path) {
  std::ifstream in(Runfile(path), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

absl::StatusOr<std::unique_ptr<DemoServerProcess>> DemoServerProcess::Start(
    const std::vector<std::string>& extra_args) {
  auto server = std::make_unique<DemoServerProcess>();
  const char* tmp = std::getenv("TEST_TMPDIR");
  static int started = 0;
  server->log_path_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp",
                                   "/mnist_demo_", getpid(), "_", started++,
                                   ".log");

  std::vector<std::string> args = {Runfile("examples/mnist_demo"),
                                   "--host=127.0.0.1", "--port=0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The server's output goes to a file, not a pipe: nothing can block it
  // or kill it with SIGPIPE once the test stops reading.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                                   server->log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  int error = posix_spawn(&server->pid_, argv[0], &actions, nullptr,
                          argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return absl::InternalError(
        absl::StrCat("cannot start ", args[0], ": ", strerror(error)));
  }

  constexpr char kServing[] = "serving http://127.0.0.1:";
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  while (absl::Now() < deadline) {
    std::ifstream log(server->log_path_);
    std::string line;
    while (std::getline(log, line)) {
      size_t at = line.find(kServing);
      if (at == std::string::npos) continue;
      std::string rest = line.substr(at + sizeof(kServing) - 1);
      rest = rest.substr(0, rest.find('/'));
      if (absl::SimpleAtoi(rest, &server->port_)) return server;
    }
    if (!server->Running()) {
      return absl::InternalError(absl::StrCat(
          "the server exited before serving; its output: ",
          ReadTestFile(server->log_path_)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError("the server did not start in 2 minutes");
}

DemoServerProcess::~DemoServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

httplib::Client DemoServerProcess::Client() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(10);
  client.set_read_timeout(60);
  client.set_write_timeout(60);
  // The client writes headers and body apart: no Nagle delay between them.
  client.set_tcp_nodelay(true);
  return client;
}

bool DemoServerProcess::Running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

absl::StatusOr<int> DemoServerProcess::Stop() {
  if (pid_ <= 0) return absl::FailedPreconditionError("the server is not running");
  kill(pid_, SIGTERM);
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) {
    return absl::InternalError("waitpid failed");
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace testing
}  // namespace nabla
