// Fuzz target: reading a checkpoint (train/checkpoint.h) against a small
// fixed session, and restoring it when it verifies.
//
// Each input is tried twice: as a whole checkpoint file, and as the
// envelope's payload with a correct crc32 added, so that mutations reach
// the proto::Checkpoint parser and the variable checks behind the checksum
// instead of stopping at it.

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "proto/checkpoint.pb.h"
#include "tests/fuzz/fuzz_util.h"
#include "train/checkpoint.h"

namespace {

void ReadAndRestore(const std::string& path, nabla::Session* session,
                    bool allow_unused) {
  nabla::CheckpointLoadOptions options;
  options.allow_unused = allow_unused;
  options.max_file_bytes = int64_t{1} << 20;
  absl::StatusOr<nabla::VerifiedCheckpoint> checkpoint =
      nabla::ReadCheckpoint(path, *session, options);
  nabla::fuzz::Note("ReadCheckpoint", checkpoint.status());
  if (!checkpoint.ok()) return;
  nabla::fuzz::Note("RestoreVariables",
                    nabla::RestoreVariables(*checkpoint, session));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static nabla::fuzz::ScratchFile* const file =
      new nabla::fuzz::ScratchFile("input.ckpt");
  static nabla::Session* const session =
      nabla::fuzz::CheckpointSession().release();
  // One bit of the input decides how strict the load is, so that both
  // paths are fuzzed and a replay is deterministic.
  const bool allow_unused = size > 0 && (data[size - 1] & 1) != 0;

  ReadAndRestore(file->Write(data, size), session, allow_unused);

  nabla::proto::CheckpointFile envelope;
  envelope.set_payload(data, size);
  envelope.set_crc32(static_cast<uint32_t>(
      crc32(0, data, static_cast<uInt>(size))));
  const std::string wrapped = envelope.SerializeAsString();
  ReadAndRestore(
      file->Write(reinterpret_cast<const uint8_t*>(wrapped.data()),
                  wrapped.size()),
      session, allow_unused);
  return 0;
}
