// core/file.h on what is not a plain, small, readable file, and
// WriteFileAtomically's treatment of temporary files left by dead writers.

#include "core/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::ListDir;
using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Runs `fn` and fails the test if it took more than a second: the FIFO
// cases would otherwise block forever, and a hang is what they test.
template <typename Fn>
auto WithinASecond(Fn fn) {
  auto start = std::chrono::steady_clock::now();
  auto result = fn();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  return result;
}

TEST(ReadFileTest, ReadsARegularFile) {
  std::string path = TestDir() + "/a.bin";
  std::string bytes("a\0b\nc", 5);
  NABLA_ASSERT_OK(WriteFileAtomically(path, bytes));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string read, ReadFile(path));
  EXPECT_EQ(read, bytes);
  NABLA_ASSERT_OK(WriteFileAtomically(path, ""));
  NABLA_ASSERT_OK_AND_ASSIGN(read, ReadFile(path));
  EXPECT_EQ(read, "");
}

TEST(ReadFileTest, FifoIsRefusedWithoutBlocking) {
  std::string path = TestDir() + "/fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0644), 0) << std::strerror(errno);
  EXPECT_THAT(WithinASecond([&] { return ReadFile(path); }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(path), HasSubstr("is a FIFO"))));
}

TEST(ReadFileTest, DirectoryIsRefused) {
  std::string dir = TestDir();
  EXPECT_THAT(ReadFile(dir),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(dir), HasSubstr("is a directory"))));
}

TEST(ReadFileTest, SymlinkToDevZeroIsRefusedAtOnce) {
  std::string path = TestDir() + "/zero";
  ASSERT_EQ(::symlink("/dev/zero", path.c_str()), 0);
  EXPECT_THAT(
      WithinASecond([&] { return ReadFile(path); }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("is a character device (through a symbolic link)")));
}

TEST(ReadFileTest, SparseFileOverTheCapIsRefusedBeforeReading) {
  std::string path = TestDir() + "/sparse";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  // 3 GiB of holes: no disk, and far more memory than reading would need.
  ASSERT_EQ(::ftruncate(fd, int64_t{3} << 30), 0);
  ::close(fd);
  EXPECT_THAT(WithinASecond([&] { return ReadFile(path); }),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("is 3221225472 bytes, more than the limit "
                                 "of 1073741824 bytes")));
  EXPECT_THAT(ReadFile(path, 100),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("the limit of 100 bytes")));
}

TEST(ReadFileTest, CapIsExactAndRaisable) {
  std::string path = TestDir() + "/ten";
  NABLA_ASSERT_OK(WriteFileAtomically(path, "0123456789"));
  EXPECT_THAT(ReadFile(path, 9),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("is 10 bytes, more than the limit of 9")));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string read, ReadFile(path, 10));
  EXPECT_EQ(read, "0123456789");
  EXPECT_THAT(ReadFile(path, -1), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("max_bytes")));
}

TEST(ReadFileTest, ErrnoKeepsItsMeaning) {
  std::string missing = TestDir() + "/missing";
  EXPECT_THAT(ReadFile(missing),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("cannot open '" + missing + "'"),
                             HasSubstr("No such file or directory"))));
  // A file below a regular file: ENOTDIR.
  std::string file = TestDir() + "/plain";
  NABLA_ASSERT_OK(WriteFileAtomically(file, "x"));
  EXPECT_THAT(ReadFile(file + "/below"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("Not a directory")));
  // Root reads every file, so EACCES is checked on the mapping itself.
  EXPECT_THAT(FileError(EACCES, "open", "f"),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("cannot open 'f': Permission denied")));
  EXPECT_THAT(FileError(ENOSPC, "write", "f"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("No space left on device")));
}

