// Checkpoints from hostile or damaged files: every single-byte change is
// detected, a file must end exactly where its envelope does, counts are
// range-checked (and Fit never loops on an absurd one), and files that are
// not regular files are refused at once.

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "proto/checkpoint.pb.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/fit.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::AllOf;
using ::testing::HasSubstr;

// A session with a weight vector and a step counter.
std::unique_ptr<Session> MakeSession(uint64_t seed) {
  GraphBuilder b;
  b.Variable("w", Shape({3}), Initializer::Zeros());
  b.Variable("n", Shape(), Initializer::Zeros(), DType::kI64);
  auto session = Session::Create(*b.Build());
  EXPECT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*session)->variables().Assign("w", RandomTensor({3}, seed)).ok());
  return *std::move(session);
}

// Plain write, no fsync: the byte-change loop writes hundreds of files.
void WriteRaw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good());
}

std::string SavedBytes(const Session& session, const CheckpointInfo& info) {
  std::string path = TestDir() + "/saved.ckpt";
  EXPECT_TRUE(SaveCheckpoint(session, info, path).ok());
  absl::StatusOr<std::string> bytes = ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return *bytes;
}

// The envelope as libprotobuf writes it (which is how every nabla build so
// far has written checkpoints), around `payload`.
std::string Envelope(const proto::Checkpoint& payload) {
  proto::CheckpointFile file;
  file.set_payload(SerializeDeterministically(payload));
  file.set_crc32(static_cast<uint32_t>(
      crc32_z(0, reinterpret_cast<const Bytef*>(file.payload().data()),
              file.payload().size())));
  return file.SerializeAsString();
}

proto::Checkpoint PayloadOf(const std::string& file_bytes) {
  proto::CheckpointFile file;
  EXPECT_TRUE(file.ParseFromString(file_bytes));
  proto::Checkpoint payload;
  EXPECT_TRUE(payload.ParseFromString(file.payload()));
  return payload;
}

TEST(CheckpointHardeningTest, EverySingleByteChangeIsDetected) {
  auto session = MakeSession(1);
  CheckpointInfo info;
  info.step = 12;
  info.epoch = 3;
  info.metadata["optimizer"] = "adam";
  const std::string good = SavedBytes(*session, info);
  ASSERT_GT(good.size(), 50u);
  ASSERT_LT(good.size(), 400u);

  auto other = MakeSession(2);
  const Tensor before = session->variables().Find("w")->Clone();
  const std::string path = TestDir() + "/changed.ckpt";
  int detected = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0xFF}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      WriteRaw(path, bad);
      absl::StatusOr<CheckpointInfo> loaded = LoadCheckpoint(path, other.get());
      EXPECT_FALSE(loaded.ok()) << "byte " << i << " ^ " << int{mask};
      detected += !loaded.ok();
    }
  }
  EXPECT_EQ(detected, 2 * static_cast<int>(good.size()));
  // Every truncation too.
  for (size_t n = 0; n < good.size(); ++n) {
    WriteRaw(path, good.substr(0, n));
    EXPECT_THAT(LoadCheckpoint(path, other.get()),
                StatusIs(absl::StatusCode::kDataLoss, ::testing::_))
        << n << " bytes";
  }
  // None of the failed loads touched the session; the good file still loads.
  EXPECT_FALSE(other->variables().Find("w")->BitwiseEquals(before));
  WriteRaw(path, good);
  NABLA_ASSERT_OK_AND_ASSIGN(CheckpointInfo loaded, LoadCheckpoint(path, other.get()));
  EXPECT_EQ(loaded.step, 12);
  EXPECT_TRUE(other->variables().Find("w")->BitwiseEquals(before));
}

