#include "train/idx.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/file.h"
#include "core/status.h"

namespace nabla {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;
// Data is read in pieces of this size, so that memory follows the bytes
// that actually arrive rather than the header's claim.
constexpr size_t kChunk = size_t{4} << 20;

// True when something, of whatever type, is at `path`.
bool Exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

// A file read through zlib's inflate. A file that starts with gzip's magic
// (1f 8b) is decompressed member by member, as gunzip reads concatenated
// members; any other file is passed through as is. After the last member
// the file must end: gzread would skip whatever follows without a word, so
// a .gz with bytes appended would read as clean.
class GzReader {
 public:
  // Opens a regular file (RegularFile::Open: a FIFO or a directory is
  // refused without blocking) and looks at its first two bytes.
  static absl::StatusOr<GzReader> Open(const std::string& path) {
    NABLA_ASSIGN_OR_RETURN(RegularFile file, RegularFile::Open(path));
    GzReader reader(std::move(file));
    NABLA_RETURN_IF_ERROR(reader.FillAtLeast(2));
    z_stream& z = *reader.stream_;
    if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
      // 15 + 16: the largest window, and a gzip wrapper whose trailer
      // (CRC-32 and length) inflate checks.
      if (inflateInit2(&z, 15 + 16) != Z_OK) {
        return absl::ResourceExhaustedError(
            absl::StrCat("cannot read '", path, "': out of memory"));
      }
      reader.inflating_ = true;
    }
    return reader;
  }

  GzReader(GzReader&& other) noexcept
      : file_(std::move(other.file_)),
        buffer_(std::move(other.buffer_)),
        stream_(std::move(other.stream_)),
        inflating_(other.inflating_),
        member_ended_(other.member_ended_),
        at_eof_(other.at_eof_),
        consumed_(other.consumed_),
        member_start_(other.member_start_) {
    other.inflating_ = false;
  }
  GzReader& operator=(GzReader&&) = delete;
  ~GzReader() {
    if (inflating_) inflateEnd(stream_.get());
  }

  // Reads up to `n` bytes; fewer only at the end of the file.
  absl::StatusOr<size_t> Read(void* dst, size_t n) {
    unsigned char* out = static_cast<unsigned char*>(dst);
    z_stream& z = *stream_;
    size_t done = 0;
    while (done < n) {
      if (z.avail_in == 0 && !at_eof_) NABLA_RETURN_IF_ERROR(FillAtLeast(1));
      if (!inflating_) {
        if (z.avail_in == 0) break;
        const size_t piece = std::min<size_t>(n - done, z.avail_in);
        std::memcpy(out + done, z.next_in, piece);
        Consume(piece);
        done += piece;
        continue;
      }
      if (member_ended_) {
        if (z.avail_in == 0) break;  // the file ends with a whole member
        member_start_ = consumed_;
        if (z.next_in[0] != 0x1f) return TrailingBytesError();
        inflateReset(&z);  // another member follows, as gzip allows
        member_ended_ = false;
        continue;
      }
      z.next_out = out + done;
      z.avail_out = static_cast<uInt>(std::min<size_t>(n - done, 1u << 30));
      const uInt before_in = z.avail_in;
      const uInt before_out = z.avail_out;
      const int code = inflate(&z, Z_NO_FLUSH);
      consumed_ += before_in - z.avail_in;
      done += before_out - z.avail_out;
      switch (code) {
        case Z_OK:
          break;
        case Z_STREAM_END:
          member_ended_ = true;
          break;
        case Z_BUF_ERROR:  // no progress: it needs input
          if (z.avail_in == 0 && !at_eof_) break;  // read at the loop's top
          return absl::DataLossError(absl::StrCat(
              "'", file_.path(), "' is a truncated gzip stream: it ends "
              "before its trailer (CRC and length)"));
        case Z_MEM_ERROR:
          return absl::ResourceExhaustedError(absl::StrCat(
              "cannot read '", file_.path(), "': out of memory"));
        default:  // Z_DATA_ERROR, Z_NEED_DICT
          // A later "member" that fails in its header is not a member at
          // all but bytes appended to the file.
          if (member_start_ > 0 && z.total_out == 0) return TrailingBytesError();
          return absl::DataLossError(absl::StrCat(
              "'", file_.path(), "' is a corrupt gzip stream: ",
              z.msg != nullptr ? z.msg : "inflate failed"));
      }
    }
    return done;
  }

