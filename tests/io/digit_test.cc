// Properties of PrepareDigit on images drawn here: the MNIST convention
// (20-pixel box, centre of mass at the centre, ink light on black) whatever
// the polarity, paper, noise, size and position, and clear errors for
// blank pages.

#include "io/digit.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

// A page of `paper` brightness with an elliptical ring of ink (a zero)
// centred at (cx, cy), radii rx, ry, stroke `pen` pixels wide.
GrayImage Ring(int w, int h, double cx, double cy, double rx, double ry, double pen,
               float paper, float ink) {
  GrayImage image{w, h, std::vector<float>(size_t(w) * h, paper)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double u = (x + 0.5 - cx) / rx, v = (y + 0.5 - cy) / ry;
      const double r = std::sqrt(u * u + v * v);
      // Distance to the ellipse, roughly, in pixels.
      if (std::abs(r - 1) * std::min(rx, ry) < pen / 2) image.pixels[size_t(y) * w + x] = ink;
    }
  }
  return image;
}

void AddRect(GrayImage* image, int x0, int y0, int x1, int y1, float value) {
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) image->pixels[size_t(y) * image->width + x] = value;
  }
}

struct Geometry {
  double cx, cy;           // centre of mass
  int x0, y0, x1, y1;      // box of the pixels over 0
  double max;
};

Geometry Measure(const MnistDigit& d) {
  Geometry g{0, 0, kMnistSide, kMnistSide, 0, 0, 0};
  double sum = 0;
  for (int y = 0; y < kMnistSide; ++y) {
    for (int x = 0; x < kMnistSide; ++x) {
      const double v = d.pixels[y * kMnistSide + x];
      if (v == 0) continue;
      sum += v, g.cx += v * (x + 0.5), g.cy += v * (y + 0.5);
      g.x0 = std::min(g.x0, x), g.y0 = std::min(g.y0, y);
      g.x1 = std::max(g.x1, x + 1), g.y1 = std::max(g.y1, y + 1);
      g.max = std::max(g.max, v);
    }
  }
  g.cx /= sum, g.cy /= sum;
  return g;
}

// Pixels (0-255) that differ by more than `tolerance`.
int Differences(const MnistDigit& a, const MnistDigit& b, int tolerance) {
  int n = 0;
  for (int i = 0; i < kMnistSide * kMnistSide; ++i) {
    n += std::abs(int{a.pixels[i]} - int{b.pixels[i]}) > tolerance;
  }
  return n;
}

void ExpectMnistGeometry(const MnistDigit& d, int expected_width = 0) {
  Geometry g = Measure(d);
  EXPECT_NEAR(g.cx, 14, 1) << "centre of mass x";
  EXPECT_NEAR(g.cy, 14, 1) << "centre of mass y";
  // The longer side is 20 pixels; anti-aliased edges may add one.
  EXPECT_GE(std::max(g.x1 - g.x0, g.y1 - g.y0), 20);
  EXPECT_LE(std::max(g.x1 - g.x0, g.y1 - g.y0), 21);
  if (expected_width > 0) {
    EXPECT_NEAR(g.x1 - g.x0, expected_width, 1);
  }
  EXPECT_EQ(g.max, 255) << "strokes are solid ink";
}

TEST(PrepareDigitTest, DarkInkOnLightPaperFollowsTheMnistConvention) {
  // Off-centre, tall: 70 wide and 110 high with its stroke, in a 300x200
  // page, so 20 * 70 / 110 = 12.7 pixels wide once scaled.
  GrayImage page = Ring(300, 200, 80, 120, 30, 50, 10, 0.9f, 0.1f);
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit d, PrepareDigit(page));
  ExpectMnistGeometry(d, /*expected_width=*/13);
  // Ink is light: the ring's centre and the frame's corners are black.
  EXPECT_EQ(d.pixels[0], 0);
  EXPECT_EQ(d.pixels[14 * kMnistSide + 14], 0);
}

TEST(PrepareDigitTest, BothPolaritiesGiveTheSameDigit) {
  GrayImage dark_on_light = Ring(120, 150, 60, 70, 25, 40, 6, 0.8f, 0.2f);
  GrayImage light_on_dark = Ring(120, 150, 60, 70, 25, 40, 6, 0.15f, 0.75f);
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit a, PrepareDigit(dark_on_light));
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit b, PrepareDigit(light_on_dark));
  ExpectMnistGeometry(a);
  EXPECT_EQ(Differences(a, b, 2), 0);
  // Without auto_invert, light on dark is taken as it is, and dark on
  // light is no digit at all but a frame of paper.
  DigitOptions as_is;
  as_is.auto_invert = false;
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit c, PrepareDigit(light_on_dark, as_is));
  EXPECT_EQ(Differences(b, c, 2), 0);
}

