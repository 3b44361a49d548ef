#include "train/idx.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/file.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::HasSubstr;

// An IDX file of unsigned bytes: magic, big-endian dims, data.
std::string Idx(const std::vector<uint32_t>& dims,
                const std::vector<uint8_t>& data, uint8_t type = 0x08) {
  std::string out = {0, 0, static_cast<char>(type),
                     static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((d >> shift) & 0xff));
    }
  }
  out.append(data.begin(), data.end());
  return out;
}

void WritePlain(const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
}

void WriteGzipped(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), bytes.size()),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

// Three 2x3 images whose pixels count up from 0, 100 and 250.
std::vector<uint8_t> ImagePixels() {
  std::vector<uint8_t> pixels;
  for (int start : {0, 100, 250}) {
    for (int i = 0; i < 6; ++i) pixels.push_back(start + i);
  }
  return pixels;
}

const std::vector<uint8_t> kLabels = {7, 0, 9};

class IdxFormatTest : public ::testing::TestWithParam<bool> {
 protected:
  // Writes `bytes` plainly or gzipped, as the parameter says, and returns
  // the path.
  std::string Write(const std::string& name, const std::string& bytes) {
    std::string path = absl::StrCat(TestDir(), "/", name,
                                    GetParam() ? ".gz" : "");
    if (GetParam()) {
      WriteGzipped(path, bytes);
    } else {
      WritePlain(path, bytes);
    }
    return path;
  }
};

TEST_P(IdxFormatTest, ReadsImages) {
  std::string path = Write("images", Idx({3, 2, 3}, ImagePixels()));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor images, ReadIdxImages(path));
  EXPECT_EQ(images.dtype(), DType::kF32);
  EXPECT_EQ(images.shape(), Shape({3, 1, 2, 3}));
  std::vector<uint8_t> pixels = ImagePixels();
  for (size_t i = 0; i < pixels.size(); ++i) {
    EXPECT_EQ(images.data<float>()[i], pixels[i] / 255.0f) << i;
  }
  EXPECT_EQ(images.data<float>()[17], 1.0f);  // 255
}

TEST_P(IdxFormatTest, ReadsLabels) {
  std::string path = Write("labels", Idx({3}, kLabels));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor labels, ReadIdxLabels(path));
  EXPECT_EQ(labels.dtype(), DType::kI32);
  EXPECT_EQ(labels.shape(), Shape({3}));
  EXPECT_EQ(labels.data<int32_t>()[0], 7);
  EXPECT_EQ(labels.data<int32_t>()[1], 0);
  EXPECT_EQ(labels.data<int32_t>()[2], 9);
}

TEST_P(IdxFormatTest, TruncatedData) {
  std::vector<uint8_t> pixels = ImagePixels();
  pixels.resize(pixels.size() - 4);
  std::string path = Write("images", Idx({3, 2, 3}, pixels));
  EXPECT_THAT(ReadIdxImages(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("declares 18 bytes of data for shape "
                                 "[3,2,3] but only 14 follow")));
}

TEST_P(IdxFormatTest, TruncatedHeader) {
  std::string path = Write("images", Idx({3, 2, 3}, {}).substr(0, 9));
  EXPECT_THAT(ReadIdxImages(path), StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("inside its header")));
}

TEST_P(IdxFormatTest, DataPastTheDeclaredEnd) {
  std::string path = Write("labels", Idx({2}, kLabels));
  EXPECT_THAT(ReadIdxLabels(path), StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("data past the 2 bytes")));
}

TEST_P(IdxFormatTest, BadMagic) {
  std::string bytes = Idx({3}, kLabels);
  bytes[0] = 0x1f;
  std::string path = Write("labels", bytes);
  EXPECT_THAT(ReadIdxLabels(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not an IDX file: it starts with "
                                 "0x1f000801")));
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzipped, IdxFormatTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Gzipped" : "Plain";
                         });

