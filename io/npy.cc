#include "io/npy.h"

#include <cstring>
#include <limits>
#include <new>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file.h"
#include "core/file.h"
#include "core/status.h"

namespace nabla {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// NumPy pads the header so that the data starts at a multiple of 64.
constexpr size_t kAlignment = 64;

// What a .npy element type becomes in nabla.
struct NpyType {
  DType dtype;
  size_t file_size;  // bytes per element in the file
  bool is_f64 = false;
  bool is_bool = false;
};

absl::Status Bad(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("'", what, "': ", why));
}

// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// This parser accepts exactly that grammar: string keys, and values that
// are strings, True/False, or tuples of non-negative integers.
class HeaderParser {
 public:
  explicit HeaderParser(absl::string_view text) : text_(text) {}

  struct Header {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
  };

  absl::StatusOr<Header> Parse() {
    Header header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    if (!Consume('{')) return Error("the header is not a dict");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      NABLA_ASSIGN_OR_RETURN(std::string key, ParseString());
      if (!Consume(':')) return Error("expected ':' after a key");
      if (key == "descr") {
        if (seen_descr) return Error("'descr' appears twice");
        seen_descr = true;
        NABLA_ASSIGN_OR_RETURN(header.descr, ParseString());
      } else if (key == "fortran_order") {
        if (seen_order) return Error("'fortran_order' appears twice");
        seen_order = true;
        NABLA_ASSIGN_OR_RETURN(header.fortran_order, ParseBool());
      } else if (key == "shape") {
        if (seen_shape) return Error("'shape' appears twice");
        seen_shape = true;
        NABLA_ASSIGN_OR_RETURN(header.shape, ParseTuple());
      } else {
        return Error(absl::StrCat("unexpected key '", key, "'"));
      }
      SkipSpace();
      if (Consume('}')) break;
      if (!Consume(',')) return Error("expected ',' or '}' after a value");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("text after the header's dict");
    if (!seen_descr || !seen_order || !seen_shape) {
      return Error("the header lacks 'descr', 'fortran_order' or 'shape'");
    }
    return header;
  }

 private:
  absl::Status Error(absl::string_view why) const {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed header (", why, ") at offset ", pos_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(text_[pos_])) ++pos_;
  }

  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::StatusOr<std::string> ParseString() {
    SkipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      return Error("expected a string");
    }
    char quote = text_[pos_++];
    size_t end = text_.find(quote, pos_);
    if (end == absl::string_view::npos) return Error("unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    if (s.find('\\') != std::string::npos) return Error("escape in a string");
    pos_ = end + 1;
    return s;
  }

