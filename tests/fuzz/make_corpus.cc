// Writes the seed corpora of the fuzz targets: small valid files of every
// format (made with nabla's own writers, so they stay valid as the formats
// evolve) and hand-made edge cases beside them. The output is deterministic;
// regenerate the committed corpus with
//
//   bazel run //tests/fuzz:make_corpus -- $PWD/tests/fuzz/corpus
//
// Inputs the fuzzer finds go to tests/fuzz/regressions/, never here.

#include <png.h>
#include <sys/stat.h>
#include <zlib.h>

// libjpeg's header needs FILE and size_t declared first.
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "graph/session.h"
#include "ops/ops.h"
#include "proto/checkpoint.pb.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

// Stops the generator with a message: a seed that cannot be made is a bug
// in this file.
void Check(const absl::Status& status, const std::string& what) {
  if (status.ok()) return;
  std::fprintf(stderr, "make_corpus: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::exit(1);
}

void MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    Check(absl::UnknownError(std::strerror(errno)), "mkdir " + dir);
  }
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) Check(absl::UnknownError("write failed"), path);
}

std::string ReadBytes(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  Check(bytes.status(), "read " + path);
  return *bytes;
}

// gzip bytes with zlib's defaults (no file name, time 0), so the output
// does not change from run to run.
std::string Gzip(const std::string& bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    Check(absl::InternalError("deflateInit2"), "gzip");
  }
  std::string out(deflateBound(&stream, bytes.size()), '\0');
  stream.next_in =
      reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
    Check(absl::InternalError("deflate"), "gzip");
  }
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
          static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX header of unsigned bytes with these dimensions.
std::string IdxHeader(std::initializer_list<uint32_t> dims,
                      char type = '\x08') {
  std::string header = {'\0', '\0', type, static_cast<char>(dims.size())};
  for (uint32_t d : dims) header += Be32(d);
  return header;
}

void WriteIdxSeeds(const std::string& dir) {
  std::string pixels;
  for (int i = 0; i < 2 * 3 * 3; ++i) pixels += static_cast<char>(i * 15);
  const std::string images = IdxHeader({2, 3, 3}) + pixels;
  const std::string labels = IdxHeader({4}) + std::string("\0\1\2\1", 4);
  WriteBytes(dir + "/images-2x3x3", images);
  WriteBytes(dir + "/images-2x3x3.gz", Gzip(images));
  WriteBytes(dir + "/labels-4", labels);
  WriteBytes(dir + "/labels-4.gz", Gzip(labels));
  WriteBytes(dir + "/labels-out-of-range", IdxHeader({2}) + "\1\xc8");
  WriteBytes(dir + "/empty", "");
  WriteBytes(dir + "/magic-only", IdxHeader({}));
  WriteBytes(dir + "/float-type", IdxHeader({1}, '\x0d') + "abcd");
  WriteBytes(dir + "/rank-4", IdxHeader({1, 1, 2, 2}) + "wxyz");
  WriteBytes(dir + "/truncated-header", IdxHeader({2, 3, 3}).substr(0, 9));
  WriteBytes(dir + "/truncated-data", images.substr(0, images.size() - 5));
  WriteBytes(dir + "/trailing-byte", labels + "!");
  WriteBytes(dir + "/zero-images", IdxHeader({0, 28, 28}));
  WriteBytes(dir + "/zero-width", IdxHeader({3, 28, 0}));
  // Headers that claim far more than follows, or than any limit allows.
  WriteBytes(dir + "/lying-dims", IdxHeader({60000, 28, 28}) + pixels);
  WriteBytes(dir + "/huge-dims",
             IdxHeader({0xffffffffu, 0xffffffffu, 0xffffffffu}));
  const std::string gz = Gzip(images);
  // A gzip stream without its crc32 and length trailer, one with a wrong
  // crc32, and one followed by bytes that are no gzip member.
  WriteBytes(dir + "/gzip-no-trailer.gz", gz.substr(0, gz.size() - 8));
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0x55;
  WriteBytes(dir + "/gzip-bad-crc.gz", bad_crc);
  WriteBytes(dir + "/gzip-then-garbage.gz", gz + "garbage");
  WriteBytes(dir + "/gzip-two-members.gz",
             Gzip(images.substr(0, 10)) + Gzip(images.substr(10)));
}

