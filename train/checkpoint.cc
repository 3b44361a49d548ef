#include "train/checkpoint.h"

#include <zlib.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "proto/checkpoint.pb.h"

namespace nabla {
namespace {

uint32_t Crc32(const std::string& bytes) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()),
                bytes.size());
  return static_cast<uint32_t>(crc);
}

// "f32[3,4]" for a serialized tensor whose dims are not trusted yet.
std::string DescribeProto(const proto::TensorProto& t) {
  DType dtype = static_cast<DType>(t.dtype());
  absl::string_view name = t.dtype() >= 0 && t.dtype() <= proto::DT_UINT8
                               ? DTypeName(dtype)
                               : absl::string_view("invalid");
  return absl::StrCat(
      name, Shape(absl::MakeConstSpan(t.dims().data(), t.dims_size()))
                .ToString());
}

// The envelope's two fields as protobuf writes them: payload (field 1,
// length-delimited), then crc32 (field 2, fixed32).
constexpr uint32_t kPayloadTag = (1 << 3) | 2;
constexpr uint32_t kCrcTag = (2 << 3) | 5;

// ParseEnvelope reads a CheckpointFile exactly: the payload, then the
// checksum (absent only when it is 0, which proto3 does not write), then
// the end of the file. Anything else, a field repeated by a second
// checkpoint appended or bytes after the checksum, is DataLoss; the
// lenient protobuf parser would take the last payload or skip the rest.
absl::Status ParseEnvelope(const std::string& contents, const std::string& path,
                           std::string* payload, uint32_t* crc) {
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("checkpoint '", path, "' ", what));
  };
  if (contents.empty()) return corrupt("is empty");
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(contents.data()),
      static_cast<int>(contents.size()));
  uint32_t length = 0;
  if (in.ReadTag() != kPayloadTag || !in.ReadVarint32(&length)) {
    return corrupt("is not a checkpoint file, or it is corrupt");
  }
  if (length > static_cast<uint64_t>(in.BytesUntilTotalBytesLimit()) ||
      !in.ReadString(payload, static_cast<int>(length))) {
    return corrupt(absl::StrCat("is truncated: its payload of ", length,
                                " bytes does not fit in the file's ",
                                contents.size()));
  }
  *crc = 0;
  if (in.CurrentPosition() < static_cast<int>(contents.size())) {
    if (in.ReadTag() != kCrcTag || !in.ReadLittleEndian32(crc)) {
      return corrupt("is corrupt or truncated after its payload");
    }
  }
  if (in.CurrentPosition() != static_cast<int>(contents.size())) {
    return corrupt(absl::StrCat(
        "has ", contents.size() - in.CurrentPosition(),
        " bytes after its checksum (another file appended?)"));
  }
  return absl::OkStatus();
}

// DataLoss unless `value` lies in [0, limit].
absl::Status CheckCount(const std::string& path, absl::string_view what,
                        int64_t value, int64_t limit) {
  if (value >= 0 && value <= limit) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("checkpoint '", path, "' claims ",
                                          what, " ", value, ", outside [0, ",
                                          limit, "]"));
}

bool SameSpec(const proto::TensorProto& t, const Tensor& value) {
  if (t.dtype() != static_cast<int>(value.dtype())) return false;
  if (t.dims_size() != value.shape().rank()) return false;
  for (int i = 0; i < t.dims_size(); ++i) {
    if (t.dims(i) != value.shape()[i]) return false;
  }
  return true;
}

}  // namespace

absl::Status SaveCheckpoint(const Session& session, const CheckpointInfo& info,
                            const std::string& path) {
  if (info.step < 0 || info.step > kMaxCheckpointStep || info.epoch < 0 ||
      info.epoch > kMaxCheckpointEpoch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot save checkpoint '", path, "': step ", info.step, " or epoch ",
        info.epoch, " is outside [0, ", kMaxCheckpointStep, "] or [0, ",
        kMaxCheckpointEpoch, "]"));
  }
  proto::Checkpoint checkpoint;
  checkpoint.set_version(kCheckpointVersion);
  checkpoint.set_step(info.step);
  checkpoint.set_epoch(info.epoch);
  checkpoint.set_rng_state(info.rng_state);
  for (const auto& [key, value] : info.metadata) {
    (*checkpoint.mutable_metadata())[key] = value;
  }
  for (const std::string& name : session.variables().Names()) {
    proto::NamedTensor* entry = checkpoint.add_variables();
    entry->set_name(name);
    TensorToProto(*session.variables().Find(name), entry->mutable_tensor());
  }
  proto::CheckpointFile file;
  file.set_payload(SerializeDeterministically(checkpoint));
  checkpoint.Clear();  // the payload holds a copy of every variable
  file.set_crc32(Crc32(file.payload()));
  std::string contents;
  if (!file.SerializeToString(&contents)) {
    return absl::InternalError(
        absl::StrCat("cannot serialize the checkpoint for '", path, "'"));
  }
  file.Clear();
  return Annotate(WriteFileAtomically(path, contents), "saving checkpoint");
}

