// Tests of train/augment: the generator, the warps against plain loops,
// reproducibility and thread-count independence.

#include "train/augment.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

// u8 images whose pixels are a hash of their position, so that any
// misplaced pixel shows.
Tensor PatternImages(const Shape& shape, uint32_t salt = 0) {
  Tensor t(DType::kU8, shape);
  uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u + salt * 40503u;
    p[i] = static_cast<uint8_t>((h >> 13) ^ (h >> 7));
  }
  return t;
}

Tensor ToFloat(const Tensor& u8) {
  Tensor t(DType::kF32, u8.shape());
  for (int64_t i = 0; i < u8.num_elements(); ++i) {
    t.data<float>()[i] = u8.data<uint8_t>()[i] / 255.0f;
  }
  return t;
}

TEST(PhiloxTest, Random123KnownAnswers) {
  using Block = std::array<uint32_t, 4>;
  EXPECT_EQ(Philox4x32({0, 0, 0, 0}, {0, 0}),
            (Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(Philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                       {0xffffffff, 0xffffffff}),
            (Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(Philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                       {0xa4093822, 0x299f31d0}),
            (Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(AugmentTest, IdentityOptionsGiveIdenticalImages) {
  AugmentOptions options;
  options.seed = 1234;
  for (const Tensor& images :
       {PatternImages({5, 2, 7, 9}), ToFloat(PatternImages({3, 6, 6})),
        PatternImages({4, 1, 28, 28})}) {
    Tensor out(images.dtype(), images.shape());
    NABLA_ASSERT_OK(AugmentImages(images, options, /*epoch=*/3, &out));
    EXPECT_TRUE(out.BitwiseEquals(images)) << images.DebugString();
  }
}

TEST(AugmentTest, IdentityWarpCopiesEvenNonFiniteNeighbours) {
  std::vector<float> src = {1, NAN, INFINITY, -2, 5, 6};
  std::vector<float> dst(6, -1);
  WarpImage(src.data(), 2, 3, AffineTransform(), nullptr, nullptr, dst.data());
  EXPECT_EQ(dst[0], 1);
  EXPECT_TRUE(std::isnan(dst[1]));
  EXPECT_EQ(dst[2], INFINITY);
  EXPECT_EQ(dst[3], -2);
  EXPECT_EQ(dst[5], 6);
}

TEST(AugmentTest, WholePixelShiftMovesPixelsExactly) {
  const int64_t h = 7, w = 9;
  const Tensor image = PatternImages({1, 1, h, w});
  const uint8_t* in = image.data<uint8_t>();
  for (auto [kx, ky] : {std::make_pair(2, 0), std::make_pair(0, -3),
                        std::make_pair(-4, 1), std::make_pair(3, 3)}) {
    ImageTransform t;
    t.shift_x = kx;
    t.shift_y = ky;
    std::vector<uint8_t> out(h * w, 77);
    WarpImage(in, h, w, SourceMapping(t, h, w), nullptr, nullptr, out.data());
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sx = x - kx, sy = y - ky;
        const bool inside = sx >= 0 && sx < w && sy >= 0 && sy < h;
        EXPECT_EQ(out[y * w + x], inside ? in[sy * w + sx] : 0)
            << "shift (" << kx << ", " << ky << ") at (" << x << ", " << y
            << ")";
      }
    }
  }
}

TEST(AugmentTest, HalfPixelShiftAveragesNeighbours) {
  std::vector<float> src = {0, 2, 4, 8};  // one row
  ImageTransform t;
  t.shift_x = 0.5;
  std::vector<float> dst(4);
  WarpImage(src.data(), 1, 4, SourceMapping(t, 1, 4), nullptr, nullptr,
            dst.data());
  // Output x samples source x - 0.5; left of pixel 0 reads 0.
  EXPECT_EQ(dst, (std::vector<float>{0, 1, 3, 6}));
}

TEST(AugmentTest, RotationBy90DegreesMatchesAPlainLoop) {
  const int64_t n = 8;
  const Tensor image = PatternImages({1, 1, n, n});
  const Tensor image_f = ToFloat(image);
  ImageTransform t;
  t.rotation_degrees = 90;
  const AffineTransform m = SourceMapping(t, n, n);
  std::vector<uint8_t> out(n * n);
  std::vector<float> out_f(n * n);
  WarpImage(image.data<uint8_t>(), n, n, m, nullptr, nullptr, out.data());
  WarpImage(image_f.data<float>(), n, n, m, nullptr, nullptr, out_f.data());
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      // Counter-clockwise as displayed: the top row becomes the left
      // column, read upwards.
      EXPECT_EQ(out[r * n + c], image.data<uint8_t>()[c * n + (n - 1 - r)]);
      EXPECT_NEAR(out_f[r * n + c], image_f.data<float>()[c * n + (n - 1 - r)],
                  1e-6);
    }
  }
  // -90 turns it back.
  t.rotation_degrees = -90;
  std::vector<uint8_t> back(n * n);
  WarpImage(out.data(), n, n, SourceMapping(t, n, n), nullptr, nullptr,
            back.data());
  EXPECT_EQ(back, std::vector<uint8_t>(image.data<uint8_t>(),
                                       image.data<uint8_t>() + n * n));
}

TEST(AugmentTest, RotationBy180DegreesOfARectangle) {
  const int64_t h = 5, w = 8;
  const Tensor image = PatternImages({1, 1, h, w});
  ImageTransform t;
  t.rotation_degrees = 180;
  std::vector<uint8_t> out(h * w);
  WarpImage(image.data<uint8_t>(), h, w, SourceMapping(t, h, w), nullptr,
            nullptr, out.data());
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      EXPECT_EQ(out[y * w + x],
                image.data<uint8_t>()[(h - 1 - y) * w + (w - 1 - x)]);
    }
  }
}