TEST(CheckpointHardeningTest, AppendedCheckpointIsDataLoss) {
  auto first = MakeSession(1), second = MakeSession(2);
  CheckpointInfo info;
  std::string a = SavedBytes(*first, info);
  info.step = 99;
  std::string b = SavedBytes(*second, info);
  std::string path = TestDir() + "/two.ckpt";
  WriteRaw(path, a + b);
  auto target = MakeSession(3);
  const Tensor before = target->variables().Find("w")->Clone();
  EXPECT_THAT(LoadCheckpoint(path, target.get()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat(b.size(),
                                              " bytes after its checksum"))));
  EXPECT_TRUE(target->variables().Find("w")->BitwiseEquals(before));
}

TEST(CheckpointHardeningTest, BytesAfterTheChecksumAreDataLoss) {
  auto session = MakeSession(1);
  std::string good = SavedBytes(*session, CheckpointInfo());
  std::string path = TestDir() + "/tail.ckpt";
  // Garbage, a zero byte, and a well-formed unknown field that a lenient
  // parser would skip.
  for (std::string tail : {std::string("x"), std::string(1, '\0'),
                           std::string("\x18\x01", 2)}) {
    WriteRaw(path, good + tail);
    EXPECT_THAT(ReadCheckpoint(path, *session),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr("after its")));
  }
  // A checksum field repeated (a lenient parser keeps the last one).
  WriteRaw(path, good + good.substr(good.size() - 5));
  EXPECT_THAT(ReadCheckpoint(path, *session),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("after its")));
}

TEST(CheckpointHardeningTest, FilesWrittenByEarlierBuildsStillLoad) {
  auto session = MakeSession(1);
  CheckpointInfo info;
  info.step = 5;
  info.epoch = 1;
  proto::Checkpoint payload = PayloadOf(SavedBytes(*session, info));
  EXPECT_EQ(payload.version(), 1);
  std::string path = TestDir() + "/v1.ckpt";
  WriteRaw(path, Envelope(payload));
  auto target = MakeSession(2);
  NABLA_ASSERT_OK_AND_ASSIGN(CheckpointInfo loaded, LoadCheckpoint(path, target.get()));
  EXPECT_EQ(loaded.step, 5);
  EXPECT_EQ(loaded.epoch, 1);
  EXPECT_TRUE(target->variables().Find("w")->BitwiseEquals(
      *session->variables().Find("w")));
}

TEST(CheckpointHardeningTest, CountsOutOfRangeAreDataLoss) {
  auto session = MakeSession(1);
  proto::Checkpoint payload = PayloadOf(SavedBytes(*session, CheckpointInfo()));
  std::string path = TestDir() + "/counts.ckpt";
  struct Case {
    int64_t step, epoch;
    const char* message;
  };
  for (const Case& c : {
           Case{0, std::numeric_limits<int64_t>::max(),
                "claims epoch 9223372036854775807, outside [0, 1000000000]"},
           Case{0, -1, "claims epoch -1"},
           Case{-5, 0, "claims step -5"},
           Case{std::numeric_limits<int64_t>::min(), 0, "claims step"},
       }) {
    payload.set_step(c.step);
    payload.set_epoch(c.epoch);
    WriteRaw(path, Envelope(payload));
    EXPECT_THAT(ReadCheckpoint(path, *session),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr(c.message)));
  }
  CheckpointInfo absurd;
  absurd.epoch = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(SaveCheckpoint(*session, absurd, path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("epoch")));
}

