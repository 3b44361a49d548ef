// Decoding real image files written by other encoders (Pillow, plain text;
// tests/io/make_image_testdata.py) against the pixels they were made from,
// and every kind of bad input.

#include "core/file.h"
#include "io/image.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int kW = 5, kH = 3;

// The formulas of make_image_testdata.py.
int Grey(int i) { return (i * 17) % 256; }
int Grey16(int i) { return Grey(i) * 257 + i; }
std::array<int, 3> Rgb(int i) {
  return {(i * 40) % 256, ((255 - i * 13) % 256 + 256) % 256, (i * i * 7) % 256};
}
double Luma(std::array<int, 3> c, double max) {
  return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / max;
}

std::string TestFile(const std::string& name) {
  return absl::StrCat("tests/io/testdata/images/", name);
}

GrayImage Read(const std::string& name) {
  absl::StatusOr<GrayImage> image = ReadImage(TestFile(name));
  EXPECT_TRUE(image.ok()) << name << ": " << image.status();
  return image.value_or(GrayImage{});
}

void ExpectPixels(const std::string& name, const std::vector<double>& expected,
                  double tolerance = 1e-6) {
  GrayImage image = Read(name);
  ASSERT_EQ(image.width, kW) << name;
  ASSERT_EQ(image.height, kH) << name;
  ASSERT_EQ(image.pixels.size(), expected.size()) << name;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(image.pixels[i], expected[i], tolerance) << name << " pixel " << i;
  }
}

std::vector<double> Expected(double (*f)(int)) {
  std::vector<double> v;
  for (int i = 0; i < kW * kH; ++i) v.push_back(f(i));
  return v;
}

TEST(ImageTest, DecodesGreyAndColourPng) {
  ExpectPixels("grey8.png", Expected([](int i) { return Grey(i) / 255.0; }));
  ExpectPixels("palette.png", Expected([](int i) { return Grey(i) / 255.0; }));
  // 16 bits keep their precision: Grey16(i) differs from Grey(i) * 257.
  ExpectPixels("grey16.png", Expected([](int i) { return Grey16(i) / 65535.0; }), 1e-7);
  ExpectPixels("rgb.png", Expected([](int i) { return Luma(Rgb(i), 255); }), 1e-5);
  // Transparency shows white paper beneath.
  ExpectPixels("rgba.png", Expected([](int i) {
                 double alpha = ((i * 18) % 256) / 255.0;
                 return alpha * Luma(Rgb(i), 255) + (1 - alpha);
               }),
               1e-5);
}

TEST(ImageTest, DecodesPlainAndRawNetpbm) {
  ExpectPixels("grey8.pgm", Expected([](int i) { return Grey(i) / 255.0; }));
  ExpectPixels("grey_plain.pgm", Expected([](int i) { return Grey(i) / 255.0; }));
  ExpectPixels("rgb8.ppm", Expected([](int i) { return Luma(Rgb(i), 255); }), 1e-5);
  ExpectPixels("rgb_plain.ppm", Expected([](int i) { return Luma(Rgb(i), 255); }), 1e-5);
  ExpectPixels("grey16.pgm", Expected([](int i) { return Grey16(i) / 65535.0; }), 1e-7);
  ExpectPixels("rgb16.ppm", Expected([](int i) { return Luma(Rgb(i), 255); }), 1e-5);
  // maxval 1000 is white.
  ExpectPixels("grey_max1000.pgm", Expected([](int i) { return i * 60 / 1000.0; }), 1e-6);
}

TEST(ImageTest, DecodesGreyColourAndProgressiveJpeg) {
  // 16x16: four 8x8 blocks of one value each, which JPEG keeps within a
  // level or two.
  const int block[2][2] = {{30, 200}, {120, 250}};
  for (const char* name : {"grey.jpg", "rgb.jpg", "progressive.jpg"}) {
    GrayImage image = Read(name);
    ASSERT_EQ(image.width, 16) << name;
    ASSERT_EQ(image.height, 16) << name;
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x) {
        int v = block[y / 8][x / 8];
        double expected = std::string(name) == "grey.jpg"
                              ? v / 255.0
                              : Luma({v, 255 - v, v / 2}, 255);
        EXPECT_NEAR(image.pixels[y * 16 + x], expected, 3 / 255.0)
            << name << " at " << x << "," << y;
      }
    }
  }
}

