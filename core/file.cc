#include "core/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cerrno>
#include <limits>
#include <new>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message_lite.h"

namespace nabla {
namespace {

constexpr absl::string_view kTempInfix = ".tmp-";
constexpr int kTempSuffixDigits = 12;

// "a FIFO", "a directory", ...: what a non-regular file is.
const char* DescribeFileType(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "of an unknown type";
}

absl::Status NotRegularFile(const std::string& path, mode_t mode) {
  struct stat link;
  bool through_link =
      ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
  return absl::InvalidArgumentError(absl::StrCat(
      "'", path, "' is ", DescribeFileType(mode),
      through_link ? " (through a symbolic link)" : "",
      ", not a regular file"));
}

void CloseQuietly(int fd) {
  if (fd >= 0) ::close(fd);
}

// Folder and bare name of `path`: "a/b.ckpt" is ("a", "b.ckpt"), "b.ckpt"
// is (".", "b.ckpt"), "/b" is ("/", "b").
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Twelve random hex digits. getrandom does not block once the kernel's
// pool is ready; should it fail, the time and pid still make collisions
// unlikely, and O_EXCL makes them harmless.
std::string RandomSuffix() {
  uint64_t bits = 0;
  if (::getrandom(&bits, sizeof(bits), GRND_NONBLOCK) !=
      static_cast<ssize_t>(sizeof(bits))) {
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    bits = (static_cast<uint64_t>(now.tv_nsec) << 20) ^
           static_cast<uint64_t>(now.tv_sec) ^
           (static_cast<uint64_t>(::getpid()) << 40);
  }
  return absl::StrFormat("%012x", bits & ((uint64_t{1} << 48) - 1));
}

// Removes the temporary files of `target` in folder `dir_fd` whose writer
// died: a live writer holds an flock on its file until it has renamed it,
// so a lock that can be taken is a dead writer's. The file is unlinked only
// if the name still refers to the locked inode. Best effort: a file that
// cannot be removed now is tried again by the next save.
void RemoveStaleTemporaries(int dir_fd, absl::string_view target) {
  int list_fd = ::dup(dir_fd);
  if (list_fd < 0) return;
  DIR* dir = ::fdopendir(list_fd);
  if (dir == nullptr) {
    ::close(list_fd);
    return;
  }
  while (dirent* entry = ::readdir(dir)) {
    if (!IsTemporaryFileFor(entry->d_name, target)) continue;
    int fd = ::openat(dir_fd, entry->d_name,
                      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat opened, named;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &opened) == 0 &&
        ::fstatat(dir_fd, entry->d_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        opened.st_dev == named.st_dev && opened.st_ino == named.st_ino) {
      ::unlinkat(dir_fd, entry->d_name, 0);
    }
    ::close(fd);
  }
  ::closedir(dir);
}

absl::Status WriteAll(int fd, absl::string_view contents,
                      const std::string& temp_path) {
  const char* p = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t written = ::write(fd, p, std::min<size_t>(left, size_t{1} << 30));
    if (written < 0) {
      if (errno == EINTR) continue;
      return FileError(errno, "write", temp_path);
    }
    p += written;
    left -= static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FileError(int errno_value, absl::string_view action,
                       absl::string_view path) {
  return absl::ErrnoToStatus(errno_value,
                             absl::StrCat("cannot ", action, " '", path, "'"));
}

absl::StatusOr<RegularFile> RegularFile::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int error = errno;
    // A socket cannot be opened at all (ENXIO); say what it is instead.
    struct stat info;
    if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
      return NotRegularFile(path, info.st_mode);
    }
    return FileError(error, "open", path);
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return FileError(error, "stat", path);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return NotRegularFile(path, info.st_mode);
  }
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    int error = errno;
    ::close(fd);
    return FileError(error, "configure", path);
  }
  return RegularFile(path, fd, static_cast<int64_t>(info.st_size));
}