TEST(AugmentTest, ScalingByTwoAboutTheCentre) {
  // One row of 5 pixels, centre 2: output x samples (x - 2) / 2 + 2.
  std::vector<uint8_t> src = {10, 20, 30, 40, 50};
  ImageTransform t;
  t.scale = 2;
  std::vector<uint8_t> dst(5);
  WarpImage(src.data(), 1, 5, SourceMapping(t, 1, 5), nullptr, nullptr,
            dst.data());
  EXPECT_EQ(dst, (std::vector<uint8_t>{20, 25, 30, 35, 40}));
  // Halving samples 2 * (x - 2) + 2: the ends fall outside.
  t.scale = 0.5;
  WarpImage(src.data(), 1, 5, SourceMapping(t, 1, 5), nullptr, nullptr,
            dst.data());
  EXPECT_EQ(dst, (std::vector<uint8_t>{0, 10, 30, 50, 0}));
}

TEST(AugmentTest, DisplacementFieldAddsToTheSourcePosition) {
  const int64_t h = 4, w = 6;
  const Tensor image = PatternImages({1, 1, h, w});
  std::vector<float> dx(h * w, 1.0f), dy(h * w, -2.0f);
  std::vector<uint8_t> out(h * w);
  WarpImage(image.data<uint8_t>(), h, w, AffineTransform(), dx.data(),
            dy.data(), out.data());
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const int64_t sx = x + 1, sy = y - 2;
      const bool inside = sx < w && sy >= 0;
      EXPECT_EQ(out[y * w + x], inside ? image.data<uint8_t>()[sy * w + sx] : 0);
    }
  }
}

TEST(AugmentTest, RoundsU8ToNearest) {
  std::vector<uint8_t> src = {0, 255, 3, 4};
  ImageTransform t;
  t.shift_x = 0.5;
  std::vector<uint8_t> dst(4);
  WarpImage(src.data(), 1, 4, SourceMapping(t, 1, 4), nullptr, nullptr,
            dst.data());
  // 0.5 * 0, 0.5 * (0 + 255) = 127.5 -> 128, (255 + 3) / 2, (3 + 4) / 2.
  EXPECT_EQ(dst, (std::vector<uint8_t>{0, 128, 129, 4}));
}

AugmentOptions Everything(uint64_t seed = 7) {
  AugmentOptions options;
  options.max_shift_pixels = 2.5;
  options.max_rotation_degrees = 15;
  options.scale_range = 0.1;
  options.elastic_alpha = 8;
  options.elastic_sigma = 3;
  options.seed = seed;
  return options;
}

