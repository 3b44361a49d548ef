#include "train/checkpoint.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/file.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "graph/session.h"
#include "proto/checkpoint.pb.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::RandomTensor;
using ::nabla::testing::ListDir;
using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct VariableDef {
  std::string name;
  Shape shape;
  DType dtype = DType::kF32;
};

// A session holding the given variables, each with a value derived from
// `seed` so that two sessions made with different seeds differ everywhere.
std::unique_ptr<Session> MakeSession(const std::vector<VariableDef>& defs,
                                     uint64_t seed) {
  GraphBuilder b;
  for (const VariableDef& d : defs) {
    b.Variable(d.name, d.shape, Initializer::Zeros(), d.dtype);
  }
  absl::StatusOr<Graph> graph = b.Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(*std::move(graph));
  EXPECT_TRUE(session.ok()) << session.status();
  for (const VariableDef& d : defs) {
    Tensor value(d.dtype, d.shape);
    if (d.dtype == DType::kF32) {
      value = RandomTensor(d.shape, seed++);
    } else if (d.dtype == DType::kI64) {
      for (int64_t& x : value.flat<int64_t>()) x = static_cast<int64_t>(seed++);
    }
    EXPECT_TRUE((*session)->variables().Assign(d.name, value).ok());
  }
  return *std::move(session);
}

const std::vector<VariableDef> kModel = {
    {"dense/w", Shape({3, 4})},
    {"dense/b", Shape({4})},
    {"dense/w/adam_m", Shape({3, 4})},
    {"Adam/iterations", Shape(), DType::kI64},
};

// Copies of every variable of a session, to compare against later.
std::vector<Tensor> Snapshot(const Session& session) {
  std::vector<Tensor> values;
  for (const std::string& name : session.variables().Names()) {
    values.push_back(session.variables().Find(name)->Clone());
  }
  return values;
}

void ExpectSameValues(const Session& session,
                      const std::vector<Tensor>& expected) {
  std::vector<std::string> names = session.variables().Names();
  ASSERT_EQ(names.size(), expected.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(session.variables().Find(names[i])->BitwiseEquals(expected[i]))
        << names[i];
  }
}

CheckpointInfo SampleInfo() {
  CheckpointInfo info;
  info.step = 1407;
  info.epoch = 3;
  info.rng_state = "12345 67890 and more words";
  info.metadata = {{"model", "mlp"}, {"batch_size", "128"}};
  return info;
}

TEST(CheckpointTest, RoundTrip) {
  std::string path = TestDir() + "/model.ckpt";
  auto saved = MakeSession(kModel, 1);
  NABLA_ASSERT_OK(SaveCheckpoint(*saved, SampleInfo(), path));

  auto restored = MakeSession(kModel, 100);
  NABLA_ASSERT_OK_AND_ASSIGN(CheckpointInfo info,
                             LoadCheckpoint(path, restored.get()));
  ExpectSameValues(*restored, Snapshot(*saved));
  CheckpointInfo expected = SampleInfo();
  EXPECT_EQ(info.step, expected.step);
  EXPECT_EQ(info.epoch, expected.epoch);
  EXPECT_EQ(info.rng_state, expected.rng_state);
  EXPECT_EQ(info.metadata, expected.metadata);
}

TEST(CheckpointTest, SameStateGivesTheSameBytes) {
  std::string dir = TestDir();
  auto session = MakeSession(kModel, 1);
  NABLA_ASSERT_OK(SaveCheckpoint(*session, SampleInfo(), dir + "/a.ckpt"));
  NABLA_ASSERT_OK(SaveCheckpoint(*session, SampleInfo(), dir + "/b.ckpt"));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string a, ReadFile(dir + "/a.ckpt"));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string b, ReadFile(dir + "/b.ckpt"));
  EXPECT_EQ(a, b);
}

TEST(CheckpointTest, SaveReplacesAndLeavesNoTemporaryFile) {
  std::string dir = TestDir();
  std::string path = dir + "/model.ckpt";
  NABLA_ASSERT_OK(SaveCheckpoint(*MakeSession(kModel, 1), {}, path));
  auto second = MakeSession(kModel, 2);
  NABLA_ASSERT_OK(SaveCheckpoint(*second, SampleInfo(), path));
  EXPECT_THAT(ListDir(dir), ElementsAre("model.ckpt"));

  auto restored = MakeSession(kModel, 3);
  NABLA_ASSERT_OK(LoadCheckpoint(path, restored.get()).status());
  ExpectSameValues(*restored, Snapshot(*second));
}

