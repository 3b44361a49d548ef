#include "io/image.h"

#include <jpeglib.h>
#include <png.h>
// Before pam.h, which uses FILE without including it.
#include <stdio.h>
#include <netpbm/pam.h>

#include <csetjmp>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/file.h"
#include "core/status.h"

namespace nabla {
namespace {

// Rec. 601 luma, the weights JPEG's own YCbCr uses.
constexpr float kRed = 0.299f, kGreen = 0.587f, kBlue = 0.114f;

// The size checks every decoder makes between reading the header and
// allocating pixels.
absl::Status CheckSize(int64_t width, int64_t height, const ImageLimits& limits,
                       absl::string_view format) {
  if (width <= 0 || height <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        format, " image declares a ", width, "x", height, " image"));
  }
  if (width > limits.max_pixels / height) {
    return absl::ResourceExhaustedError(absl::StrCat(
        format, " image declares ", width, "x", height, " pixels, more than the limit of ",
        limits.max_pixels));
  }
  return absl::OkStatus();
}

absl::Status Corrupt(absl::string_view format, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("corrupt or truncated ", format, " image: ", message));
}

// Sets `image` to width x height pixels, or says there is no memory.
absl::Status Allocate(int width, int height, GrayImage* image) {
  try {
    image->pixels.assign(static_cast<size_t>(width) * height, 0.0f);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("no memory for a ", width, "x", height, " image"));
  }
  image->width = width;
  image->height = height;
  return absl::OkStatus();
}

// One decoded row of `channels` samples per pixel (grey, grey+alpha, RGB,
// RGBA; each over `max`) to luminance. Transparent parts show the paper
// beneath, white: a digit drawn on a transparent canvas reads as ink on
// paper.
template <typename Sample>
void RowToGray(const Sample* row, int width, int channels, float max, float* out) {
  const float scale = 1.0f / max;
  for (int x = 0; x < width; ++x, row += channels) {
    float v;
    if (channels >= 3) {
      v = (kRed * row[0] + kGreen * row[1] + kBlue * row[2]) * scale;
    } else {
      v = row[0] * scale;
    }
    if (channels == 2 || channels == 4) {
      float alpha = row[channels - 1] * scale;
      v = alpha * v + (1 - alpha);
    }
    out[x] = v;
  }
}

// ---------------------------------------------------------------- PNG --
// libpng reports errors by longjmp to png_jmpbuf; nothing with a
// destructor lives in the frame that calls setjmp.

struct PngSource {
  const unsigned char* data;
  size_t size;
  size_t offset;
  char message[200];
  // libpng says why before some errors ("Image width is zero in IHDR"
  // before "Invalid IHDR data"): the first warning goes with the error.
  char warning[200];
};

void PngRead(png_structp png, png_bytep out, png_size_t n) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > source->size - source->offset) {
    png_error(png, "the file ends in the middle of the image");
  }
  std::memcpy(out, source->data + source->offset, n);
  source->offset += n;
}

void PngError(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->message, sizeof(source->message), "%s", message);
  png_longjmp(png, 1);
}

void PngWarning(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  if (source->warning[0] == '\0') {
    std::snprintf(source->warning, sizeof(source->warning), "%s", message);
  }
}

// Decodes the PNG with libpng set up; `status` gets what went wrong short
// of a libpng error, which the caller reports from source->message.
bool DecodePngInto(png_structp png, png_infop info, const ImageLimits& limits,
                   GrayImage* image, absl::Status* status, std::vector<unsigned char>* rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, png_get_error_ptr(png), PngRead);
  png_read_info(png, info);
  png_uint_32 width = png_get_image_width(png, info);
  png_uint_32 height = png_get_image_height(png, info);
  *status = CheckSize(width, height, limits, "PNG");
  if (!status->ok()) return true;
  int color = png_get_color_type(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  // 16-bit samples in the machine's byte order (PNG's is big-endian).
  if (png_get_bit_depth(png, info) == 16) png_set_swap(png);
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int channels = png_get_channels(png, info);
  const int depth = png_get_bit_depth(png, info);  // 8 or 16 now
  const size_t row_bytes = png_get_rowbytes(png, info);
  *status = Allocate(width, height, image);
  if (!status->ok()) return true;
  // Interlaced images fill every row over several passes, so they need the
  // whole image; others are converted one row at a time.
  const size_t buffered_rows = passes > 1 ? height : 1;
  try {
    rows->resize(row_bytes * buffered_rows);
  } catch (const std::bad_alloc&) {
    *status = absl::ResourceExhaustedError("no memory to decode the PNG image");
    return true;
  }
  for (int pass = 0; pass < passes; ++pass) {
    for (png_uint_32 y = 0; y < height; ++y) {
      unsigned char* row = rows->data() + (buffered_rows > 1 ? y * row_bytes : 0);
      png_read_row(png, row, nullptr);
      if (pass + 1 < passes) continue;
      float* out = image->pixels.data() + static_cast<size_t>(y) * width;
      if (depth == 16) {
        RowToGray(reinterpret_cast<const uint16_t*>(row), width, channels, 65535.0f, out);
      } else {
        RowToGray(row, width, channels, 255.0f, out);
      }
    }
  }
  png_read_end(png, nullptr);
  return true;
}