absl::StatusOr<VerifiedCheckpoint> ReadCheckpoint(
    const std::string& path, const Session& session,
    const CheckpointLoadOptions& options) {
  NABLA_ASSIGN_OR_RETURN(
      std::string contents,
      ReadFile(path, std::min(options.max_file_bytes,
                              kDefaultMaxCheckpointBytes)));
  std::string payload;
  uint32_t stored_crc = 0;
  NABLA_RETURN_IF_ERROR(ParseEnvelope(contents, path, &payload, &stored_crc));
  contents = std::string();
  if (payload.empty()) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' holds no checkpoint (empty or truncated file)"));
  }
  uint32_t crc = Crc32(payload);
  if (crc != stored_crc) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint '", path, "' is corrupt: its checksum is ", stored_crc,
        " but its contents sum to ", crc));
  }
  proto::Checkpoint checkpoint;
  if (!checkpoint.ParseFromString(payload)) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint '", path, "' has a valid checksum but does not parse"));
  }
  payload = std::string();
  if (checkpoint.version() < 1 || checkpoint.version() > kCheckpointVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint '", path, "' has format version ", checkpoint.version(),
        "; this build reads versions 1 to ", kCheckpointVersion));
  }

  NABLA_RETURN_IF_ERROR(
      CheckCount(path, "step", checkpoint.step(), kMaxCheckpointStep));
  NABLA_RETURN_IF_ERROR(
      CheckCount(path, "epoch", checkpoint.epoch(), kMaxCheckpointEpoch));

  VerifiedCheckpoint result;
  result.info.step = checkpoint.step();
  result.info.epoch = checkpoint.epoch();
  result.info.rng_state = checkpoint.rng_state();
  for (const auto& [key, value] : checkpoint.metadata()) {
    result.info.metadata[key] = value;
  }

  const VariableStore& store = session.variables();
  absl::flat_hash_set<std::string> seen;
  for (const proto::NamedTensor& entry : checkpoint.variables()) {
    const std::string& name = entry.name();
    if (!seen.insert(name).second) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint '", path, "' holds variable '", name, "' twice"));
    }
    const Tensor* current = store.Find(name);
    if (current == nullptr) {
      if (options.allow_unused) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint '", path, "' has variable '", name,
          "', which the session's graph does not have"));
    }
    // Compared before decoding, so that no allocation is sized by the
    // file's claims.
    if (!SameSpec(entry.tensor(), *current)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable '", name, "' is ", current->DebugString(),
          " in the session but ", DescribeProto(entry.tensor()),
          " in checkpoint '", path, "'"));
    }
    absl::StatusOr<Tensor> value = TensorFromProto(entry.tensor());
    if (!value.ok()) {
      return absl::DataLossError(
          absl::StrCat("variable '", name, "' in checkpoint '", path,
                       "': ", value.status().message()));
    }
    result.variables.emplace_back(name, *std::move(value));
  }
  for (const std::string& name : store.Names()) {
    if (!seen.contains(name)) {
      return absl::NotFoundError(absl::StrCat(
          "checkpoint '", path, "' has no variable '", name, "'"));
    }
  }
  return result;
}

absl::Status RestoreVariables(const VerifiedCheckpoint& checkpoint,
                              Session* session) {
  for (const auto& [name, value] : checkpoint.variables) {
    NABLA_RETURN_IF_ERROR(session->variables().Assign(name, value));
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointInfo> LoadCheckpoint(
    const std::string& path, Session* session,
    const CheckpointLoadOptions& options) {
  NABLA_ASSIGN_OR_RETURN(VerifiedCheckpoint checkpoint,
                         ReadCheckpoint(path, *session, options));
  NABLA_RETURN_IF_ERROR(RestoreVariables(checkpoint, session));
  return std::move(checkpoint.info);
}

}  // namespace nabla