TEST(ImageTest, EveryTruncationIsAnError) {
  for (const char* name : {"grey8.png", "rgb.png", "grey16.png", "grey.jpg", "rgb.jpg",
                           "progressive.jpg", "grey8.pgm", "grey_plain.pgm", "rgb16.ppm"}) {
    NABLA_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFile(TestFile(name)));
    NABLA_EXPECT_OK(DecodeImage(bytes).status());
    // Plain PGM ends in a newline that carries no pixel.
    const size_t whole = bytes.back() == '\n' && bytes[1] == '2' ? bytes.size() - 1
                                                                 : bytes.size();
    for (size_t n = 0; n < whole; ++n) {
      absl::StatusOr<GrayImage> cut = DecodeImage(bytes.substr(0, n));
      EXPECT_FALSE(cut.ok()) << name << " cut to " << n << " bytes";
      if (!cut.ok()) {
        EXPECT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument)
            << name << " cut to " << n << ": " << cut.status();
      }
    }
  }
}

TEST(ImageTest, BadImagesAreClearErrors) {
  EXPECT_THAT(DecodeImage(""), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("empty file")));
  EXPECT_THAT(DecodeImage("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\1\2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PNG, JPEG")));
  EXPECT_THAT(DecodeImage("GIF89a......"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a PNG, JPEG")));
  EXPECT_THAT(ReadImage(TestFile("zero.png")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("zero.png"), HasSubstr("width is zero"))));
  // Declared sizes are refused before anything is allocated for them.
  EXPECT_THAT(ReadImage(TestFile("huge.png")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("100000x100000 pixels, more than the limit")));
  EXPECT_THAT(DecodeImage("P5\n100000 100000\n255\n\x01\x02"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("100000x100000")));
  EXPECT_THAT(DecodeImage("P2 0 0 255\n"), StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(DecodeImage("P5 99999999999999999999 3 255\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(DecodeImage("P2 2 1 255\n1 300\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PGM/PPM")));
  // A JPEG whose frame header claims 60000x60000.
  NABLA_ASSERT_OK_AND_ASSIGN(std::string jpeg, ReadFile(TestFile("grey.jpg")));
  size_t sof = jpeg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpeg[sof + 5] = jpeg[sof + 7] = '\xea';
  jpeg[sof + 6] = jpeg[sof + 8] = '\x60';
  EXPECT_THAT(DecodeImage(jpeg), StatusIs(absl::StatusCode::kResourceExhausted,
                                          HasSubstr("60000x60000")));
  // Corrupt entropy-coded data is an error, not a grey patch.
  NABLA_ASSERT_OK_AND_ASSIGN(std::string corrupt, ReadFile(TestFile("rgb.jpg")));
  for (size_t i = corrupt.size() / 2; i < corrupt.size() - 2; ++i) corrupt[i] = '\xff';
  EXPECT_THAT(DecodeImage(corrupt),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JPEG")));
  // Limits are the caller's to choose.
  ImageLimits small;
  small.max_pixels = 14;
  EXPECT_THAT(ReadImage(TestFile("grey8.png"), small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("limit of 14")));
  small.max_file_bytes = 10;
  EXPECT_THAT(ReadImage(TestFile("grey8.png"), small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("limit of 10 bytes")));
}

TEST(ImageTest, FileErrorsNameTheFile) {
  EXPECT_THAT(ReadImage("no/such.png"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such.png")));
  EXPECT_THAT(ReadImage("tests/io/testdata/images"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
  EXPECT_THAT(ReadImage("tests/io/image_test.cc"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("image_test.cc"), HasSubstr("magic"))));
}

}  // namespace
}  // namespace nabla
