// NumPy .npy files as Tensors: format versions 1.0, 2.0 and 3.0, C order,
// little-endian f4/f8/i4/i8/u1 and bool ('|b1', read as u8).
//
// Threat model: the file comes from anyone. Only regular files up to
// NpyLimits::max_file_bytes are read; the header is parsed strictly (a
// Python dict literal with exactly 'descr', 'fortran_order' and 'shape');
// the data length the shape implies is checked, overflow-safe, against the
// bytes present before anything is allocated. Fortran order, big-endian or
// object dtypes, truncated data and lying headers are InvalidArgument.
// nabla has no f64 or bool tensors: f64 is narrowed to f32 (unless
// NpyLimits::narrow_f64 is false, which makes it InvalidArgument), and bool
// is read as u8 0/1 (another byte value is InvalidArgument).
//
//   NABLA_ASSIGN_OR_RETURN(Tensor x, ReadNpy("images.npy"));
//   NABLA_RETURN_IF_ERROR(WriteNpy(probabilities, "out/probabilities.npy"));

#ifndef NABLA_IO_NPY_H_
#define NABLA_IO_NPY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace nabla {

// NpyLimits bound what ReadNpy accepts.
struct NpyLimits {
  int64_t max_file_bytes = int64_t{1} << 30;
  // Read '<f8' data as f32; false refuses it rather than lose precision.
  bool narrow_f64 = true;
};

// ParseNpy reads .npy bytes; errors name `what` (a file name). Trailing
// bytes after the data are an error, as is any other disagreement between
// the header and the bytes.
absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view what,
                                const NpyLimits& limits = {});

// ReadNpy reads the regular file `path`: NotFound if it cannot be opened,
// ResourceExhausted over max_file_bytes, InvalidArgument for anything else
// wrong (see ParseNpy).
absl::StatusOr<Tensor> ReadNpy(const std::string& path,
                               const NpyLimits& limits = {});

// SerializeNpy writes `tensor` as a version 1.0 .npy (f32 '<f4', i32 '<i4',
// i64 '<i8', u8 '|u1'), its data aligned to 64 bytes as NumPy does; ""
// for an empty tensor.
std::string SerializeNpy(const Tensor& tensor);

// WriteNpy writes SerializeNpy(tensor) to `path` atomically.
absl::Status WriteNpy(const Tensor& tensor, const std::string& path);

}  // namespace nabla

#endif  // NABLA_IO_NPY_H_