TEST(CheckpointHardeningTest, NonRegularFilesAndTheCapAreRefusedAtOnce) {
  auto session = MakeSession(1);
  std::string zero = TestDir() + "/zero.ckpt";
  ASSERT_EQ(::symlink("/dev/zero", zero.c_str()), 0);
  std::string fifo = TestDir() + "/fifo.ckpt";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(ReadCheckpoint(zero, *session),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is a character device")));
  EXPECT_THAT(ReadCheckpoint(fifo, *session),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a FIFO")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));

  std::string path = TestDir() + "/small.ckpt";
  NABLA_ASSERT_OK(SaveCheckpoint(*session, CheckpointInfo(), path));
  CheckpointLoadOptions options;
  options.max_file_bytes = 10;
  EXPECT_THAT(ReadCheckpoint(path, *session, options),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("limit of 10 bytes")));
}

// A one-weight regression trained with SGD, for the loop's range checks.
struct TinyModel {
  std::unique_ptr<Session> session;
  ModelSpec spec;
};

TinyModel BuildTinyModel() {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 1});
  Output y = b.Placeholder("y", {kUnknownDim, 1});
  Output w = b.Variable("w", {1}, Initializer::Constant(0.5f));
  Output error = Sub(Mul(x, w), y);
  Output loss = Mean(Mul(error, error), {}, false, "loss");
  Sgd sgd(0.1f);
  absl::StatusOr<TrainStep> step = sgd.Minimize(loss, {w});
  EXPECT_TRUE(step.ok()) << step.status();
  TinyModel model;
  model.spec.inputs = x;
  model.spec.labels = y;
  model.spec.loss = loss;
  model.spec.accuracy = NodeOutput{-1, 0};
  model.spec.train_targets = step->targets();
  auto session = Session::Create(*b.Build());
  EXPECT_TRUE(session.ok()) << session.status();
  model.session = *std::move(session);
  return model;
}

TEST(CheckpointHardeningTest, FitNeverLoopsOnAnAbsurdEpochCount) {
  TinyModel model = BuildTinyModel();
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec, 1));
  Dataset data{Tensor::Filled<float>(Shape({4, 1}), 1.0f),
               Tensor::Filled<float>(Shape({4, 1}), 2.0f)};
  FitOptions options;
  options.verbosity = Verbosity::kSilent;
  options.batch_size = 2;
  options.epochs = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(trainer->Fit(data, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("epochs must lie in [0, 1000000000]")));

  // A checkpoint at the largest epoch allowed, resumed with --epochs=1,
  // trains nothing and returns at once.
  std::string path = TestDir() + "/late.ckpt";
  CheckpointInfo info;
  info.epoch = kMaxCheckpointEpoch;
  info.step = 7;
  NABLA_ASSERT_OK(SaveCheckpoint(*model.session, info, path));
  NABLA_ASSERT_OK(trainer->RestoreCheckpoint(path));
  EXPECT_EQ(trainer->epoch(), kMaxCheckpointEpoch);
  options.epochs = 1;
  NABLA_ASSERT_OK_AND_ASSIGN(History history, trainer->Fit(data, options));
  EXPECT_EQ(history.size(), 0u);
  EXPECT_EQ(trainer->step(), 7);

  // One past it is refused, and the trainer keeps its state.
  proto::Checkpoint payload = PayloadOf(*ReadFile(path));
  payload.set_epoch(std::numeric_limits<int64_t>::max());
  WriteRaw(path, Envelope(payload));
  EXPECT_THAT(trainer->RestoreCheckpoint(path),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("epoch 9223372036854775807")));
  EXPECT_EQ(trainer->epoch(), kMaxCheckpointEpoch);
}

TEST(CheckpointHardeningTest, MetadataIsSavedByTheEpochCallbackAndRestored) {
  TinyModel model = BuildTinyModel();
  NABLA_ASSERT_OK_AND_ASSIGN(auto trainer,
                             Trainer::Create(model.session.get(), model.spec, 1));
  Dataset data{Tensor::Filled<float>(Shape({4, 1}), 1.0f),
               Tensor::Filled<float>(Shape({4, 1}), 2.0f)};
  std::string path = TestDir() + "/epoch.ckpt";
  FitOptions options;
  options.verbosity = Verbosity::kSilent;
  options.epochs = 2;
  options.callbacks = {
      SaveCheckpointEachEpoch(path, 1, {{"optimizer", "sgd"}, {"threads", "2"}})};
  NABLA_ASSERT_OK(trainer->Fit(data, options).status());
  EXPECT_TRUE(trainer->metadata().empty());
  NABLA_ASSERT_OK(trainer->RestoreCheckpoint(path));
  EXPECT_EQ(trainer->metadata().at("optimizer"), "sgd");
  EXPECT_EQ(trainer->metadata().at("threads"), "2");
  EXPECT_EQ(trainer->epoch(), 2);
}

}  // namespace
}  // namespace nabla