TEST(CheckpointTest, SaveToAMissingDirectoryFails) {
  std::string path = TestDir() + "/no/such/dir/model.ckpt";
  EXPECT_FALSE(SaveCheckpoint(*MakeSession(kModel, 1), {}, path).ok());
}

TEST(CheckpointTest, MissingFile) {
  auto session = MakeSession(kModel, 1);
  EXPECT_THAT(LoadCheckpoint(TestDir() + "/absent.ckpt", session.get()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent.ckpt")));
}

TEST(CheckpointTest, FlippedByteIsDataLoss) {
  std::string path = TestDir() + "/model.ckpt";
  NABLA_ASSERT_OK(SaveCheckpoint(*MakeSession(kModel, 1), SampleInfo(), path));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFile(path));
  auto session = MakeSession(kModel, 2);
  std::vector<Tensor> before = Snapshot(*session);
  // Every byte of the file matters: a flip anywhere is caught, in the
  // envelope or the payload.
  for (size_t at : {size_t{0}, size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    std::string corrupt = bytes;
    corrupt[at] ^= 0x10;
    NABLA_ASSERT_OK(WriteFileAtomically(path, corrupt));
    EXPECT_THAT(LoadCheckpoint(path, session.get()),
                StatusIs(absl::StatusCode::kDataLoss, ::testing::_))
        << "flipped byte " << at;
    ExpectSameValues(*session, before);
  }
}

TEST(CheckpointTest, TruncatedFileIsDataLoss) {
  std::string path = TestDir() + "/model.ckpt";
  NABLA_ASSERT_OK(SaveCheckpoint(*MakeSession(kModel, 1), SampleInfo(), path));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string bytes, ReadFile(path));
  auto session = MakeSession(kModel, 2);
  std::vector<Tensor> before = Snapshot(*session);
  for (size_t length : {size_t{0}, size_t{3}, bytes.size() / 2,
                        bytes.size() - 6, bytes.size() - 1}) {
    NABLA_ASSERT_OK(WriteFileAtomically(path, bytes.substr(0, length)));
    EXPECT_THAT(LoadCheckpoint(path, session.get()),
                StatusIs(absl::StatusCode::kDataLoss, ::testing::_))
        << "truncated to " << length << " of " << bytes.size() << " bytes";
    ExpectSameValues(*session, before);
  }
}

TEST(CheckpointTest, MissingVariableLeavesTheSessionUnchanged) {
  std::string path = TestDir() + "/model.ckpt";
  std::vector<VariableDef> fewer(kModel.begin(), kModel.end() - 1);
  NABLA_ASSERT_OK(SaveCheckpoint(*MakeSession(fewer, 1), SampleInfo(), path));
  auto session = MakeSession(kModel, 2);
  std::vector<Tensor> before = Snapshot(*session);
  EXPECT_THAT(LoadCheckpoint(path, session.get()),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("has no variable 'Adam/iterations'")));
  ExpectSameValues(*session, before);
}

TEST(CheckpointTest, WrongShapeLeavesTheSessionUnchanged) {
  std::string path = TestDir() + "/model.ckpt";
  std::vector<VariableDef> other = kModel;
  other[1].shape = Shape({5});  // dense/b
  NABLA_ASSERT_OK(SaveCheckpoint(*MakeSession(other, 1), SampleInfo(), path));
  auto session = MakeSession(kModel, 2);
  std::vector<Tensor> before = Snapshot(*session);
  EXPECT_THAT(
      LoadCheckpoint(path, session.get()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("variable 'dense/b' is f32[4] in the session but "
                         "f32[5] in checkpoint")));
  ExpectSameValues(*session, before);
}

