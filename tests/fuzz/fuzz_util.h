// Helpers shared by nabla's fuzz targets (tests/fuzz/*_fuzzer.cc).
//
// Every target is one LLVMFuzzerTestOneInput over a public reader. It links
// either with libFuzzer (tools/fuzz.sh, --config=fuzz) or with
// replay_main.cc, which runs it once on every file of the committed corpus,
// so that `bazel test //tests/fuzz:all` replays the corpus with gcc and
// `bazel test --config=asan //tests/fuzz:all` under the sanitizers.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     static nabla::fuzz::ScratchFile file("idx");
//     nabla::ReadIdx(file.Write(data, size)).IgnoreError();
//     return 0;
//   }

#ifndef NABLA_TESTS_FUZZ_FUZZ_UTIL_H_
#define NABLA_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/graph_def.h"
#include "graph/session.h"

namespace nabla {
namespace fuzz {

// ScratchFile is one file per process in $TEST_TMPDIR (or $TMPDIR, or
// /tmp) that each input is written to, for readers that take a path. The
// name ends in `suffix`, so that readers that look at extensions see it.
class ScratchFile {
 public:
  explicit ScratchFile(absl::string_view suffix);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Write replaces the file's contents with `data` and returns its path. A
  // failure to write is the fuzzing machine's fault, not the reader's, so it
  // aborts with a message.
  const std::string& Write(const uint8_t* data, size_t size);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Note prints `status` after `stage` when NABLA_FUZZ_VERBOSE is set: a way
// to see how far an input gets, e.g. that the seeds compile and run. Silent
// otherwise, since errors are what most fuzz inputs produce.
void Note(absl::string_view stage, const absl::Status& status);

// The most elements one tensor of a fuzzed graph may have: small enough
// that compiling and running any graph the loader accepts stays fast and
// within libFuzzer's memory limit.
inline constexpr int64_t kFuzzMaxElements = int64_t{1} << 16;

// LoadGraphDef is the body of both GraphDef targets: the bytes are loaded
// in `format` with tensors capped at kFuzzMaxElements, and what loads goes
// through CompileAndRun.
void LoadGraphDef(const uint8_t* data, size_t size, GraphFormat format);

// CompileAndRun gives a loaded graph what a user's program would: a
// session, a plan for a batch of 2 (every unknown dimension of every
// placeholder set to 2) fetching every output nothing consumes, and one run
// with zero-filled feeds. Errors are expected and ignored; crashes, leaks
// and undefined behaviour are what the fuzzer looks for.
void CompileAndRun(Graph graph);

// CheckpointSession is the fixed session the checkpoint target reads
// against, and make_corpus writes its seed checkpoints from: variables of
// each dtype a checkpoint holds, with the names an optimizer gives them.
std::unique_ptr<Session> CheckpointSession();

}  // namespace fuzz
}  // namespace nabla

#endif  // NABLA_TESTS_FUZZ_FUZZ_UTIL_H_
