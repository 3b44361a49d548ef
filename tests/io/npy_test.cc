// The .npy reader against files NumPy wrote (tests/io/make_npy_testdata.py),
// the writer against NumPy's bytes, round trips, and every malformed input.

#include "core/file.h"
#include "io/npy.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

std::string TestFile(const std::string& name) {
  return absl::StrCat("tests/io/testdata/npy/", name);
}

TEST(NpyTest, ReadsWhatNumpyWrote) {
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor f32, ReadNpy(TestFile("f32_2x3.npy")));
  EXPECT_EQ(f32.dtype(), DType::kF32);
  EXPECT_EQ(f32.shape(), Shape({2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f32.data<float>()[i], i * 0.5f - 1);

  NABLA_ASSERT_OK_AND_ASSIGN(Tensor f64, ReadNpy(TestFile("f64_4.npy")));
  EXPECT_EQ(f64.dtype(), DType::kF32);
  EXPECT_EQ(f64.shape(), Shape({4}));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(f64.data<float>()[i], static_cast<float>(i / 3.0));
  }

  NABLA_ASSERT_OK_AND_ASSIGN(Tensor i32, ReadNpy(TestFile("i32_3x2.npy")));
  EXPECT_EQ(i32.dtype(), DType::kI32);
  EXPECT_EQ(i32.shape(), Shape({3, 2}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(i32.data<int32_t>()[i], i - 3);

  NABLA_ASSERT_OK_AND_ASSIGN(Tensor i64, ReadNpy(TestFile("i64_5.npy")));
  EXPECT_EQ(i64.dtype(), DType::kI64);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(i64.data<int64_t>()[i], int64_t{i} << 40);

  NABLA_ASSERT_OK_AND_ASSIGN(Tensor u8, ReadNpy(TestFile("u8_2x2x2.npy")));
  EXPECT_EQ(u8.dtype(), DType::kU8);
  EXPECT_EQ(u8.shape(), Shape({2, 2, 2}));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(u8.data<uint8_t>()[i], i * 30);

  NABLA_ASSERT_OK_AND_ASSIGN(Tensor b, ReadNpy(TestFile("bool_4.npy")));
  EXPECT_EQ(b.dtype(), DType::kU8);
  EXPECT_EQ(std::string(b.data<char>(), 4), std::string("\1\0\0\1", 4));

  NABLA_ASSERT_OK_AND_ASSIGN(Tensor scalar, ReadNpy(TestFile("f32_scalar.npy")));
  EXPECT_EQ(scalar.shape(), Shape());
  EXPECT_EQ(scalar.data<float>()[0], 2.5f);

  NABLA_ASSERT_OK_AND_ASSIGN(Tensor empty, ReadNpy(TestFile("f32_0x3.npy")));
  EXPECT_EQ(empty.shape(), Shape({0, 3}));
  EXPECT_EQ(empty.num_elements(), 0);
}

TEST(NpyTest, ReadsFormatVersions2And3) {
  for (const char* name : {"f32_v2.npy", "f32_v3.npy"}) {
    NABLA_ASSERT_OK_AND_ASSIGN(Tensor t, ReadNpy(TestFile(name)));
    EXPECT_EQ(t.shape(), Shape({3})) << name;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(t.data<float>()[i], i) << name;
  }
}

TEST(NpyTest, RefusesWhatNablaCannotRepresent) {
  EXPECT_THAT(ReadNpy(TestFile("fortran.npy")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Fortran")));
  EXPECT_THAT(ReadNpy(TestFile("big_endian.npy")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("big-endian")));
  EXPECT_THAT(ReadNpy(TestFile("object.npy")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("object")));
  EXPECT_THAT(ReadNpy(TestFile("complex.npy")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'<c8'")));
  NpyLimits strict;
  strict.narrow_f64 = false;
  EXPECT_THAT(ReadNpy(TestFile("f64_4.npy"), strict),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("f64")));
}

TEST(NpyTest, WritesTheBytesNumpyWrites) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string numpy, ReadFile(TestFile("f32_2x3.npy")));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor t, ParseNpy(numpy, "f32_2x3.npy"));
  EXPECT_EQ(SerializeNpy(t), numpy);
  for (const char* name : {"i32_3x2.npy", "i64_5.npy", "u8_2x2x2.npy",
                           "f32_scalar.npy", "f32_0x3.npy"}) {
    NABLA_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFile(TestFile(name)));
    NABLA_ASSERT_OK_AND_ASSIGN(Tensor value, ParseNpy(bytes, name));
    EXPECT_EQ(SerializeNpy(value), bytes) << name;
  }
}

TEST(NpyTest, RoundTripsEveryDType) {
  std::string dir = testing::TestDir();
  std::vector<Tensor> tensors = {
      *Tensor::FromVector<float>({2, 2}, {1.5f, -0.0f, INFINITY, 1e-30f}),
      *Tensor::FromVector<int32_t>({3}, {-1, 0, 2147483647}),
      *Tensor::FromVector<int64_t>({1, 2}, {-(int64_t{1} << 62), 7}),
      *Tensor::FromVector<uint8_t>({2, 1, 2}, {0, 1, 254, 255}),
      Tensor::Scalar(3.0f),
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::string path = absl::StrCat(dir, "/t", i, ".npy");
    NABLA_ASSERT_OK(WriteNpy(tensors[i], path));
    NABLA_ASSERT_OK_AND_ASSIGN(Tensor back, ReadNpy(path));
    EXPECT_TRUE(back.BitwiseEquals(tensors[i])) << tensors[i].DebugString();
  }
  EXPECT_THAT(WriteNpy(Tensor(), absl::StrCat(dir, "/empty.npy")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

// A version 1.0 file around a header text and data of our choosing.
std::string NpyWithHeader(const std::string& header, const std::string& data) {
  std::string text = header + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(text.size() & 0xff);
  out += static_cast<char>(text.size() >> 8);
  return out + text + data;
}

TEST(NpyTest, LyingAndMalformedHeadersAreClearErrors) {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string eight(8, '\0');
  NABLA_EXPECT_OK(ParseNpy(NpyWithHeader(good, eight), "good").status());

  struct Case {
    std::string bytes;
    std::string message;
  };
  const Case cases[] = {
      {"", "not a .npy file"},
      {"PK\x03\x04 a zip file", "not a .npy file"},
      {std::string("\x93NUMPY\x04\x00", 8), "version 4.0"},
      {std::string("\x93NUMPY\x01\x00\xff\x00{", 11), "file ends first"},
      {NpyWithHeader(good, eight.substr(0, 7)), "needs 8 bytes of data but the file has 7"},
      {NpyWithHeader(good, eight + "x"), "needs 8 bytes of data but the file has 9"},
      {NpyWithHeader(
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }", eight),
       "needs 4000000 bytes of data but the file has 8"},
      {NpyWithHeader(
           "{'descr': '<f8', 'fortran_order': False, 'shape': "
           "(4294967296, 4294967296, 4294967296), }",
           eight),
       "more than"},
      {NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
                     eight),
       "overflows"},
      {NpyWithHeader("{'descr': '<f4', 'fortran_order': False}", eight), "lacks"},
      {NpyWithHeader("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                     eight),
       "appears twice"},
      {NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", eight),
       "unexpected key 'x'"},
      {NpyWithHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", eight),
       "True or False"},
      {NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", eight),
       "not a tuple"},
      {NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", eight),
       "non-negative"},
      {NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", eight),
       "text after"},
      {NpyWithHeader("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", eight),
       "malformed header"},
      {NpyWithHeader("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}", "\1\2"),
       "neither 0 nor 1"},
      {NpyWithHeader("{'descr': '<U3', 'fortran_order': False, 'shape': (2,)}", eight),
       "unsupported dtype '<U3'"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseNpy(c.bytes, "bad.npy"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::AllOf(HasSubstr("'bad.npy'"), HasSubstr(c.message))))
        << c.message;
  }
  // No newline at the end of the header.
  std::string no_newline = NpyWithHeader(good, eight);
  no_newline[10 + good.size()] = ' ';
  EXPECT_THAT(ParseNpy(no_newline, "bad.npy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("newline")));
}

TEST(NpyTest, EveryTruncationIsAnError) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFile(TestFile("f32_2x3.npy")));
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(ParseNpy(bytes.substr(0, n), "cut.npy").ok()) << n;
  }
}

TEST(NpyTest, FileErrorsNameTheFile) {
  EXPECT_THAT(ReadNpy("no/such/file.npy"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/file.npy")));
  EXPECT_THAT(ReadNpy("tests/io/testdata/npy"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
  NpyLimits small;
  small.max_file_bytes = 100;
  EXPECT_THAT(ReadNpy(TestFile("f32_2x3.npy"), small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("limit of 100")));
}

}  // namespace
}  // namespace nabla