Tensor Augmented(const Tensor& images, const AugmentOptions& options,
                 int64_t epoch, int threads = 1) {
  Tensor out(images.dtype(), images.shape());
  absl::Status status = AugmentImages(images, options, epoch, &out, threads);
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

// Image `i` of a batch as a tensor of its own.
Tensor Row(const Tensor& batch, int64_t i) {
  const int64_t row = batch.nbytes() / batch.shape()[0];
  Tensor t(batch.dtype(), batch.shape().WithDim(0, 1));
  std::memcpy(t.raw_data(), static_cast<const char*>(batch.raw_data()) + i * row,
              row);
  return t;
}

TEST(AugmentTest, AffineDrawIsTheDocumentedWarp) {
  AugmentOptions options = Everything();
  options.elastic_alpha = 0;
  const Tensor images = PatternImages({6, 2, 10, 12});
  const Tensor out = Augmented(images, options, 4);
  for (int64_t n = 0; n < 6; ++n) {
    const AffineTransform m =
        SourceMapping(DrawTransform(options, 4, n), 10, 12);
    for (int64_t c = 0; c < 2; ++c) {
      const int64_t offset = (n * 2 + c) * 120;
      std::vector<uint8_t> expected(120);
      WarpImage(images.data<uint8_t>() + offset, 10, 12, m, nullptr, nullptr,
                expected.data());
      EXPECT_EQ(std::vector<uint8_t>(out.data<uint8_t>() + offset,
                                     out.data<uint8_t>() + offset + 120),
                expected)
          << "image " << n << " channel " << c;
    }
  }
}

TEST(AugmentTest, DrawsStayInTheirRanges) {
  const AugmentOptions options = Everything();
  double lo_shift = 0, hi_shift = 0, lo_rot = 0, hi_rot = 0, lo_scale = 1,
         hi_scale = 1;
  for (int64_t i = 0; i < 2000; ++i) {
    ImageTransform t = DrawTransform(options, 1, i);
    for (double s : {t.shift_x, t.shift_y}) {
      lo_shift = std::min(lo_shift, s);
      hi_shift = std::max(hi_shift, s);
    }
    lo_rot = std::min(lo_rot, t.rotation_degrees);
    hi_rot = std::max(hi_rot, t.rotation_degrees);
    lo_scale = std::min(lo_scale, t.scale);
    hi_scale = std::max(hi_scale, t.scale);
  }
  EXPECT_GE(lo_shift, -2.5);
  EXPECT_LT(lo_shift, -2.4);
  EXPECT_LE(hi_shift, 2.5);
  EXPECT_GT(hi_shift, 2.4);
  EXPECT_GE(lo_rot, -15);
  EXPECT_LT(lo_rot, -14.5);
  EXPECT_LE(hi_rot, 15);
  EXPECT_GT(hi_rot, 14.5);
  EXPECT_GE(lo_scale, 0.9);
  EXPECT_LT(lo_scale, 0.905);
  EXPECT_LE(hi_scale, 1.1);
  EXPECT_GT(hi_scale, 1.095);
}

TEST(AugmentTest, SameSeedEpochAndIndexSameImages) {
  const Tensor images = PatternImages({12, 1, 16, 16});
  for (bool elastic : {false, true}) {
    AugmentOptions options = Everything();
    if (!elastic) options.elastic_alpha = 0;
    const Tensor a = Augmented(images, options, 2);
    EXPECT_TRUE(Augmented(images, options, 2).BitwiseEquals(a));
    EXPECT_FALSE(a.BitwiseEquals(images));
    // Another epoch or seed: every image differs.
    AugmentOptions other_seed = options;
    other_seed.seed = 8;
    for (const Tensor& other :
         {Augmented(images, options, 3), Augmented(images, other_seed, 2)}) {
      for (int64_t i = 0; i < 12; ++i) {
        EXPECT_FALSE(Row(other, i).BitwiseEquals(Row(a, i)))
            << "image " << i << (elastic ? " (elastic)" : "");
      }
    }
  }
}

TEST(AugmentTest, AnImageDependsOnlyOnItsIndex) {
  // Images 0-9 of a batch of 10 are warped as in a batch of 20 whose first
  // ten are the same: nothing about one image leaks into another's draws.
  const Tensor small = PatternImages({10, 1, 12, 12});
  Tensor big(DType::kU8, Shape({20, 1, 12, 12}));
  std::memcpy(big.raw_data(), small.raw_data(), small.nbytes());
  const Tensor a = Augmented(small, Everything(), 5);
  const Tensor b = Augmented(big, Everything(), 5);
  EXPECT_EQ(std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()), 0);
}

TEST(AugmentTest, ThreadCountDoesNotMatter) {
  for (const Tensor& images :
       {PatternImages({37, 1, 14, 14}), ToFloat(PatternImages({37, 3, 9, 11}))}) {
    const Tensor one = Augmented(images, Everything(), 6, 1);
    for (int threads : {2, 3, 8, 64}) {
      EXPECT_TRUE(Augmented(images, Everything(), 6, threads).BitwiseEquals(one))
          << images.DebugString() << " on " << threads << " threads";
    }
  }
}

TEST(AugmentTest, ElasticDistortionIsSmoothAndBounded) {
  // A ramp along x distorted elastically only: a smooth field moves
  // neighbouring pixels alike, so the ramp stays nearly monotonic rows
  // while pixels do move.
  const int64_t n = 28;
  Tensor ramp(DType::kF32, Shape({1, 1, n, n}));
  for (int64_t y = 0; y < n; ++y) {
    for (int64_t x = 0; x < n; ++x) ramp.data<float>()[y * n + x] = x;
  }
  AugmentOptions options;
  options.elastic_alpha = 34;
  options.elastic_sigma = 4;
  options.seed = 3;
  const Tensor out = Augmented(ramp, options, 1);
  double moved = 0, largest_step = 0;
  // Away from the borders, where sampling outside reads 0.
  for (int64_t y = 4; y < n - 4; ++y) {
    for (int64_t x = 4; x < n - 4; ++x) {
      const float v = out.data<float>()[y * n + x];
      moved = std::max<double>(moved, std::abs(v - x));
      if (x > 4) {
        largest_step = std::max<double>(
            largest_step, std::abs(v - out.data<float>()[y * n + x - 1]));
      }
    }
  }
  EXPECT_GT(moved, 0.5);
  // Neighbours are displaced alike: one column further never jumps far.
  EXPECT_LT(largest_step, 3);
}