absl::StatusOr<GrayImage> DecodePng(absl::string_view bytes, const ImageLimits& limits) {
  PngSource source{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0, "",
                   ""};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, PngError, PngWarning);
  if (png == nullptr) return absl::ResourceExhaustedError("libpng could not start");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return absl::ResourceExhaustedError("libpng could not start");
  }
  GrayImage image;
  absl::Status status;
  std::vector<unsigned char> rows;
  bool ok = DecodePngInto(png, info, limits, &image, &status, &rows);
  png_destroy_read_struct(&png, &info, nullptr);
  if (!ok) {
    if (source.warning[0] == '\0') return Corrupt("PNG", source.message);
    return Corrupt("PNG", absl::StrCat(source.message, " (", source.warning, ")"));
  }
  if (!status.ok()) return status;
  return image;
}

// --------------------------------------------------------------- JPEG --
// libjpeg calls error_exit for errors, which must not return: it longjmps
// back. Warnings (a truncated file, corrupt data) are errors too, since
// libjpeg would otherwise fill the missing part with grey.

struct JpegError {
  jpeg_error_mgr manager;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

void JpegEmitMessage(j_common_ptr cinfo, int level) {
  if (level < 0) JpegErrorExit(cinfo);  // a warning
}

bool DecodeJpegInto(jpeg_decompress_struct* cinfo, JpegError* error,
                    absl::string_view bytes, const ImageLimits& limits,
                    GrayImage* image, absl::Status* status,
                    std::vector<unsigned char>* row) {
  if (setjmp(error->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(cinfo, TRUE);
  *status = CheckSize(cinfo->image_width, cinfo->image_height, limits, "JPEG");
  if (!status->ok()) return true;
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
    *status = absl::InvalidArgumentError("CMYK JPEG images are not supported");
    return true;
  }
  // libjpeg's grey output is the luma channel, Rec. 601.
  cinfo->out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(cinfo);
  *status = Allocate(cinfo->output_width, cinfo->output_height, image);
  if (!status->ok()) return true;
  try {
    row->resize(cinfo->output_width);
  } catch (const std::bad_alloc&) {
    *status = absl::ResourceExhaustedError("no memory to decode the JPEG image");
    return true;
  }
  while (cinfo->output_scanline < cinfo->output_height) {
    const size_t y = cinfo->output_scanline;
    JSAMPROW rows[1] = {row->data()};
    jpeg_read_scanlines(cinfo, rows, 1);
    RowToGray(row->data(), image->width, 1, 255.0f, image->pixels.data() + y * image->width);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

absl::StatusOr<GrayImage> DecodeJpeg(absl::string_view bytes, const ImageLimits& limits) {
  jpeg_decompress_struct cinfo;
  JpegError error;
  error.message[0] = '\0';
  cinfo.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = JpegErrorExit;
  error.manager.emit_message = JpegEmitMessage;
  GrayImage image;
  absl::Status status;
  std::vector<unsigned char> row;
  bool ok = DecodeJpegInto(&cinfo, &error, bytes, limits, &image, &status, &row);
  jpeg_destroy_decompress(&cinfo);
  if (!ok) return Corrupt("JPEG", error.message);
  if (!status.ok()) return status;
  return image;
}

// ------------------------------------------------------------ PGM/PPM --
// libnetpbm reads the Netpbm formats (plain and raw PBM, PGM and PPM) from
// a FILE, reporting errors by longjmp to one process-wide jump
// buffer: PNM decoding is serialized.

std::mutex netpbm_mutex;  // constexpr-constructed
char netpbm_message[256];

void NetpbmError(const char* message) {
  std::snprintf(netpbm_message, sizeof(netpbm_message), "%s", message);
}
void NetpbmMessage(const char*) {}

// `saved` keeps libnetpbm's previous jump buffer outside this frame, where
// longjmp cannot clobber it.
bool DecodePnmInto(FILE* file, const ImageLimits& limits, GrayImage* image,
                   absl::Status* status, tuple** row, jmp_buf** saved) {
  jmp_buf jump;
  if (setjmp(jump)) {
    pm_setjmpbuf(*saved);
    return false;
  }
  pm_setjmpbufsave(&jump, saved);
  struct pam pam;
  // PAM_STRUCT_SIZE(tuple_type), without the macro's null-pointer arithmetic.
  pnm_readpaminit(file, &pam, offsetof(struct pam, tuple_type) + sizeof(pam.tuple_type));
  *status = CheckSize(pam.width, pam.height, limits, "PGM/PPM");
  if (status->ok() && (pam.depth < 1 || pam.depth > 4)) {
    *status = absl::InvalidArgumentError(
        absl::StrCat("Netpbm image of depth ", pam.depth, " is not grey or colour"));
  }
  if (status->ok()) *status = Allocate(pam.width, pam.height, image);
  if (!status->ok()) {
    pm_setjmpbuf(*saved);
    return true;
  }
  *row = pnm_allocpamrow(&pam);
  const float scale = 1.0f / pam.maxval;
  for (int y = 0; y < pam.height; ++y) {
    pnm_readpamrow(&pam, *row);
    float* out = image->pixels.data() + static_cast<size_t>(y) * pam.width;
    for (int x = 0; x < pam.width; ++x) {
      const sample* s = (*row)[x];
      float v = pam.depth >= 3 ? (kRed * s[0] + kGreen * s[1] + kBlue * s[2]) * scale
                               : s[0] * scale;
      if (pam.depth == 2 || pam.depth == 4) {
        float alpha = s[pam.depth - 1] * scale;
        v = alpha * v + (1 - alpha);
      }
      out[x] = v;
    }
  }
  pm_setjmpbuf(*saved);
  return true;
}

absl::StatusOr<GrayImage> DecodePnm(absl::string_view bytes, const ImageLimits& limits) {
  std::lock_guard<std::mutex> lock(netpbm_mutex);
  static const bool initialized = [] {
    pm_init("nabla", 0);
    pm_setusererrormsgfn(NetpbmError);
    pm_setusermessagefn(NetpbmMessage);
    return true;
  }();
  (void)initialized;
  // fmemopen reads the bytes in place; a zero-length buffer is refused.
  FILE* file = fmemopen(const_cast<char*>(bytes.data()), bytes.size(), "rb");
  if (file == nullptr) return absl::ResourceExhaustedError("cannot open the PGM/PPM bytes");
  netpbm_message[0] = '\0';
  GrayImage image;
  absl::Status status;
  tuple* row = nullptr;
  jmp_buf* saved = nullptr;
  bool ok = DecodePnmInto(file, limits, &image, &status, &row, &saved);
  if (row != nullptr) pnm_freepamrow(row);
  std::fclose(file);
  if (!ok) return Corrupt("PGM/PPM", netpbm_message);
  if (!status.ok()) return status;
  return image;
}

bool StartsWith(absl::string_view bytes, absl::string_view magic) {
  return bytes.substr(0, magic.size()) == magic;
}

}  // namespace

absl::StatusOr<GrayImage> DecodeImage(absl::string_view bytes, const ImageLimits& limits) {
  if (StartsWith(bytes, "\x89PNG\r\n\x1a\n")) return DecodePng(bytes, limits);
  if (StartsWith(bytes, "\xff\xd8\xff")) return DecodeJpeg(bytes, limits);
  // Netpbm's PBM, PGM and PPM, plain and raw; not PAM (P7), whose header
  // libnetpbm leaks memory on when it is malformed.
  if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6') {
    return DecodePnm(bytes, limits);
  }
  return absl::InvalidArgumentError(
      bytes.empty() ? "an empty file is no image"
                    : "not a PNG, JPEG or PGM/PPM image (unknown magic number)");
}

absl::StatusOr<GrayImage> ReadImage(const std::string& path, const ImageLimits& limits) {
  NABLA_ASSIGN_OR_RETURN(std::string bytes,
                         ReadFile(path, limits.max_file_bytes));
  absl::StatusOr<GrayImage> image = DecodeImage(bytes, limits);
  if (!image.ok()) return Annotate(image.status(), absl::StrCat("'", path, "'"));
  return image;
}

}  // namespace nabla