 private:
  static constexpr size_t kBufferBytes = size_t{1} << 17;

  explicit GzReader(RegularFile file)
      : file_(std::move(file)),
        buffer_(kBufferBytes),
        stream_(std::make_unique<z_stream>()) {
    // zlib keeps a pointer back to the z_stream, so it lives on the heap
    // and moves with the reader.
    stream_->next_in = buffer_.data();
    stream_->avail_in = 0;
  }

  // Refills the buffer, once it is used up, until it holds `want` bytes or
  // the file ends.
  absl::Status FillAtLeast(size_t want) {
    z_stream& z = *stream_;
    if (z.avail_in == 0) z.next_in = buffer_.data();
    while (z.avail_in < want && !at_eof_) {
      unsigned char* end = z.next_in + z.avail_in;
      const size_t room = buffer_.data() + buffer_.size() - end;
      ssize_t got = ::read(file_.fd(), end, room);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return FileError(errno, "read", file_.path());
      if (got == 0) at_eof_ = true;
      z.avail_in += static_cast<uInt>(got);
    }
    return absl::OkStatus();
  }

  void Consume(size_t bytes) {
    stream_->next_in += bytes;
    stream_->avail_in -= static_cast<uInt>(bytes);
    consumed_ += bytes;
  }

  absl::Status TrailingBytesError() const {
    const int64_t left = file_.size() - static_cast<int64_t>(member_start_);
    return absl::DataLossError(absl::StrCat(
        "'", file_.path(), "' has ", left > 0 ? left : 1,
        " bytes after the end of its gzip stream that are not another gzip "
        "member"));
  }

  RegularFile file_;
  std::vector<unsigned char> buffer_;
  std::unique_ptr<z_stream> stream_;
  bool inflating_ = false;     // gzip (inflateInit2 done), not plain
  bool member_ended_ = false;  // inflate reported Z_STREAM_END
  bool at_eof_ = false;        // read() returned 0
  size_t consumed_ = 0;        // file bytes passed to the caller or inflate
  size_t member_start_ = 0;    // where the member being read begins; 0
                               // for the first
};

std::string DimsString(const std::vector<int64_t>& dims) {
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

}  // namespace

absl::StatusOr<IdxArray> ReadIdx(const std::string& path,
                                 const IdxOptions& options) {
  NABLA_ASSIGN_OR_RETURN(GzReader reader, GzReader::Open(path));
  uint8_t magic[4];
  NABLA_ASSIGN_OR_RETURN(size_t got, reader.Read(magic, sizeof(magic)));
  if (got < sizeof(magic)) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' is truncated: ", got, " bytes, too few for an IDX "
        "header"));
  }
  if (magic[0] != 0 || magic[1] != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' is not an IDX file: it starts with 0x%02x%02x%02x%02x", path,
        magic[0], magic[1], magic[2], magic[3]));
  }
  if (magic[2] != kUnsignedByte) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%s' holds elements of IDX type 0x%02x; only unsigned bytes (0x08) "
        "are supported",
        path, magic[2]));
  }
  const int rank = magic[3];
  if (rank == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' declares an IDX array of no dimensions"));
  }

  IdxArray array;
  std::vector<uint8_t> header(4 * rank);
  NABLA_ASSIGN_OR_RETURN(got, reader.Read(header.data(), header.size()));
  if (got < header.size()) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' is truncated inside its header of ", rank,
        " dimensions"));
  }
  int64_t total = 1;
  bool too_big = false;
  for (int i = 0; i < rank; ++i) {
    const uint8_t* p = &header[4 * i];
    int64_t dim = (int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) |
                  (int64_t{p[2]} << 8) | int64_t{p[3]};
    array.dims.push_back(dim);
    // Both factors are below 2^32 and `total` stays at most max_elements
    // (< 2^63 / 2^32) while it is tracked, so the product cannot overflow.
    if (!too_big) {
      total *= dim;
      too_big = total > options.max_elements;
    }
  }
  if (too_big) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' declares an array of shape ", DimsString(array.dims),
        ", more than the limit of ", options.max_elements, " elements"));
  }

  const size_t expected = static_cast<size_t>(total);
  size_t have = 0;
  while (have < expected) {
    size_t chunk = std::min(expected - have, kChunk);
    array.data.resize(have + chunk);
    NABLA_ASSIGN_OR_RETURN(got, reader.Read(array.data.data() + have, chunk));
    have += got;
    if (got < chunk) {
      return absl::DataLossError(absl::StrCat(
          "'", path, "' is truncated: its header declares ", expected,
          " bytes of data for shape ", DimsString(array.dims), " but only ",
          have, " follow"));
    }
  }
  uint8_t extra;
  NABLA_ASSIGN_OR_RETURN(got, reader.Read(&extra, 1));
  if (got != 0) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' has data past the ", expected,
        " bytes its header declares for shape ", DimsString(array.dims)));
  }
  return array;
}