TEST(RegularFileTest, GivesADescriptorAndTheSize) {
  std::string path = TestDir() + "/f";
  NABLA_ASSERT_OK(WriteFileAtomically(path, "hello"));
  NABLA_ASSERT_OK_AND_ASSIGN(RegularFile file, RegularFile::Open(path));
  EXPECT_EQ(file.size(), 5);
  char buffer[8] = {};
  EXPECT_EQ(::read(file.fd(), buffer, sizeof(buffer)), 5);
  EXPECT_STREQ(buffer, "hello");
  // The descriptor blocks again: O_NONBLOCK was only for opening.
  EXPECT_EQ(::fcntl(file.fd(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(WriteFileAtomicallyTest, ReplacesAndLeavesOnlyTheTarget) {
  std::string dir = TestDir();
  NABLA_ASSERT_OK(WriteFileAtomically(dir + "/t", "one"));
  NABLA_ASSERT_OK(WriteFileAtomically(dir + "/t", "two"));
  EXPECT_THAT(ListDir(dir), UnorderedElementsAre("t"));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string read, ReadFile(dir + "/t"));
  EXPECT_EQ(read, "two");
}

TEST(WriteFileAtomicallyTest, RemovesDeadWritersTemporariesButNotLiveOnes) {
  std::string dir = TestDir();
  // Two temporaries of dead writers (no lock held), one of a live writer
  // (locked), and files that only look similar.
  const std::string dead1 = ".t.tmp-0123456789ab", dead2 = ".t.tmp-ffffffffffff";
  const std::string live = ".t.tmp-aaaaaaaaaaaa";
  for (const std::string& name :
       {dead1, dead2, std::string(".t.tmp-12345"), std::string(".u.tmp-0123456789ab")}) {
    NABLA_ASSERT_OK(WriteFileAtomically(dir + "/" + name, "stale"));
  }
  int live_fd = ::open((dir + "/" + live).c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(live_fd, 0);
  ASSERT_EQ(::flock(live_fd, LOCK_EX), 0);
  EXPECT_TRUE(IsTemporaryFileFor(dead1, "t"));
  EXPECT_FALSE(IsTemporaryFileFor(".t.tmp-12345", "t"));
  EXPECT_FALSE(IsTemporaryFileFor(".u.tmp-0123456789ab", "t"));

  NABLA_ASSERT_OK(WriteFileAtomically(dir + "/t", "new"));
  EXPECT_THAT(ListDir(dir),
              UnorderedElementsAre("t", live, ".t.tmp-12345",
                                   ".u.tmp-0123456789ab"));
  ::close(live_fd);  // the live writer "dies": its file is stale now
  NABLA_ASSERT_OK(WriteFileAtomically(dir + "/t", "newer"));
  EXPECT_THAT(ListDir(dir),
              UnorderedElementsAre("t", ".t.tmp-12345", ".u.tmp-0123456789ab"));
}

TEST(WriteFileAtomicallyTest, MissingFolderIsNotFound) {
  EXPECT_THAT(WriteFileAtomically(TestDir() + "/no/such/t", "x"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/t")));
  EXPECT_THAT(WriteFileAtomically(TestDir() + "/", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("names no file")));
}

TEST(MakeDirectoriesTest, CreatesParentsAndAcceptsExisting) {
  std::string dir = TestDir() + "/a/b/c";
  NABLA_ASSERT_OK(MakeDirectories(dir));
  NABLA_ASSERT_OK(MakeDirectories(dir));
  NABLA_ASSERT_OK(MakeDirectories(dir + "/"));
  NABLA_ASSERT_OK(WriteFileAtomically(dir + "/f", "x"));
  EXPECT_THAT(MakeDirectories(dir + "/f/g"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is a regular file")));
}

TEST(TensorTest, FromVectorWithTheWrongCountIsAnError) {
  EXPECT_THAT(Tensor::FromVector<float>({2, 2}, {1, 2, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("shape [2,2] has 4 elements but 3 values")));
  EXPECT_THAT(Tensor::FromVector<float>({-1, 2}, {1, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown dimension")));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor t,
                             Tensor::FromVector<int32_t>({3}, {4, 5, 6}));
  EXPECT_EQ(t.data<int32_t>()[2], 6);
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor empty, Tensor::FromVector<float>({0}, {}));
  EXPECT_EQ(empty.num_elements(), 0);
}

}  // namespace
}  // namespace nabla