RegularFile::RegularFile(RegularFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(other.size_) {}

RegularFile& RegularFile::operator=(RegularFile&& other) noexcept {
  if (this != &other) {
    CloseQuietly(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
  }
  return *this;
}

RegularFile::~RegularFile() { CloseQuietly(fd_); }

int RegularFile::Release() { return std::exchange(fd_, -1); }

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     int64_t max_bytes) {
  if (max_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ReadFile('", path, "'): max_bytes must not be negative, got ",
        max_bytes));
  }
  auto too_big = [&](absl::string_view size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "'", path, "' is ", size, " bytes, more than the limit of ",
        max_bytes, " bytes"));
  };
  absl::StatusOr<RegularFile> file = RegularFile::Open(path);
  if (!file.ok()) return file.status();
  if (file->size() > max_bytes) return too_big(absl::StrCat(file->size()));

  // One byte more than the size, so that reaching the end is seen without
  // growing the buffer; a file that grows past the cap while being read is
  // refused all the same.
  const int64_t limit =
      max_bytes == std::numeric_limits<int64_t>::max() ? max_bytes
                                                       : max_bytes + 1;
  std::string contents;
  size_t have = 0;
  try {
    contents.resize(static_cast<size_t>(std::min(limit, file->size() + 1)));
    while (true) {
      if (have == contents.size()) {
        if (static_cast<int64_t>(have) >= limit) {
          return too_big(absl::StrCat("more than ", max_bytes));
        }
        contents.resize(static_cast<size_t>(std::min<int64_t>(
            limit, std::max<int64_t>(2 * static_cast<int64_t>(have), 4096))));
      }
      ssize_t got = ::read(file->fd(), &contents[have], contents.size() - have);
      if (got < 0) {
        if (errno == EINTR) continue;
        return FileError(errno, "read", path);
      }
      if (got == 0) break;
      have += static_cast<size_t>(got);
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "out of memory reading '", path, "' (", file->size(), " bytes)"));
  }
  if (static_cast<int64_t>(have) > max_bytes) {
    return too_big(absl::StrCat("more than ", max_bytes));
  }
  contents.resize(have);
  return contents;
}

bool IsTemporaryFileFor(absl::string_view name, absl::string_view target) {
  if (name.size() != 1 + target.size() + kTempInfix.size() + kTempSuffixDigits ||
      name[0] != '.') {
    return false;
  }
  name.remove_prefix(1);
  if (!absl::StartsWith(name, target)) return false;
  name.remove_prefix(target.size());
  if (!absl::StartsWith(name, kTempInfix)) return false;
  name.remove_prefix(kTempInfix.size());
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
  });
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents) {
  auto [dir, name] = SplitPath(path);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': it names no file"));
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return FileError(errno, "open the folder of", path);
  RemoveStaleTemporaries(dir_fd, name);

  // Create and lock a fresh temporary. A cleaner that opened the file in
  // the instant before the lock was taken may have removed it: then the
  // lock fails or the file has no name left, and another is made.
  std::string temp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    temp = absl::StrCat(".", name, kTempInfix, RandomSuffix());
    fd = ::openat(dir_fd, temp.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      absl::Status error = FileError(errno, "create a file beside", path);
      ::close(dir_fd);
      return error;
    }
    struct stat info;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &info) != 0 ||
        info.st_nlink == 0) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    ::close(dir_fd);
    return absl::UnavailableError(absl::StrCat(
        "cannot create a temporary file beside '", path, "'"));
  }
  const std::string temp_path = dir == "/" ? "/" + temp : dir + "/" + temp;
  absl::Status status = WriteAll(fd, contents, temp_path);
  if (status.ok() && ::fsync(fd) != 0) status = FileError(errno, "flush", temp_path);
  if (status.ok() &&
      ::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
    status = FileError(errno, absl::StrCat("rename '", temp_path, "' to"), path);
  }
  if (!status.ok()) ::unlinkat(dir_fd, temp.c_str(), 0);
  // The rename is durable only once the folder is on disk too.
  if (status.ok() && ::fsync(dir_fd) != 0) {
    status = FileError(errno, "flush the folder of", path);
  }
  // Closed last: the lock guards the name until it has been renamed away.
  ::close(fd);
  ::close(dir_fd);
  return status;
}

absl::Status MakeDirectories(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("cannot create a folder with no name");
  }
  size_t end = 0;
  while (end != std::string::npos) {
    end = path.find('/', end + 1);
    std::string prefix = path.substr(0, end);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), 0777) == 0) continue;
    int error = errno;
    struct stat info;
    if (::stat(prefix.c_str(), &info) == 0) {
      if (S_ISDIR(info.st_mode)) continue;
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create folder '", path, "': '", prefix, "' is ",
          DescribeFileType(info.st_mode)));
    }
    return FileError(error, "create folder", prefix);
  }
  return absl::OkStatus();
}

std::string SerializeDeterministically(
    const google::protobuf::MessageLite& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string UserPath(const std::string& path) {
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || cwd == nullptr) return path;
  return absl::StrCat(cwd, "/", path);
}

}  // namespace nabla