TEST(PrepareDigitTest, PaperGradientNoiseAndSpecksDoNotMatter) {
  GrayImage clean = Ring(200, 160, 90, 80, 30, 50, 8, 0.85f, 0.15f);
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit reference, PrepareDigit(clean));
  GrayImage photo = clean;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 0.04f);
  for (int y = 0; y < photo.height; ++y) {
    for (int x = 0; x < photo.width; ++x) {
      float& p = photo.pixels[size_t(y) * photo.width + x];
      // A light from the upper left: 0.25 brighter there than at the far corner.
      p += 0.25f * (0.5f - 0.5f * (x / 200.0f + y / 160.0f)) - 0.1f + noise(rng);
    }
  }
  // Specks of dust far from the digit, which must not widen its box.
  AddRect(&photo, 5, 5, 7, 7, 0.1f);
  AddRect(&photo, 180, 140, 182, 143, 0.1f);
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit d, PrepareDigit(photo));
  ExpectMnistGeometry(d);
  EXPECT_LT(Differences(d, reference, 64), 20);
}

TEST(PrepareDigitTest, KeepsTheAspectRatio) {
  // A filled bar 100 wide and 40 high: 20x8 once scaled, centred.
  GrayImage page{300, 200, std::vector<float>(300 * 200, 1.0f)};
  AddRect(&page, 50, 120, 150, 160, 0.0f);
  DigitOptions options;
  options.normalize_stroke_width = false;
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit d, PrepareDigit(page, options));
  Geometry g = Measure(d);
  EXPECT_EQ(g.x1 - g.x0, 20);
  EXPECT_EQ(g.y1 - g.y0, 8);
  EXPECT_NEAR(g.cx, 14, 0.05);
  EXPECT_NEAR(g.cy, 14, 0.05);
}

TEST(PrepareDigitTest, DownscalingAveragesAreas) {
  // The same ring drawn in a 2400x1800 photo and a 300x225 one: the
  // reduction averages areas, so both give nearly the same digit (picking
  // the nearest pixel would alias a fine pattern; the stripes inside the
  // large ring's stroke average out to grey ink).
  GrayImage small = Ring(300, 225, 150, 110, 40, 60, 8, 0.9f, 0.1f);
  GrayImage large = Ring(2400, 1800, 1200, 880, 320, 480, 64, 0.9f, 0.1f);
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit a, PrepareDigit(small));
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit b, PrepareDigit(large));
  ExpectMnistGeometry(b);
  EXPECT_LT(Differences(a, b, 64), 12);
}

TEST(PrepareDigitTest, StrokesAreBroughtToMnistsWidth) {
  // A hairline (1 pixel in a 400-pixel-tall digit) and a marker (60
  // pixels) both come out with MNIST-like strokes, a few pixels wide.
  for (double pen : {1.0, 60.0}) {
    GrayImage page = Ring(500, 500, 250, 250, 130, 200, pen, 0.9f, 0.1f);
    NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit d, PrepareDigit(page));
    ExpectMnistGeometry(d);
    int ink = 0;
    for (uint8_t p : d.pixels) ink += p > 127;
    // MNIST's zeros have about 100 to 180 such pixels.
    EXPECT_GT(ink, 70) << "pen " << pen;
    EXPECT_LT(ink, 200) << "pen " << pen;
  }
}

TEST(PrepareDigitTest, BlankPagesAreErrors) {
  GrayImage white{200, 150, std::vector<float>(200 * 150, 1.0f)};
  EXPECT_THAT(PrepareDigit(white),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no digit found")));
  // A photo of an empty page: uneven light and noise, but no ink.
  GrayImage photo = white;
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0, 0.03f);
  for (int y = 0; y < 150; ++y) {
    for (int x = 0; x < 200; ++x) photo.pixels[y * 200 + x] = 0.6f + 0.002f * x + noise(rng);
  }
  EXPECT_THAT(PrepareDigit(photo),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no digit found")));
  // A speck of dust is no digit either.
  AddRect(&white, 100, 70, 101, 71, 0.0f);
  EXPECT_THAT(PrepareDigit(white),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no digit found")));
  EXPECT_THAT(PrepareDigit(GrayImage{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(PrepareDigit(GrayImage{3, 3, std::vector<float>(4)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("inconsistent")));
}

TEST(PrepareDigitTest, TinyImagesWork) {
  // A digit already the size of MNIST's, on a 28x28 page.
  GrayImage page = Ring(28, 28, 14, 14, 5, 9, 2.5, 1.0f, 0.0f);
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit d, PrepareDigit(page));
  ExpectMnistGeometry(d);
}

TEST(DigitFromPixelsTest, WrapsExactly784Pixels) {
  std::vector<uint8_t> pixels(784);
  for (int i = 0; i < 784; ++i) pixels[i] = i % 256;
  NABLA_ASSERT_OK_AND_ASSIGN(MnistDigit d, DigitFromPixels(pixels.data(), 784));
  EXPECT_EQ(d.pixels[300], 300 % 256);
  EXPECT_THAT(DigitFromPixels(pixels.data(), 783),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not 783")));
  EXPECT_THAT(DigitFromPixels(nullptr, 784),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("784")));
}

}  // namespace
}  // namespace nabla