// Graphs covering every op family, each small enough to load under the
// fuzz targets' kFuzzMaxElements.
std::vector<std::pair<std::string, Graph>> SeedGraphs() {
  std::vector<std::pair<std::string, Graph>> graphs;
  auto add = [&](const std::string& name, const GraphBuilder& b) {
    absl::StatusOr<Graph> graph = b.Build();
    Check(graph.status(), "graph " + name);
    graphs.emplace_back(name, *std::move(graph));
  };
  {
    GraphBuilder b;
    Output x = b.Placeholder("x", {kUnknownDim, 4});
    Output w = b.Variable("w", {4, 3}, Initializer::GlorotUniform(11));
    Output bias = b.Variable("b", {3}, Initializer::Constant(0.5f));
    Output h = Dense(x, w, bias, Activation::kRelu, "dense");
    absl::StatusOr<Tensor> scale_value = Tensor::FromVector<float>({3}, {1, -2, 3});
    Check(scale_value.status(), "scale");
    Output scale = b.Constant(*scale_value, "scale");
    Mean(Mul(h, scale), {1}, false, "out");
    add("dense", b);
  }
  {
    GraphBuilder b;
    Output images = b.Placeholder("images", {kUnknownDim, 1, 8, 8});
    Output labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
    Output f = b.Variable("conv/w", {2, 1, 3, 3}, Initializer::HeUniform(1));
    Output fb = b.Variable("conv/b", {2}, Initializer::Zeros());
    Conv2DOptions conv;
    conv.activation = Activation::kRelu;
    Output c = Conv2D(images, f, fb, conv, "conv");
    Output p = MaxPool2D(c, {2, 2}, {}, "valid", "pool");
    Output flat = Flatten(p, "flatten");
    Output w = b.Variable("dense/w", {18, 3}, Initializer::GlorotNormal(2));
    Output wb = b.Variable("dense/b", {3}, Initializer::Zeros());
    Output logits = Dense(flat, w, wb, Activation::kLinear, "logits");
    Softmax(logits, -1, "probs");
    ArgMax(logits, -1, "predictions");
    Accuracy(logits, labels, "accuracy");
    Output loss = SoftmaxCrossEntropy(logits, labels, Reduction::kMean, "loss");
    Adam adam;
    absl::StatusOr<TrainStep> train =
        adam.Minimize(loss, {f, fb, w, wb});
    Check(train.status(), "Minimize");
    add("cnn_adam", b);
  }
  {
    GraphBuilder b;
    Output x = b.Placeholder("x", {kUnknownDim, 2, 4, 4});
    Output bytes = b.Placeholder("bytes", {kUnknownDim, 3}, DType::kU8);
    Output a = AvgPool2D(x, {2, 2}, {1, 1}, "same", "avg");
    Output r = Reshape(a, {kUnknownDim, 32}, "reshape");
    Output s = Sigmoid(r, "sigmoid");
    Output t = Tanh(Identity(r, "id"), "tanh");
    Output l = LeakyRelu(Sub(s, t, "sub"), 0.1f, "leaky");
    Output m = MatMul(l, l, /*transpose_a=*/true, false, "gram");
    Sum(m, {0}, /*keep_dims=*/true, "sum");
    LogSoftmax(l, 1, "log_softmax");
    ZerosLike(l, "zeros");
    Output probs = Sigmoid(Cast(bytes, 1.0f / 255, "cast"), "p");
    Output targets = b.Placeholder("targets", {kUnknownDim, 3});
    BinaryCrossEntropy(probs, targets, Reduction::kSum, "bce");
    add("misc_ops", b);
  }
  return graphs;
}

