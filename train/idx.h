// Reading MNIST-style IDX files, gzipped or not.
//
// An IDX file is a 4-byte magic (two zero bytes, an element-type code, the
// number of dimensions), one big-endian 32-bit size per dimension, then the
// elements in row-major order. MNIST uses unsigned bytes: images
// [count, rows, cols] and labels [count]. zlib reads plain and gzipped files
// alike, so "train-images-idx3-ubyte" and "train-images-idx3-ubyte.gz" both
// work.
//
//   NABLA_ASSIGN_OR_RETURN(MnistData train, LoadMnist("data/mnist", "train"));
//   train.images;  // f32 [60000, 1, 28, 28] in [0, 1]
//   train.labels;  // i32 [60000], each in [0, 10)
//
// Every size comes from an untrusted header, so it is checked against a
// limit before anything is allocated, and the data buffer grows only as
// bytes actually arrive: a lying header costs an error, not the memory it
// claims. Only regular files are opened (a FIFO would block the reader), and
// a gzipped file must end with its trailer, whose CRC and length zlib
// checks, so a cut download is an error rather than silently short data.
// Concatenated gzip members read as one stream, as gunzip reads them;
// bytes after the last member that are not another member are an error
// (zlib's gzread would skip them silently).

#ifndef NABLA_TRAIN_IDX_H_
#define NABLA_TRAIN_IDX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace nabla {

// IdxOptions bound what a file may declare.
struct IdxOptions {
  // Labels must lie in [0, num_classes).
  int num_classes = 10;
  // The most elements one file may declare (default 2^28, 1 GiB as f32).
  int64_t max_elements = int64_t{1} << 28;
  // Images as f32 in [0, 1]; false keeps the u8 pixels as stored, a quarter
  // of the memory, for a model that scales them itself (see Cast).
  bool images_as_float = true;
};

// IdxArray is an IDX file of unsigned bytes as read: its dimensions and its
// elements.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// ReadIdx reads an IDX file of unsigned bytes (type code 0x08). NotFound
// when the file is missing; InvalidArgument for a path that is not a
// regular file (a directory, a FIFO: never blocks), a bad magic, an
// unsupported element type or a size over the limit; DataLoss for a
// truncated file, data past the declared end, a gzip stream that is
// corrupt or lacks its trailer (its CRC and length are checked), or bytes
// after the last gzip member that are not another member.
absl::StatusOr<IdxArray> ReadIdx(const std::string& path,
                                 const IdxOptions& options = {});

// ReadIdxImages reads [count, rows, cols] images as f32 [count, 1, rows,
// cols], each byte divided by 255.
absl::StatusOr<Tensor> ReadIdxImages(const std::string& path,
                                     const IdxOptions& options = {});

// ReadIdxLabels reads [count] labels as i32 [count], each checked to lie in
// [0, options.num_classes).
absl::StatusOr<Tensor> ReadIdxLabels(const std::string& path,
                                     const IdxOptions& options = {});

// MnistData is one split of an MNIST-format dataset.
struct MnistData {
  Tensor images;  // f32 [N, 1, rows, cols] in [0, 1], or u8 as stored
                  // (IdxOptions::images_as_float)
  Tensor labels;  // i32 [N]
};

// LoadMnist reads "<dir>/<prefix>-images-idx3-ubyte" and
// "<dir>/<prefix>-labels-idx1-ubyte", each either plain or with ".gz"
// appended (plain is preferred when both exist; the first name that exists
// is read, so a directory in its place is reported as one). `prefix` is "train" or
// "t10k" for MNIST and Fashion-MNIST. The two files must hold as many
// examples.
absl::StatusOr<MnistData> LoadMnist(const std::string& dir,
                                    absl::string_view prefix,
                                    const IdxOptions& options = {});

}  // namespace nabla

#endif  // NABLA_TRAIN_IDX_H_
