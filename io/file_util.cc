#include "io/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace nabla {
namespace io_internal {
namespace {

// Closes a file descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status TooLarge(const std::string& path, int64_t max_bytes) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "'", path, "' is larger than the limit of ", max_bytes, " bytes"));
}

}  // namespace

absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            int64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before fstat
  // can tell us it is no regular file.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  struct stat info;
  if (::fstat(fd.get(), &info) != 0) {
    return absl::DataLossError(
        absl::StrCat("cannot stat '", path, "': ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a regular file"));
  }
  if (info.st_size > max_bytes) return TooLarge(path, max_bytes);
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(info.st_size));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("no memory to read '", path, "'"));
  }
  size_t done = 0;
  while (true) {
    if (done == bytes.size()) {
      // The file may have grown since fstat: read one more byte to know.
      char extra;
      ssize_t n = ::read(fd.get(), &extra, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;  // reported below
      if (n == 0) return bytes;
      return absl::DataLossError(
          absl::StrCat("'", path, "' grew while it was being read"));
    }
    ssize_t n = ::read(fd.get(), &bytes[done], bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (n == 0) {  // shrank meanwhile
      bytes.resize(done);
      return bytes;
    }
    done += static_cast<size_t>(n);
  }
  return absl::DataLossError(
      absl::StrCat("cannot read '", path, "': ", std::strerror(errno)));
}

}  // namespace io_internal
}  // namespace nabla