absl::StatusOr<Tensor> ReadIdxImages(const std::string& path,
                                     const IdxOptions& options) {
  NABLA_ASSIGN_OR_RETURN(IdxArray array, ReadIdx(path, options));
  if (array.dims.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' holds an array of shape ", DimsString(array.dims),
        "; images need 3 dimensions (count, rows, cols)"));
  }
  if (array.dims[1] == 0 || array.dims[2] == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' holds images of ", array.dims[1], "x",
                     array.dims[2], " pixels"));
  }
  Shape shape({array.dims[0], 1, array.dims[1], array.dims[2]});
  const uint8_t* in = array.data.data();
  if (!options.images_as_float) {
    Tensor images(DType::kU8, shape);
    // An empty file has no data pointer, and memcpy from null is undefined
    // even for zero bytes.
    if (images.nbytes() > 0) std::memcpy(images.raw_data(), in, images.nbytes());
    return images;
  }
  Tensor images(DType::kF32, shape);
  float* out = images.data<float>();
  const int64_t n = images.num_elements();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) / 255.0f;
  return images;
}

absl::StatusOr<Tensor> ReadIdxLabels(const std::string& path,
                                     const IdxOptions& options) {
  if (options.num_classes < 1 || options.num_classes > 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_classes must lie in [1, 256] for byte labels, got ",
        options.num_classes));
  }
  NABLA_ASSIGN_OR_RETURN(IdxArray array, ReadIdx(path, options));
  if (array.dims.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' holds an array of shape ", DimsString(array.dims),
        "; labels need 1 dimension"));
  }
  Tensor labels(DType::kI32, Shape({array.dims[0]}));
  int32_t* out = labels.data<int32_t>();
  for (int64_t i = 0; i < array.dims[0]; ++i) {
    int label = array.data[i];
    if (label >= options.num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", label, " of example ", i, " in '", path,
          "' is out of range [0, ", options.num_classes, ")"));
    }
    out[i] = label;
  }
  return labels;
}

absl::StatusOr<MnistData> LoadMnist(const std::string& dir,
                                    absl::string_view prefix,
                                    const IdxOptions& options) {
  if (prefix.empty()) {
    return absl::InvalidArgumentError(
        "LoadMnist needs a file prefix such as \"train\" or \"t10k\"");
  }
  auto find = [&](absl::string_view suffix) -> absl::StatusOr<std::string> {
    std::string base = dir.empty() || dir.back() == '/'
                           ? absl::StrCat(dir, prefix, suffix)
                           : absl::StrCat(dir, "/", prefix, suffix);
    // The first name that exists is used, whatever it is: reading it then
    // says what is wrong ("... is a directory").
    if (Exists(base)) return base;
    std::string gz = absl::StrCat(base, ".gz");
    if (Exists(gz)) return gz;
    return absl::NotFoundError(
        absl::StrCat("found neither '", base, "' nor '", gz, "'"));
  };
  NABLA_ASSIGN_OR_RETURN(std::string images_path, find("-images-idx3-ubyte"));
  NABLA_ASSIGN_OR_RETURN(std::string labels_path, find("-labels-idx1-ubyte"));
  MnistData data;
  NABLA_ASSIGN_OR_RETURN(data.images, ReadIdxImages(images_path, options));
  NABLA_ASSIGN_OR_RETURN(data.labels, ReadIdxLabels(labels_path, options));
  if (data.images.shape()[0] != data.labels.shape()[0]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", images_path, "' holds ", data.images.shape()[0],
        " images but '", labels_path, "' holds ", data.labels.shape()[0],
        " labels"));
  }
  return data;
}

}  // namespace nabla