TEST(CheckpointTest, WrongDTypeLeavesTheSessionUnchanged) {
  std::string path = TestDir() + "/model.ckpt";
  std::vector<VariableDef> other = kModel;
  other[3].dtype = DType::kF32;  // Adam/iterations
  NABLA_ASSERT_OK(SaveCheckpoint(*MakeSession(other, 1), SampleInfo(), path));
  auto session = MakeSession(kModel, 2);
  std::vector<Tensor> before = Snapshot(*session);
  EXPECT_THAT(LoadCheckpoint(path, session.get()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variable 'Adam/iterations' is i64[] in the "
                                 "session but f32[]")));
  ExpectSameValues(*session, before);
}

TEST(CheckpointTest, UnusedVariablesAreRefusedUnlessAllowed) {
  std::string path = TestDir() + "/model.ckpt";
  auto saved = MakeSession(kModel, 1);
  NABLA_ASSERT_OK(SaveCheckpoint(*saved, SampleInfo(), path));
  // An inference graph: the weights without the optimizer's variables.
  std::vector<VariableDef> weights(kModel.begin(), kModel.begin() + 2);
  auto session = MakeSession(weights, 2);
  std::vector<Tensor> before = Snapshot(*session);
  EXPECT_THAT(LoadCheckpoint(path, session.get()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("which the session's graph does not have")));
  ExpectSameValues(*session, before);

  CheckpointLoadOptions options;
  options.allow_unused = true;
  NABLA_ASSERT_OK(LoadCheckpoint(path, session.get(), options).status());
  EXPECT_TRUE(session->variables().Find("dense/w")->BitwiseEquals(
      *saved->variables().Find("dense/w")));
}

// Writes `checkpoint` with a correct checksum, as a future version might.
void WriteEnvelope(const proto::Checkpoint& checkpoint,
                   const std::string& path) {
  proto::CheckpointFile file;
  file.set_payload(checkpoint.SerializeAsString());
  file.set_crc32(crc32(0, reinterpret_cast<const Bytef*>(file.payload().data()),
                       file.payload().size()));
  ASSERT_TRUE(WriteFileAtomically(path, file.SerializeAsString()).ok());
}

TEST(CheckpointTest, UnsupportedVersion) {
  std::string path = TestDir() + "/model.ckpt";
  proto::Checkpoint checkpoint;
  checkpoint.set_version(kCheckpointVersion + 1);
  WriteEnvelope(checkpoint, path);
  auto session = MakeSession(kModel, 1);
  EXPECT_THAT(LoadCheckpoint(path, session.get()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("has format version ",
                                              kCheckpointVersion + 1))));
}

TEST(CheckpointTest, DuplicateVariableIsDataLoss) {
  std::string path = TestDir() + "/model.ckpt";
  proto::Checkpoint checkpoint;
  checkpoint.set_version(kCheckpointVersion);
  for (int i = 0; i < 2; ++i) {
    proto::NamedTensor* entry = checkpoint.add_variables();
    entry->set_name("dense/b");
    TensorToProto(Tensor(DType::kF32, Shape({4})), entry->mutable_tensor());
  }
  WriteEnvelope(checkpoint, path);
  auto session = MakeSession(kModel, 1);
  EXPECT_THAT(LoadCheckpoint(path, session.get()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("holds variable 'dense/b' twice")));
}

TEST(CheckpointTest, ContentOfTheWrongSizeIsDataLoss) {
  // A checksum only proves the file is what was written; the tensor inside
  // must still agree with its own shape.
  std::string path = TestDir() + "/model.ckpt";
  auto saved = MakeSession(kModel, 1);
  proto::Checkpoint checkpoint;
  checkpoint.set_version(kCheckpointVersion);
  for (const std::string& name : saved->variables().Names()) {
    proto::NamedTensor* entry = checkpoint.add_variables();
    entry->set_name(name);
    TensorToProto(*saved->variables().Find(name), entry->mutable_tensor());
    if (name == "dense/b") entry->mutable_tensor()->mutable_content()->pop_back();
  }
  WriteEnvelope(checkpoint, path);
  auto session = MakeSession(kModel, 2);
  std::vector<Tensor> before = Snapshot(*session);
  EXPECT_THAT(LoadCheckpoint(path, session.get()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("'dense/b'")));
  ExpectSameValues(*session, before);
}

}  // namespace
}  // namespace nabla
