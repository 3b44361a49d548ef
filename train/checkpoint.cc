#include "train/checkpoint.h"

#include <zlib.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "core/file.h"
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
  NABLA_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  proto::CheckpointFile file;
  if (!file.ParseFromString(contents)) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' is not a checkpoint file, or it is corrupt"));
  }
  contents.clear();
  contents.shrink_to_fit();
  if (file.payload().empty()) {
    return absl::DataLossError(absl::StrCat(
        "'", path, "' holds no checkpoint (empty or truncated file)"));
  }
  uint32_t crc = Crc32(file.payload());
  if (crc != file.crc32()) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint '", path, "' is corrupt: its checksum is ", file.crc32(),
        " but its contents sum to ", crc));
  }
  proto::Checkpoint checkpoint;
  if (!checkpoint.ParseFromString(file.payload())) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint '", path, "' has a valid checksum but does not parse"));
  }
  file.Clear();
  if (checkpoint.version() < 1 || checkpoint.version() > kCheckpointVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint '", path, "' has format version ", checkpoint.version(),
        "; this build reads versions 1 to ", kCheckpointVersion));
  }

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