void WriteGraphSeeds(const std::string& text_dir,
                     const std::string& binary_dir) {
  for (const auto& [name, graph] : SeedGraphs()) {
    Check(SaveGraph(graph, text_dir + "/" + name + ".pbtxt",
                    GraphFormat::kText),
          name);
    Check(SaveGraph(graph, binary_dir + "/" + name + ".pb",
                    GraphFormat::kBinary),
          name);
  }
  WriteBytes(text_dir + "/empty", "");
  WriteBytes(text_dir + "/unclosed", "version: 1\nnode {\n  name: \"x\"\n");
  WriteBytes(text_dir + "/unknown-op",
             "version: 1\nnode { name: \"x\" op: \"NoSuchOp\" }\n");
  WriteBytes(text_dir + "/dangling-input",
             "version: 1\nnode { name: \"y\" op: \"Relu\" input: \"x:3\" }\n");
  WriteBytes(text_dir + "/cycle",
             "version: 1\n"
             "node { name: \"a\" op: \"Relu\" input: \"b\" }\n"
             "node { name: \"b\" op: \"Relu\" input: \"a\" }\n");
  WriteBytes(
      text_dir + "/huge-placeholder",
      "version: 1\nnode { name: \"x\" op: \"Placeholder\" attr { key: "
      "\"shape\" value { shape { dim: 4294967296 dim: 4294967296 } } } "
      "attr { key: \"dtype\" value { type: DT_FLOAT } } }\n");
  WriteBytes(binary_dir + "/empty", "");
  WriteBytes(binary_dir + "/not-a-proto", "\xff\xff\xff\xff\x0f");
}

void WriteCheckpointSeeds(const std::string& dir) {
  std::unique_ptr<Session> session = fuzz::CheckpointSession();
  CheckpointInfo info;
  info.step = 1407;
  info.epoch = 3;
  info.rng_state = "5489";
  info.metadata["model"] = "fuzz";
  const std::string path = dir + "/valid.ckpt";
  Check(SaveCheckpoint(*session, info, path), "SaveCheckpoint");
  const std::string file_bytes = ReadBytes(path);

  proto::CheckpointFile file;
  if (!file.ParseFromString(file_bytes)) {
    Check(absl::DataLossError("does not parse"), path);
  }
  // The target also reads every input as a payload, so payloads are seeds
  // too: the valid one and variations the checks behind the checksum catch.
  proto::Checkpoint payload;
  payload.ParseFromString(file.payload());
  // The payload's variables are in name order; the edits need "dense/w".
  int dense_w = 0;
  while (dense_w < payload.variables_size() &&
         payload.variables(dense_w).name() != "dense/w") {
    ++dense_w;
  }
  if (dense_w == payload.variables_size()) {
    Check(absl::NotFoundError("no variable dense/w"), path);
  }
  auto write_payload = [&](const std::string& name,
                           const proto::Checkpoint& p) {
    WriteBytes(dir + "/" + name, SerializeDeterministically(p));
  };
  write_payload("payload-valid", payload);
  {
    proto::Checkpoint p = payload;
    p.set_version(kCheckpointVersion + 1);
    write_payload("payload-future-version", p);
  }
  {
    proto::Checkpoint p = payload;
    p.mutable_variables()->RemoveLast();
    write_payload("payload-missing-variable", p);
  }
  {
    proto::Checkpoint p = payload;
    *p.add_variables() = p.variables(dense_w);
    write_payload("payload-duplicate-variable", p);
  }
  {
    proto::Checkpoint p = payload;
    proto::NamedTensor* extra = p.add_variables();
    *extra = p.variables(dense_w);
    extra->set_name("Adam/learning_rate_unused");
    write_payload("payload-extra-variable", p);
  }
  {
    proto::Checkpoint p = payload;
    p.mutable_variables(dense_w)->mutable_tensor()->set_dims(0, 1 << 30);
    write_payload("payload-wrong-shape", p);
  }
  {
    proto::Checkpoint p = payload;
    p.mutable_variables(dense_w)->mutable_tensor()->mutable_content()->resize(5);
    write_payload("payload-short-content", p);
  }
  WriteBytes(dir + "/truncated.ckpt",
             file_bytes.substr(0, file_bytes.size() / 2));
  WriteBytes(dir + "/appended.ckpt", file_bytes + file_bytes);
  std::string bad_crc = file_bytes;
  bad_crc[bad_crc.size() - 1] ^= 0x01;
  WriteBytes(dir + "/bad-crc.ckpt", bad_crc);
  WriteBytes(dir + "/empty", "");
}


