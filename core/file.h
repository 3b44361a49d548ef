// Whole-file reading and atomic writing, the one place nabla touches files
// by path.
//
// Every file nabla reads comes from outside and is treated as hostile:
// ReadFile accepts only regular files (a FIFO, a directory, /dev/zero or a
// symbolic link to one is refused without blocking or reading), refuses a
// file larger than a cap the caller can raise before it allocates anything,
// and keeps errno's meaning in the Status code and message.
// WriteFileAtomically replaces a file so that a crash at any moment leaves
// either the old contents or the new, and it removes the temporary files of
// writers that were killed mid-save.
//
//   NABLA_ASSIGN_OR_RETURN(std::string bytes, ReadFile("model.pb"));
//   NABLA_ASSIGN_OR_RETURN(std::string big,
//                          ReadFile("weights.npy", /*max_bytes=*/8LL << 30));
//   NABLA_RETURN_IF_ERROR(WriteFileAtomically("out/metrics.json", json));
//
// Readers that stream (zlib's gz* functions, for instance) use
// RegularFile::Open for the same checks and then read from its descriptor.

#ifndef NABLA_CORE_FILE_H_
#define NABLA_CORE_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace google {
namespace protobuf {
class MessageLite;
}  // namespace protobuf
}  // namespace google

namespace nabla {

// kDefaultMaxFileBytes is ReadFile's default cap, 1 GiB. Readers with a
// format of their own set their own default (GraphDefs 256 MiB, see
// graph/graph_def.h); a caller expecting bigger files raises it.
inline constexpr int64_t kDefaultMaxFileBytes = int64_t{1} << 30;

// FileError is the Status for a failed system call on `path`: errno's code
// (ENOENT: NotFound, EACCES and EPERM: PermissionDenied, ENOSPC:
// ResourceExhausted, ...) and a message "cannot <action> '<path>': <strerror>".
absl::Status FileError(int errno_value, absl::string_view action,
                       absl::string_view path);

// RegularFile is a file opened for reading and checked to be a regular
// file. It owns its descriptor and closes it when destroyed.
class RegularFile {
 public:
  // Open opens `path` read-only without blocking (a FIFO would otherwise
  // wait for a writer) and checks, on the opened descriptor, that it is a
  // regular file: InvalidArgument "'<path>' is a FIFO" (a directory, a
  // character device, ..., "through a symbolic link" when it is one) if
  // not, FileError's codes when it cannot be opened.
  static absl::StatusOr<RegularFile> Open(const std::string& path);

  RegularFile(RegularFile&& other) noexcept;
  RegularFile& operator=(RegularFile&& other) noexcept;
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;
  ~RegularFile();

  // fd() is the open descriptor, blocking again and positioned at the
  // start; still owned by this object.
  int fd() const { return fd_; }
  // size() is the file's size in bytes when it was opened.
  int64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Release gives up ownership of the descriptor and returns it; the
  // caller closes it (for instance through gzclose after gzdopen).
  int Release();

 private:
  RegularFile(std::string path, int fd, int64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}

  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// ReadFile returns the contents of the regular file `path`. Errors:
// InvalidArgument when it is not a regular file (see RegularFile::Open);
// ResourceExhausted "'<path>' is N bytes, more than the limit of M bytes"
// when it is larger than `max_bytes`, checked before anything is allocated
// and again while reading (the file may grow); NotFound, PermissionDenied
// and the other codes of FileError when a system call fails.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     int64_t max_bytes = kDefaultMaxFileBytes);

// WriteFileAtomically replaces `path` with `contents`: it writes a new
// temporary file ".<name>.tmp-<12 hex digits>" in the same folder, fsyncs
// it, renames it over `path` and fsyncs the folder, so that after a crash
// `path` holds the old or the new contents, never a mix. Each writer holds
// an flock on its temporary file; temporaries of this target whose lock is
// free belong to writers that died and are removed by the next save, so
// killed writers leave at most one stale file behind, never an
// accumulation. Errors are FileError's (NotFound for a missing folder,
// PermissionDenied, ResourceExhausted for a full disk); on error `path` is
// unchanged and the temporary file removed.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view contents);

// IsTemporaryFileFor is true when `name` (a bare file name) is what
// WriteFileAtomically names its temporary files for target file name
// `target` (also bare). For tests and tools that tidy folders.
bool IsTemporaryFileFor(absl::string_view name, absl::string_view target);

// UserPath resolves a path the user typed: `bazel run` starts programs in
// their runfiles tree, and relative paths mean the folder the user typed
// them in ($BUILD_WORKING_DIRECTORY). Other paths are returned as they are.
std::string UserPath(const std::string& path);

// MakeDirectories creates `path` and any missing parents, like mkdir -p;
// OK when it exists already as a folder. FileError's codes on failure, and
// FailedPrecondition when `path` or a parent exists but is not a folder.
absl::Status MakeDirectories(const std::string& path);

// SerializeDeterministically serializes `message` in binary with map
// entries in key order, so that the same graph or checkpoint always gives
// the same bytes.
std::string SerializeDeterministically(
    const google::protobuf::MessageLite& message);

}  // namespace nabla

#endif  // NABLA_CORE_FILE_H_