TEST(IdxTest, MissingFile) {
  EXPECT_THAT(ReadIdxImages(TestDir() + "/absent"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent")));
}

TEST(IdxTest, UnsupportedElementType) {
  std::string path = TestDir() + "/floats";
  WritePlain(path, Idx({1}, {0, 0, 0, 0}, 0x0d));
  EXPECT_THAT(ReadIdx(path), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("IDX type 0x0d")));
}

TEST(IdxTest, AbsurdDimensionsAreRefusedBeforeAllocating) {
  std::string path = TestDir() + "/huge";
  // 4 billion images of 4 billion pixels squared, in a 16-byte file.
  WritePlain(path, Idx({0xffffffff, 0xffffffff, 0xffffffff}, {}));
  EXPECT_THAT(ReadIdxImages(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than the limit of")));
}

TEST(IdxTest, LargeClaimWithinTheLimitCostsOnlyWhatArrives) {
  // 200 million bytes claimed, 18 present: the reader reports truncation
  // after reading what is there rather than allocating the claim up front.
  std::string path = TestDir() + "/liar";
  WritePlain(path, Idx({200000000}, ImagePixels()));
  EXPECT_THAT(ReadIdxLabels(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("but only 18 follow")));
}

TEST(IdxTest, ImagesNeedThreeDimensions) {
  std::string path = TestDir() + "/labels";
  WritePlain(path, Idx({3}, kLabels));
  EXPECT_THAT(ReadIdxImages(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("images need 3 dimensions")));
}

TEST(IdxTest, LabelOutOfRange) {
  std::string path = TestDir() + "/labels";
  WritePlain(path, Idx({3}, {1, 10, 2}));
  EXPECT_THAT(ReadIdxLabels(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("label 10 of example 1")));
  // A configurable class count: 3 classes reject label 9.
  WritePlain(path, Idx({3}, kLabels));
  IdxOptions options;
  options.num_classes = 3;
  EXPECT_THAT(ReadIdxLabels(path, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("out of range [0, 3)")));
}

TEST(IdxTest, CorruptGzip) {
  std::string path = TestDir() + "/labels.gz";
  WriteGzipped(path, Idx({3}, kLabels));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFile(path));
  // Damage the deflate stream after the 10-byte gzip header.
  for (size_t i = 10; i < bytes.size() - 8; ++i) bytes[i] ^= 0x5a;
  WritePlain(path, bytes);
  EXPECT_THAT(ReadIdxLabels(path),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST(LoadMnistTest, ReadsPlainAndGzippedFiles) {
  std::string dir = TestDir();
  WriteGzipped(dir + "/t10k-images-idx3-ubyte.gz", Idx({3, 2, 3}, ImagePixels()));
  WritePlain(dir + "/t10k-labels-idx1-ubyte", Idx({3}, kLabels));
  NABLA_ASSERT_OK_AND_ASSIGN(MnistData data, LoadMnist(dir, "t10k"));
  EXPECT_EQ(data.images.shape(), Shape({3, 1, 2, 3}));
  EXPECT_EQ(data.labels.shape(), Shape({3}));
  EXPECT_EQ(data.labels.data<int32_t>()[2], 9);
}

TEST(LoadMnistTest, MissingFileNamesBothCandidates) {
  std::string dir = TestDir();
  WritePlain(dir + "/train-images-idx3-ubyte", Idx({3, 2, 3}, ImagePixels()));
  EXPECT_THAT(LoadMnist(dir, "train"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("train-labels-idx1-ubyte.gz")));
}

TEST(LoadMnistTest, CountMismatch) {
  std::string dir = TestDir();
  WritePlain(dir + "/train-images-idx3-ubyte", Idx({3, 2, 3}, ImagePixels()));
  WritePlain(dir + "/train-labels-idx1-ubyte", Idx({2}, {1, 2}));
  EXPECT_THAT(LoadMnist(dir, "train"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("holds 3 images but")));
}

TEST(LoadMnistTest, EmptyPrefix) {
  EXPECT_THAT(LoadMnist(TestDir(), ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("file prefix")));
}

}  // namespace
}  // namespace nabla