// A .npy file: magic, version, header length, the header dict padded with
// spaces to a multiple of 64 bytes (numpy's alignment), then `data`.
std::string Npy(const std::string& dict, const std::string& data,
                int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const size_t n = header.size();
  out += static_cast<char>(n & 0xff);
  out += static_cast<char>((n >> 8) & 0xff);
  if (major > 1) {
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 24) & 0xff);
  }
  return out + header + data;
}

std::string Le(const void* values, size_t bytes) {
  return std::string(static_cast<const char*>(values), bytes);
}

void WriteNpySeeds(const std::string& dir) {
  const float f32[6] = {0.0f, 1.5f, -2.0f, 3.25f, 1e-3f, -0.0f};
  const double f64[3] = {0.5, -1e300, 2.0};
  const int32_t i32[4] = {1, -2, 3, 2147483647};
  const int64_t i64[2] = {-1, int64_t{1} << 40};
  const std::string f32_bytes = Le(f32, sizeof(f32));
  auto dict = [](const std::string& descr, const std::string& shape,
                 const std::string& fortran = "False") {
    return absl::StrCat("{'descr': '", descr, "', 'fortran_order': ", fortran,
                        ", 'shape': ", shape, ", }");
  };
  WriteBytes(dir + "/f4-2x3.npy", Npy(dict("<f4", "(2, 3)"), f32_bytes));
  WriteBytes(dir + "/f4-2x3-v2.npy",
             Npy(dict("<f4", "(2, 3)"), f32_bytes, 2));
  WriteBytes(dir + "/f4-2x3-v3.npy",
             Npy(dict("<f4", "(2, 3)"), f32_bytes, 3));
  WriteBytes(dir + "/f8-3.npy", Npy(dict("<f8", "(3,)"), Le(f64, sizeof(f64))));
  WriteBytes(dir + "/i4-2x2.npy",
             Npy(dict("<i4", "(2, 2)"), Le(i32, sizeof(i32))));
  WriteBytes(dir + "/i8-2.npy", Npy(dict("<i8", "(2,)"), Le(i64, sizeof(i64))));
  WriteBytes(dir + "/u1-scalar.npy", Npy(dict("|u1", "()"), "\x07"));
  WriteBytes(dir + "/b1-4.npy",
             Npy(dict("|b1", "(4,)"), std::string("\1\0\1\1", 4)));
  WriteBytes(dir + "/f4-empty.npy", Npy(dict("<f4", "(0, 5)"), ""));
  WriteBytes(dir + "/fortran.npy",
             Npy(dict("<f4", "(2, 3)", "True"), f32_bytes));
  WriteBytes(dir + "/big-endian.npy", Npy(dict(">f4", "(2, 3)"), f32_bytes));
  WriteBytes(dir + "/object.npy", Npy(dict("|O", "(1,)"), "12345678"));
  WriteBytes(dir + "/truncated-data.npy",
             Npy(dict("<f4", "(2, 3)"), f32_bytes.substr(0, 10)));
  WriteBytes(dir + "/trailing-data.npy",
             Npy(dict("<f4", "(2, 3)"), f32_bytes + "xy"));
  WriteBytes(dir + "/lying-shape.npy",
             Npy(dict("<f4", "(1000000, 1000000)"), f32_bytes));
  WriteBytes(dir + "/overflowing-shape.npy",
             Npy(dict("<f8", "(4294967296, 4294967296, 4294967296)"), ""));
  WriteBytes(dir + "/negative-shape.npy", Npy(dict("<f4", "(-1, 6)"), f32_bytes));
  WriteBytes(dir + "/keys-reordered.npy",
             Npy("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
                 f32_bytes));
  WriteBytes(dir + "/extra-key.npy",
             Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), "
                 "'x': 1}",
                 f32_bytes));
  std::string long_header = Npy(dict("<f4", "(6,)"), f32_bytes);
  long_header[8] = '\xff';  // a header length past the end of the file
  long_header[9] = '\xff';
  WriteBytes(dir + "/header-past-end.npy", long_header);
  WriteBytes(dir + "/magic-only.npy", "\x93NUMPY");
  WriteBytes(dir + "/empty", "");
}

