// The IDX reader on cut, damaged, appended-to and concatenated gzip
// streams, and on paths that are not files.

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "core/file.h"
#include "tests/test_util.h"
#include "train/idx.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::AllOf;
using ::testing::HasSubstr;

// A [count] label file of unsigned bytes.
std::string Labels(const std::vector<uint8_t>& labels) {
  std::string out = {0, 0, 8, 1, 0, 0, 0, static_cast<char>(labels.size())};
  out.append(labels.begin(), labels.end());
  return out;
}

// `bytes` gzipped as one member, header and trailer included.
std::string Gzip(const std::string& bytes) {
  z_stream z = {};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, bytes.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = bytes.size();
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = out.size();
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good());
}

const std::vector<uint8_t> kLabels = {3, 1, 4, 1, 5, 9, 2, 6};

TEST(IdxHardeningTest, WholeGzipStreamReads) {
  std::string path = TestDir() + "/labels.gz";
  WriteRaw(path, Gzip(Labels(kLabels)));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor labels, ReadIdxLabels(path));
  ASSERT_EQ(labels.num_elements(), 8);
  EXPECT_EQ(labels.data<int32_t>()[5], 9);
}

TEST(IdxHardeningTest, MissingOrCutTrailerIsDataLoss) {
  const std::string gz = Gzip(Labels(kLabels));
  std::string path = TestDir() + "/cut.gz";
  // The trailer is the last 8 bytes: CRC-32 then length. The data itself is
  // complete in every case, so only the trailer check can catch these.
  for (size_t cut : {8u, 4u, 1u}) {
    WriteRaw(path, gz.substr(0, gz.size() - cut));
    EXPECT_THAT(ReadIdxLabels(path),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("truncated gzip stream")))
        << cut << " trailer bytes cut";
  }
}

TEST(IdxHardeningTest, WrongTrailerIsDataLoss) {
  const std::string gz = Gzip(Labels(kLabels));
  std::string path = TestDir() + "/bad.gz";
  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x01;
  WriteRaw(path, bad_crc);
  EXPECT_THAT(ReadIdxLabels(path), StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("incorrect data check")));
  std::string bad_length = gz;
  bad_length[gz.size() - 4] ^= 0x01;
  WriteRaw(path, bad_length);
  EXPECT_THAT(ReadIdxLabels(path), StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("incorrect length check")));
}

TEST(IdxHardeningTest, BytesAfterTheLastMemberAreDataLoss) {
  const std::string gz = Gzip(Labels(kLabels));
  std::string path = TestDir() + "/junk.gz";
  // zlib's gzread skips these silently; the reader must not.
  for (const std::string& junk :
       {std::string("hello"), std::string(1, '\0'), std::string(4096, 'x'),
        std::string("\x1f\x8b but no gzip header")}) {
    WriteRaw(path, gz + junk);
    EXPECT_THAT(ReadIdxLabels(path),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr("junk.gz' has " +
                                         std::to_string(junk.size()) +
                                         " bytes after the end of its gzip"),
                               HasSubstr("not another gzip member"))))
        << junk.size() << " bytes appended";
  }
}

TEST(IdxHardeningTest, ConcatenatedMembersReadAsOneStream) {
  // `cat a.gz b.gz` is a valid gzip file that gunzip reads whole: here the
  // header and first labels in one member, the rest in a second and an
  // empty third.
  const std::string whole = Labels(kLabels);
  std::string path = TestDir() + "/members.gz";
  WriteRaw(path, Gzip(whole.substr(0, 11)) + Gzip(whole.substr(11)) + Gzip(""));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor labels, ReadIdxLabels(path));
  ASSERT_EQ(labels.num_elements(), 8);
  EXPECT_EQ(labels.data<int32_t>()[2], 4);
  EXPECT_EQ(labels.data<int32_t>()[7], 6);
  // A damaged second member is corrupt, not trailing bytes.
  std::string second = Gzip(whole.substr(11));
  second[second.size() - 8] ^= 0x01;  // its CRC
  WriteRaw(path, Gzip(whole.substr(0, 11)) + second);
  EXPECT_THAT(ReadIdxLabels(path), StatusIs(absl::StatusCode::kDataLoss,
                                            HasSubstr("incorrect data check")));
}

TEST(IdxHardeningTest, PlainFileIsReadAsItIs) {
  // Without gzip's magic a file is not inflated, and bytes past its
  // declared data are still refused.
  std::string path = TestDir() + "/plain";
  WriteRaw(path, Labels(kLabels));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor labels, ReadIdxLabels(path));
  EXPECT_EQ(labels.data<int32_t>()[0], 3);
  WriteRaw(path, Labels(kLabels) + "x");
  EXPECT_THAT(ReadIdxLabels(path),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("data past")));
}

TEST(IdxHardeningTest, DirectoryOrFifoSaysWhatItIs) {
  std::string dir = TestDir();
  WriteRaw(dir + "/train-labels-idx1-ubyte", Labels(kLabels));
  WriteRaw(dir + "/t10k-labels-idx1-ubyte", Labels(kLabels));
  ASSERT_EQ(::mkdir((dir + "/train-images-idx3-ubyte").c_str(), 0755), 0);
  EXPECT_THAT(LoadMnist(dir, "train"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("train-images-idx3-ubyte' is a directory"),
                             ::testing::Not(HasSubstr("found neither")))));
  std::string fifo = dir + "/t10k-images-idx3-ubyte.gz";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(LoadMnist(dir, "t10k"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("t10k-images-idx3-ubyte.gz' is a FIFO")));
  EXPECT_THAT(ReadIdx(fifo), StatusIs(absl::StatusCode::kInvalidArgument,
                                      HasSubstr("is a FIFO")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // Nothing at all is still NotFound naming both names.
  EXPECT_THAT(LoadMnist(dir, "other"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("found neither")));
}

}  // namespace
}  // namespace nabla
