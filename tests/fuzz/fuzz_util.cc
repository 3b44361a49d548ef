#include "tests/fuzz/fuzz_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"
#include "graph/builder.h"

namespace nabla {
namespace fuzz {

ScratchFile::ScratchFile(absl::string_view suffix) {
  const char* dir = std::getenv("TEST_TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = std::getenv("TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = "/tmp";
  path_ = absl::StrCat(dir, "/nabla_fuzz_", ::getpid(), "_", suffix);
}

ScratchFile::~ScratchFile() { ::unlink(path_.c_str()); }

const std::string& ScratchFile::Write(const uint8_t* data, size_t size) {
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0600);
  bool ok = fd >= 0;
  while (ok && size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0 && errno == EINTR) continue;
    ok = written > 0;
    if (ok) {
      data += written;
      size -= static_cast<size_t>(written);
    }
  }
  if (fd >= 0 && ::close(fd) != 0) ok = false;
  if (!ok) {
    std::fprintf(stderr, "fuzz: cannot write the scratch file %s: %s\n",
                 path_.c_str(), std::strerror(errno));
    std::abort();
  }
  return path_;
}

void Note(absl::string_view stage, const absl::Status& status) {
  static const bool verbose = std::getenv("NABLA_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "fuzz: %.*s: %s\n", static_cast<int>(stage.size()),
                 stage.data(), status.ToString().c_str());
  }
}

void LoadGraphDef(const uint8_t* data, size_t size, GraphFormat format) {
  // The text parser logs every syntax error to stderr, which costs more
  // than the parse; the Status says the same. Shown with NABLA_FUZZ_VERBOSE.
  static const bool silenced = [] {
    if (std::getenv("NABLA_FUZZ_VERBOSE") == nullptr) {
      google::protobuf::SetLogHandler(nullptr);
    }
    return true;
  }();
  (void)silenced;
  // Never destroyed, as Google style has it for statics; tools/fuzz.sh and
  // Bazel's TEST_TMPDIR remove the files.
  static ScratchFile* const text = new ScratchFile("graph.pbtxt");
  static ScratchFile* const binary = new ScratchFile("graph.pb");
  ScratchFile* file = format == GraphFormat::kText ? text : binary;
  GraphLoadOptions options;
  options.graph.max_elements = kFuzzMaxElements;
  // Thousands of small variables fit in a file of a few KB; the caps keep
  // what Session::Create allocates for them within the fuzzer's memory.
  options.graph.max_variable_bytes = int64_t{64} << 20;
  options.graph.max_constant_bytes = int64_t{64} << 20;
  options.max_file_bytes = int64_t{1} << 20;
  absl::StatusOr<Graph> graph =
      LoadGraph(file->Write(data, size), format, options);
  Note("LoadGraph", graph.status());
  if (graph.ok()) CompileAndRun(*std::move(graph));
}

void CompileAndRun(Graph graph) {
  // What nothing consumes is what a user would fetch.
  std::vector<bool> consumed(graph.num_nodes(), false);
  for (const Node& node : graph.nodes()) {
    for (NodeOutput input : node.inputs) consumed[input.node] = true;
  }
  std::vector<FeedSpec> feeds;
  std::vector<NodeOutput> fetches;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    const Node& node = graph.node(id);
    if (node.op() == "Placeholder" && !node.outputs.empty()) {
      Shape shape = node.outputs[0].shape;
      for (int i = 0; i < shape.rank(); ++i) {
        if (shape[i] == kUnknownDim) shape = shape.WithDim(i, 2);
      }
      feeds.push_back({NodeOutput{id, 0}, shape});
    }
    if (consumed[id]) continue;
    for (int k = 0; k < static_cast<int>(node.outputs.size()); ++k) {
      fetches.push_back(NodeOutput{id, k});
    }
  }
  if (fetches.empty()) return;

  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(std::move(graph));
  Note("Session::Create", session.status());
  if (!session.ok()) return;
  absl::StatusOr<Plan*> plan = (*session)->Compile(feeds, fetches);
  Note("Compile", plan.status());
  if (!plan.ok()) return;

  std::vector<Tensor> inputs;
  for (const FeedSpec& feed : feeds) {
    const TensorSpec& spec = (*session)->graph().spec(feed.value);
    // The compiled shape is fully defined, so the placeholder's batch of 2
    // stays far below kFuzzMaxElements times two.
    if (feed.shape.NumElements() > 2 * kFuzzMaxElements) return;
    Tensor value(spec.dtype, feed.shape);
    std::memset(value.raw_data(), 0, value.nbytes());
    inputs.push_back(std::move(value));
  }
  std::vector<Tensor> outputs;
  Note("Run", (*plan)->Run(inputs, &outputs));
}

std::unique_ptr<Session> CheckpointSession() {
  GraphBuilder b;
  b.Variable("dense/w", {3, 4}, Initializer::GlorotUniform(7));
  b.Variable("dense/b", {4}, Initializer::Constant(0.25f));
  b.Variable("dense/w/adam_m", {3, 4}, Initializer::Zeros());
  b.Variable("Adam/iterations", Shape(), Initializer::Zeros(), DType::kI64);
  b.Variable("counts", {2}, Initializer::Zeros(), DType::kI32);
  b.Variable("mask", {5}, Initializer::Zeros(), DType::kU8);
  absl::StatusOr<Graph> graph = b.Build();
  if (!graph.ok()) {
    std::fprintf(stderr, "fuzz: cannot build the checkpoint session: %s\n",
                 graph.status().ToString().c_str());
    std::abort();
  }
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(*std::move(graph));
  if (!session.ok()) {
    std::fprintf(stderr, "fuzz: cannot create the checkpoint session: %s\n",
                 session.status().ToString().c_str());
    std::abort();
  }
  return *std::move(session);
}

}  // namespace fuzz
}  // namespace nabla