TEST(AugmentTest, RejectsBadOptions) {
  const Tensor images = PatternImages({2, 1, 4, 4});
  Tensor out(DType::kU8, images.shape());
  auto with = [](auto change) {
    AugmentOptions options;
    change(options);
    return options;
  };
  EXPECT_THAT(AugmentImages(images, with([](AugmentOptions& o) {
                              o.max_shift_pixels = -1;
                            }),
                            1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_shift_pixels")));
  EXPECT_THAT(AugmentImages(images, with([](AugmentOptions& o) {
                              o.max_rotation_degrees = 181;
                            }),
                            1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at most 180")));
  EXPECT_THAT(AugmentImages(images, with([](AugmentOptions& o) {
                              o.scale_range = 1;
                            }),
                            1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("scale_range")));
  EXPECT_THAT(AugmentImages(images, with([](AugmentOptions& o) {
                              o.elastic_alpha = NAN;
                            }),
                            1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("elastic_alpha")));
  EXPECT_THAT(AugmentImages(images, with([](AugmentOptions& o) {
                              o.elastic_alpha = 1;
                              o.elastic_sigma = 0;
                            }),
                            1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("elastic_sigma")));
}

TEST(AugmentTest, RejectsBadTensors) {
  const Tensor images = PatternImages({2, 1, 4, 4});
  Tensor out(DType::kU8, images.shape());
  AugmentOptions options;
  EXPECT_THAT(AugmentImages(images, options, -1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("epoch -1")));
  Tensor labels(DType::kI32, Shape({2, 1, 4, 4}));
  EXPECT_THAT(AugmentImages(labels, options, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("u8 or f32 images")));
  EXPECT_THAT(AugmentImages(PatternImages({2, 16}), options, 1, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("u8 or f32 images")));
  Tensor wrong(DType::kU8, Shape({2, 1, 4, 5}));
  EXPECT_THAT(AugmentImages(images, options, 1, &wrong),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("output must be u8[2,1,4,4]")));
  EXPECT_THAT(AugmentImages(images, options, 1, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("null")));
  Tensor same = images;
  EXPECT_THAT(AugmentImages(images, options, 1, &same),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("write over")));
  EXPECT_THAT(AugmentImages(images, options, 1, &out, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("threads")));
}

// tests/augment/augment.golden, written by make_augment_golden.py from an
// independent Python version (its own Philox, numpy's Gaussian filter,
// PyTorch's grid_sample for the bilinear sampling).
TEST(AugmentTest, MatchesTheTorchGolden) {
  std::ifstream in("tests/augment/augment.golden");
  ASSERT_TRUE(in.good()) << "tests/augment/augment.golden is missing";
  std::string header;
  int cases = 0;
  while (std::getline(in, header)) {
    std::istringstream fields(header);
    std::string word, name;
    int64_t n, c, h, w;
    AugmentOptions options;
    int64_t epoch;
    fields >> word >> name >> n >> c >> h >> w >> options.max_shift_pixels >>
        options.max_rotation_degrees >> options.scale_range >>
        options.elastic_alpha >> options.elastic_sigma >> options.seed >> epoch;
    ASSERT_EQ(word, "case");
    ASSERT_FALSE(fields.fail()) << header;
    Tensor images(DType::kF32, Shape({n, c, h, w}));
    std::vector<float> expected(n * c * h * w);
    for (float* values : {images.data<float>(), expected.data()}) {
      std::string line;
      ASSERT_TRUE(std::getline(in, line));
      std::istringstream numbers(line);
      for (int64_t i = 0; i < images.num_elements(); ++i) numbers >> values[i];
      ASSERT_FALSE(numbers.fail()) << name;
    }
    const Tensor out = Augmented(images, options, epoch, /*threads=*/2);
    double worst = 0;
    for (int64_t i = 0; i < images.num_elements(); ++i) {
      worst = std::max<double>(worst, std::abs(out.data<float>()[i] - expected[i]));
    }
    EXPECT_LT(worst, 1e-5) << name;
    ++cases;
  }
  EXPECT_EQ(cases, 3);
}

}  // namespace
}  // namespace nabla
