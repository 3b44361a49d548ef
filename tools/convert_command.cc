// nabla convert IN OUT: a GraphDef from text to binary or back, chosen by
// the files' extensions. The GraphDef is validated (it must load as a
// graph) and written as it was read: no attribute is added or dropped, so
// text -> binary -> text gives back the same bytes.

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "graph/graph_def.h"
#include "proto/graph.pb.h"
#include "tools/commands.h"

namespace nabla {
namespace {

// Larger GraphDefs than this are refused before they are read. Weights live
// in checkpoints, so real graphs are kilobytes.
constexpr int64_t kMaxGraphBytes = int64_t{256} << 20;

// The format `path`'s extension names.
absl::StatusOr<GraphFormat> FormatOf(const std::string& path) {
  if (absl::EndsWith(path, ".pbtxt")) return GraphFormat::kText;
  if (absl::EndsWith(path, ".pb")) return GraphFormat::kBinary;
  return absl::InvalidArgumentError(absl::StrCat(
      "'", path, "': unknown GraphDef extension (use .pb for binary, .pbtxt "
      "for text)"));
}

// Keeps the first error of a text parse, with its line and column, instead
// of protobuf logging it.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (message_.empty()) message_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

absl::StatusOr<proto::GraphDef> ReadGraphDef(const std::string& path,
                                             GraphFormat format) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
  }
  if (info.st_size > kMaxGraphBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("'", path, "' has ", info.st_size,
                     " bytes, more than a GraphDef may (", kMaxGraphBytes, ")"));
  }
  NABLA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  proto::GraphDef def;
  if (format == GraphFormat::kText) {
    google::protobuf::TextFormat::Parser parser;
    FirstError error;
    parser.RecordErrorsTo(&error);
    if (!parser.ParseFromString(bytes, &def)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is not a text GraphDef: ", error.message()));
    }
  } else if (!def.ParseFromString(bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a binary GraphDef"));
  }
  return def;
}

absl::Status RunConvert(const Invocation& invocation) {
  const std::string in = UserPath(invocation.args[0]);
  const std::string out = UserPath(invocation.args[1]);
  NABLA_ASSIGN_OR_RETURN(GraphFormat in_format, FormatOf(in));
  NABLA_ASSIGN_OR_RETURN(GraphFormat out_format, FormatOf(out));
  NABLA_ASSIGN_OR_RETURN(proto::GraphDef def, ReadGraphDef(in, in_format));
  // A file that does not load as a graph is not converted.
  absl::StatusOr<Graph> graph = FromGraphDef(def);
  if (!graph.ok()) return Annotate(graph.status(), absl::StrCat("'", in, "'"));
  std::string bytes;
  if (out_format == GraphFormat::kText) {
    if (!google::protobuf::TextFormat::PrintToString(def, &bytes)) {
      return absl::InternalError(absl::StrCat("cannot print '", in, "' as text"));
    }
  } else {
    bytes = SerializeDeterministically(def);
  }
  return WriteFileAtomically(out, bytes);
}

}  // namespace

const Command& ConvertCommand() {
  static const Command* const kCommand = new Command{
      "convert",
      "A GraphDef from text (.pbtxt) to binary (.pb) or back",
      "convert IN OUT",
      "Converts the GraphDef IN to OUT, each in the format its extension names:\n"
      ".pbtxt text, .pb binary. IN must load as a graph; it is written as it\n"
      "was read, so a conversion and its reverse give back the same file.",
      {},
      /*min_args=*/2,
      /*max_args=*/2,
      RunConvert};
  return *kCommand;
}

}  // namespace nabla