// PNG bytes from libpng: `channels` 1 (grey), 2 (grey+alpha), 3 (RGB) or 4
// (RGBA) of `depth` 8 or 16 bits, optionally Adam7-interlaced.
std::string Png(int width, int height, int channels, int depth,
                bool interlaced = false) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  std::string out;
  if (setjmp(png_jmpbuf(png))) {
    Check(absl::InternalError("libpng failed"), "png");
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))
            ->append(reinterpret_cast<const char*>(data), n);
      },
      [](png_structp) {});
  const int color = channels == 1   ? PNG_COLOR_TYPE_GRAY
                    : channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
                    : channels == 3 ? PNG_COLOR_TYPE_RGB
                                    : PNG_COLOR_TYPE_RGBA;
  png_set_IHDR(png, info, width, height, depth, color,
               interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const size_t row_bytes = static_cast<size_t>(width) * channels * depth / 8;
  std::vector<std::vector<png_byte>> rows(height,
                                          std::vector<png_byte>(row_bytes));
  std::vector<png_bytep> pointers;
  for (int y = 0; y < height; ++y) {
    for (size_t x = 0; x < row_bytes; ++x) {
      rows[y][x] = static_cast<png_byte>((x * 37 + y * 91) & 0xff);
    }
    pointers.push_back(rows[y].data());
  }
  png_write_image(png, pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

// A palette PNG, which readers expand to RGB first.
std::string PalettePng() {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  std::string out;
  if (setjmp(png_jmpbuf(png))) {
    Check(absl::InternalError("libpng failed"), "palette png");
  }
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep data, png_size_t n) {
        static_cast<std::string*>(png_get_io_ptr(p))
            ->append(reinterpret_cast<const char*>(data), n);
      },
      [](png_structp) {});
  png_set_IHDR(png, info, 4, 4, 2, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color palette[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {255, 255, 255}};
  png_set_PLTE(png, info, palette, 4);
  png_write_info(png, info);
  png_byte rows[4][1] = {{0x1b}, {0xe4}, {0x55}, {0xaa}};
  for (auto& row : rows) png_write_row(png, row);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

// JPEG bytes from libjpeg: grey (1 component) or RGB (3), optionally
// progressive.
std::string Jpeg(int width, int height, int components,
                 bool progressive = false) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 75, TRUE);
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<JSAMPLE> row(static_cast<size_t>(width) * components);
  while (cinfo.next_scanline < cinfo.image_height) {
    for (size_t x = 0; x < row.size(); ++x) {
      row[x] = static_cast<JSAMPLE>((x * 29 + cinfo.next_scanline * 53) & 0xff);
    }
    JSAMPROW pointer = row.data();
    jpeg_write_scanlines(&cinfo, &pointer, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  jpeg_destroy_compress(&cinfo);
  std::free(buffer);
  return out;
}

// Sets a PNG's IHDR width and height and fixes the chunk's crc, so that
// only the size is wrong.
std::string WithPngSize(std::string png, uint32_t width, uint32_t height) {
  // Signature (8), length (4), "IHDR" (4), then width and height.
  png.replace(16, 4, Be32(width));
  png.replace(20, 4, Be32(height));
  const uint32_t crc = static_cast<uint32_t>(crc32(
      0, reinterpret_cast<const Bytef*>(png.data() + 12), 4 + 13));
  png.replace(29, 4, Be32(crc));
  return png;
}

void WriteImageSeeds(const std::string& dir) {
  const std::string gray = Png(7, 5, 1, 8);
  WriteBytes(dir + "/gray8.png", gray);
  WriteBytes(dir + "/gray16.png", Png(4, 3, 1, 16));
  WriteBytes(dir + "/gray-alpha.png", Png(3, 3, 2, 8));
  WriteBytes(dir + "/rgb8.png", Png(5, 4, 3, 8));
  WriteBytes(dir + "/rgba16.png", Png(2, 2, 4, 16));
  WriteBytes(dir + "/interlaced.png", Png(9, 9, 1, 8, /*interlaced=*/true));
  WriteBytes(dir + "/palette.png", PalettePng());
  WriteBytes(dir + "/truncated.png", gray.substr(0, gray.size() - 20));
  WriteBytes(dir + "/huge.png", WithPngSize(gray, 0x7fffffff, 0x7fffffff));
  WriteBytes(dir + "/lying-size.png", WithPngSize(gray, 700, 500));
  const std::string jpeg = Jpeg(8, 8, 1);
  WriteBytes(dir + "/gray.jpg", jpeg);
  WriteBytes(dir + "/rgb.jpg", Jpeg(16, 8, 3));
  WriteBytes(dir + "/progressive.jpg", Jpeg(8, 16, 3, /*progressive=*/true));
  WriteBytes(dir + "/truncated.jpg", jpeg.substr(0, jpeg.size() / 2));
  std::string pgm = "P5\n4 3\n255\n";
  for (int i = 0; i < 12; ++i) pgm += static_cast<char>(i * 20);
  WriteBytes(dir + "/binary.pgm", pgm);
  WriteBytes(dir + "/ascii.pgm", "P2\n# a comment\n3 2\n15\n0 5 10\n15 7 3\n");
  std::string pgm16 = "P5 2 2 65535\n";
  pgm16 += std::string("\x00\x01\xff\xff\x80\x00\x12\x34", 8);
  WriteBytes(dir + "/sixteen-bit.pgm", pgm16);
  WriteBytes(dir + "/rgb.ppm",
             std::string("P6 2 1 255\n\xff\x00\x00\x00\x80\xff", 17));
  WriteBytes(dir + "/huge.pgm", "P5 100000 100000 255\n\x01\x02");
  WriteBytes(dir + "/truncated.pgm", pgm.substr(0, pgm.size() - 3));
  WriteBytes(dir + "/zero-size.pgm", "P5 0 0 255\n");
  WriteBytes(dir + "/empty", "");
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR (e.g. $PWD/tests/fuzz/corpus)\n",
                 argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  nabla::MakeDir(out);
  for (const char* target :
       {"idx", "graph_def_text", "graph_def_binary", "checkpoint", "npy",
        "image"}) {
    nabla::MakeDir(out + "/" + target);
  }
  nabla::WriteIdxSeeds(out + "/idx");
  nabla::WriteGraphSeeds(out + "/graph_def_text", out + "/graph_def_binary");
  nabla::WriteCheckpointSeeds(out + "/checkpoint");
  nabla::WriteNpySeeds(out + "/npy");
  nabla::WriteImageSeeds(out + "/image");
  std::printf("make_corpus: wrote the seed corpora under %s\n", out.c_str());
  return 0;
}
