// A checkpoint writer killed with SIGKILL at random moments, at least 200
// times: every time, the checkpoint on disk loads and is one whole save (old
// or new, never a mix or a torn file), and dead writers' temporary files do
// not pile up.

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/file.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"

namespace nabla {
namespace {

using ::nabla::testing::ListDir;
using ::nabla::testing::TestDir;

constexpr int kKills = 200;
// 64 KiB of weights: a save is mostly its two fsyncs.
constexpr int64_t kWeights = 16 * 1024;

std::unique_ptr<Session> MakeSession() {
  GraphBuilder b;
  b.Variable("weights", Shape({kWeights}), Initializer::Zeros());
  b.Variable("count", Shape(), Initializer::Zeros(), DType::kI64);
  auto session = Session::Create(*b.Build());
  EXPECT_TRUE(session.ok()) << session.status();
  return *std::move(session);
}

// Save number `n` holds count = n, every weight = n mod 2^16 (exact in
// f32) and step = n, so a file mixing two saves is recognisable.
absl::Status SaveNumber(Session* session, int64_t n, const std::string& path) {
  Tensor weights =
      Tensor::Filled<float>(Shape({kWeights}), static_cast<float>(n & 0xFFFF));
  Tensor count(DType::kI64, Shape());
  count.data<int64_t>()[0] = n;
  NABLA_RETURN_IF_ERROR(session->variables().Assign("weights", weights));
  NABLA_RETURN_IF_ERROR(session->variables().Assign("count", count));
  CheckpointInfo info;
  info.step = n;
  return SaveCheckpoint(*session, info, path);
}

int CountTemporaries(const std::string& dir, const std::string& target) {
  int count = 0;
  for (const std::string& name : ListDir(dir)) {
    count += IsTemporaryFileFor(name, target);
  }
  return count;
}

std::vector<std::string> Others(const std::string& dir,
                                const std::string& target) {
  std::vector<std::string> names;
  for (const std::string& name : ListDir(dir)) {
    if (name != target && !IsTemporaryFileFor(name, target)) names.push_back(name);
  }
  return names;
}

TEST(CrashSafetyTest, KilledWritersLeaveALoadableCheckpoint) {
  const std::string dir = TestDir();
  const std::string target = "model.ckpt";
  const std::string path = dir + "/" + target;
  auto session = MakeSession();
  NABLA_ASSERT_OK(SaveNumber(session.get(), 0, path));

  // Kills are spread over two save durations after the fork, so that
  // writers die before their first rename, inside a save and between saves.
  auto start = std::chrono::steady_clock::now();
  for (int n = 1; n <= 5; ++n) NABLA_ASSERT_OK(SaveNumber(session.get(), n, path));
  const int64_t save_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - start)
          .count() / 5;
  std::mt19937_64 rng(20261202);
  std::set<int64_t> seen;
  int64_t newest = 5;
  int killed_mid_save = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    const int64_t first = (kill + 1) * int64_t{1000000};
    // The writer reports on a pipe when it starts and after each save, so
    // the kill is timed from what the writer did, not from the fork (which
    // under ASan or a loaded machine can take longer than many saves).
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Only async-signal-safe-enough work here: no threads, no kernels,
      // just saves in a loop until killed.
      ::close(report[0]);
      const char byte = 1;
      if (::write(report[1], &byte, 1) != 1) ::_exit(4);
      for (int64_t n = first;; ++n) {
        if (!SaveNumber(session.get(), n, path).ok()) ::_exit(3);
        if (::write(report[1], &byte, 1) != 1) ::_exit(4);
      }
    }
    ::close(report[1]);
    char byte;
    ASSERT_EQ(::read(report[0], &byte, 1), 1) << "the writer did not start";
    // Every other writer is killed only after one whole save of its own, so
    // the file on disk must then be one of this writer's saves.
    const bool after_a_save = kill % 2 == 1;
    if (after_a_save) {
      ASSERT_EQ(::read(report[0], &byte, 1), 1) << "the writer did not save";
    }
    const int64_t wait_ns = static_cast<int64_t>(rng() % (2 * save_ns + 1));
    struct timespec pause = {static_cast<time_t>(wait_ns / 1000000000),
                             static_cast<long>(wait_ns % 1000000000)};
    ::nanosleep(&pause, nullptr);
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ::close(report[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer exited on its own (status " << status << ")";

    // The file on disk is one whole save.
    auto reader = MakeSession();
    absl::StatusOr<CheckpointInfo> info = LoadCheckpoint(path, reader.get());
    ASSERT_TRUE(info.ok()) << "after kill " << kill << ": " << info.status();
    const int64_t n = info->step;
    ASSERT_EQ(reader->variables().Find("count")->data<int64_t>()[0], n);
    const float expected = static_cast<float>(n & 0xFFFF);
    for (float w : reader->variables().Find("weights")->flat<float>()) {
      ASSERT_EQ(w, expected) << "a mixed checkpoint after kill " << kill;
    }
    // Saves only move forward: never an older file than the last one seen.
    ASSERT_GE(n, newest);
    if (after_a_save) {
      ASSERT_GE(n, first) << "after kill " << kill;
    }
    newest = n;
    seen.insert(n);

    // At most the dead writer's own temporary is left, and nothing else.
    const int temporaries = CountTemporaries(dir, target);
    ASSERT_LE(temporaries, 1) << "after kill " << kill;
    killed_mid_save += temporaries;
    ASSERT_TRUE(Others(dir, target).empty());
  }
  // Not vacuous: every other writer got a save through, and many kills
  // landed inside a save (leaving a temporary file the next writer removed).
  EXPECT_GE(seen.size(), kKills / 2u);
  EXPECT_GT(killed_mid_save, kKills / 10);
  std::printf("%d kills (a save takes %.2f ms): %zu distinct saves seen on "
              "disk, %d kills inside a save\n",
              kKills, save_ns / 1e6, seen.size(), killed_mid_save);

  // The next save removes the last dead writer's temporary.
  NABLA_ASSERT_OK(SaveNumber(session.get(), newest + 1, path));
  EXPECT_EQ(CountTemporaries(dir, target), 0);
}

}  // namespace
}  // namespace nabla