  absl::StatusOr<bool> ParseBool() {
    SkipSpace();
    for (auto [word, value] : {std::pair<absl::string_view, bool>{"True", true},
                               {"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    return Error("expected True or False");
  }

  absl::StatusOr<std::vector<int64_t>> ParseTuple() {
    std::vector<int64_t> dims;
    if (!Consume('(')) return Error("expected a tuple for 'shape'");
    while (true) {
      if (Consume(')')) return dims;
      SkipSpace();
      if (pos_ >= text_.size() || !absl::ascii_isdigit(text_[pos_])) {
        return Error("expected a non-negative integer in 'shape'");
      }
      int64_t d = 0;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) {
        int digit = text_[pos_++] - '0';
        if (d > (std::numeric_limits<int64_t>::max() - digit) / 10) {
          return Error("a dimension overflows 64 bits");
        }
        d = d * 10 + digit;
      }
      dims.push_back(d);
      if (Consume(')')) {
        // Python writes a one-element tuple as (n,); (n) is an int.
        if (dims.size() == 1) return Error("'shape' is not a tuple");
        return dims;
      }
      if (!Consume(',')) return Error("expected ',' or ')' in 'shape'");
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

absl::StatusOr<NpyType> TypeFromDescr(const std::string& descr,
                                      absl::string_view what) {
  if (descr == "<f4") return NpyType{DType::kF32, 4};
  if (descr == "<f8") return NpyType{DType::kF32, 8, /*is_f64=*/true};
  if (descr == "<i4") return NpyType{DType::kI32, 4};
  if (descr == "<i8") return NpyType{DType::kI64, 8};
  if (descr == "|u1" || descr == "<u1") return NpyType{DType::kU8, 1};
  if (descr == "|b1") {
    return NpyType{DType::kU8, 1, /*is_f64=*/false, /*is_bool=*/true};
  }
  if (!descr.empty() && descr[0] == '>') {
    return Bad(what, absl::StrCat("big-endian data ('", descr,
                                  "') is not supported; save it little-endian "
                                  "(array.astype('<", descr.substr(1), "'))"));
  }
  if (descr == "|O" || descr == "O") {
    return Bad(what, "object arrays are not supported (pickled data)");
  }
  return Bad(what, absl::StrCat("unsupported dtype '", descr,
                                "'; nabla reads <f4, <f8, <i4, <i8, |u1 and |b1"));
}

void AppendLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t ReadLittleEndian(absl::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    value |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  }
  return value;
}

}  // namespace

absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view what,
                                const NpyLimits& limits) {
  if (bytes.size() < kMagicSize + 2 ||
      bytes.substr(0, kMagicSize) != absl::string_view(kMagic, kMagicSize)) {
    return Bad(what, "not a .npy file (no \\x93NUMPY magic)");
  }
  const int major = static_cast<unsigned char>(bytes[kMagicSize]);
  const int minor = static_cast<unsigned char>(bytes[kMagicSize + 1]);
  if (major < 1 || major > 3 || minor != 0) {
    return Bad(what, absl::StrCat("unsupported .npy format version ", major,
                                  ".", minor, " (nabla reads 1.0 to 3.0)"));
  }
  // Version 1.0 gives the header's length in 2 bytes, 2.0 and 3.0 in 4.
  const size_t length_size = major == 1 ? 2 : 4;
  const size_t prefix = kMagicSize + 2 + length_size;
  if (bytes.size() < prefix) return Bad(what, "truncated header");
  const uint64_t header_size =
      ReadLittleEndian(bytes.substr(kMagicSize + 2, length_size));
  if (header_size > bytes.size() - prefix) {
    return Bad(what, absl::StrCat("the header claims ", header_size,
                                  " bytes but the file ends first"));
  }
  absl::string_view header_text = bytes.substr(prefix, header_size);
  if (header_text.empty() || header_text.back() != '\n') {
    return Bad(what, "the header does not end with a newline");
  }
  absl::StatusOr<HeaderParser::Header> header = HeaderParser(header_text).Parse();
  if (!header.ok()) return Bad(what, header.status().message());
  if (header->fortran_order) {
    return Bad(what, "Fortran-order arrays are not supported; save a C-order "
                     "array (numpy.ascontiguousarray)");
  }
  NABLA_ASSIGN_OR_RETURN(NpyType type, TypeFromDescr(header->descr, what));
  if (type.is_f64 && !limits.narrow_f64) {
    return Bad(what, "f64 data, and narrowing to f32 was not allowed");
  }

  // Every size is checked against the bytes present before anything is
  // allocated, overflow-safe: a header can claim any shape.
  Shape shape(absl::MakeConstSpan(header->shape));
  absl::Status valid = shape.Validate(kDefaultMaxElements);
  if (!valid.ok()) return Bad(what, valid.message());
  const uint64_t elements = static_cast<uint64_t>(shape.NumElements());
  absl::string_view data = bytes.substr(prefix + header_size);
  if (elements > data.size() / type.file_size ||
      elements * type.file_size != data.size()) {
    return Bad(what, absl::StrCat("the header's shape ", shape.ToString(), " of ",
                                  header->descr, " needs ",
                                  elements * type.file_size,
                                  " bytes of data but the file has ",
                                  data.size()));
  }

  Tensor tensor;
  try {
    tensor = Tensor(type.dtype, shape);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("no memory for the ", shape.ToString(), " array of '", what, "'"));
  }
  if (type.is_f64) {
    float* out = tensor.data<float>();
    for (uint64_t i = 0; i < elements; ++i) {
      double v;
      std::memcpy(&v, data.data() + 8 * i, 8);
      out[i] = static_cast<float>(v);
    }
  } else {
    std::memcpy(tensor.raw_data(), data.data(), data.size());
  }
  if (type.is_bool) {
    const uint8_t* v = tensor.data<uint8_t>();
    for (uint64_t i = 0; i < elements; ++i) {
      if (v[i] > 1) {
        return Bad(what, absl::StrCat("bool element ", i, " is ", int{v[i]},
                                      ", neither 0 nor 1"));
      }
    }
  }
  return tensor;
}

absl::StatusOr<Tensor> ReadNpy(const std::string& path, const NpyLimits& limits) {
  NABLA_ASSIGN_OR_RETURN(std::string bytes,
                         ReadFile(path, limits.max_file_bytes));
  return ParseNpy(bytes, path, limits);
}

std::string SerializeNpy(const Tensor& tensor) {
  const char* descr = "<f4";
  switch (tensor.dtype()) {
    case DType::kF32:
      descr = "<f4";
      break;
    case DType::kI32:
      descr = "<i4";
      break;
    case DType::kI64:
      descr = "<i8";
      break;
    case DType::kU8:
      descr = "|u1";
      break;
    case DType::kInvalid:
      return "";
  }
  std::string shape = absl::StrJoin(tensor.shape().dims(), ", ");
  if (tensor.shape().rank() == 1) shape += ",";
  std::string header = absl::StrCat("{'descr': '", descr,
                                    "', 'fortran_order': False, 'shape': (",
                                    shape, "), }");
  // Version 1.0 holds headers up to 65535 bytes; a longer one (a rank in
  // the thousands) needs 2.0's 4-byte length.
  int major = 1;
  size_t prefix = kMagicSize + 2 + 2;
  if (header.size() + 1 + prefix + kAlignment > 0xffff) {
    major = 2;
    prefix = kMagicSize + 2 + 4;
  }
  // Pad with spaces and end with a newline, so that the data is aligned.
  size_t total = (prefix + header.size() + 1 + kAlignment - 1) / kAlignment * kAlignment;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  std::string out(kMagic, kMagicSize);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  AppendLittleEndian(header.size(), major == 1 ? 2 : 4, &out);
  out += header;
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
  return out;
}

absl::Status WriteNpy(const Tensor& tensor, const std::string& path) {
  if (tensor.empty() || tensor.dtype() == DType::kInvalid) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write an empty tensor to '", path, "'"));
  }
  return WriteFileAtomically(path, SerializeNpy(tensor));
}

}  // namespace nabla
