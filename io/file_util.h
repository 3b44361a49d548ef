// Reading whole files that come from outside: regular files only, never
// more than a cap. Internal to io/ (the image and .npy readers); it gives
// way to core/file.h's ReadFile once that lands.
//
//   NABLA_ASSIGN_OR_RETURN(std::string bytes,
//                          ReadRegularFile(path, int64_t{64} << 20));

#ifndef NABLA_IO_FILE_UTIL_H_
#define NABLA_IO_FILE_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace nabla {
namespace io_internal {

// ReadRegularFile returns the bytes of `path`: NotFound if it cannot be
// opened, InvalidArgument if it is not a regular file (a directory, a FIFO,
// a device), ResourceExhausted if it holds more than `max_bytes`, DataLoss
// if reading fails or the file grows while it is read. The buffer is sized
// from fstat, after the cap has been checked.
absl::StatusOr<std::string> ReadRegularFile(const std::string& path,
                                            int64_t max_bytes);

}  // namespace io_internal
}  // namespace nabla

#endif  // NABLA_IO_FILE_UTIL_H_
