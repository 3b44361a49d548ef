// The `nabla` command line as users run it: the built binary (data
// dependency //tools:nabla) on real files in a temporary folder, checking
// stdout, stderr and the exit code of every subcommand, round trips, and
// every bad-usage (exit 2) and bad-input (exit 1) case.

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/file.h"
#include "examples/lecture_model.h"
#include "gmock/gmock.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "graph/op_registry.h"
#include "gtest/gtest.h"
#include "infer/saved_model.h"
#include "nlohmann/json.hpp"
#include "ops/ops.h"
#include "tests/cli/lecture_graphs.h"
#include "tests/test_util.h"
#include "train/idx.h"

namespace nabla {
namespace {

using ::nabla::testing::BuildLectureGraph;
using ::nabla::testing::LectureGraph;
using ::nabla::testing::TestDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// Where Bazel puts the binary in this test's runfiles.
constexpr char kNabla[] = "tools/nabla";

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

std::string ShellQuote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Runs `nabla args...` in `dir`, the way a user would from a shell.
Result Nabla(const std::vector<std::string>& args, const std::string& dir = TestDir()) {
  static int run = 0;
  const std::string out = absl::StrCat(dir, "/stdout.", run, ".txt");
  const std::string err = absl::StrCat(dir, "/stderr.", run++, ".txt");
  std::string command = absl::StrCat(
      "cd ", ShellQuote(dir), " && ", ShellQuote(absl::StrCat(std::getenv("PWD"), "/", kNabla)));
  for (const std::string& arg : args) absl::StrAppend(&command, " ", ShellQuote(arg));
  absl::StrAppend(&command, " >", ShellQuote(out), " 2>", ShellQuote(err));
  int status = std::system(command.c_str());
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadAll(out);
  result.err = ReadAll(err);
  return result;
}

// A one-command pipeline through a program other than nabla (Graphviz).
int Shell(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The lecture's training graph as examples/mnist saves it, in a model
// folder "model/" of `dir`, and as "lecture.pbtxt" and "lecture.pb".
void WriteLectureGraphs(const std::string& dir) {
  Graph graph = BuildLectureGraph(LectureGraph::kTraining);
  ASSERT_EQ(::system(absl::StrCat("mkdir -p ", ShellQuote(dir + "/model")).c_str()), 0);
  NABLA_ASSERT_OK(SaveGraph(graph, dir + "/model/model.pbtxt"));
  NABLA_ASSERT_OK(SaveGraph(graph, dir + "/lecture.pbtxt"));
  NABLA_ASSERT_OK(SaveGraph(graph, dir + "/lecture.pb"));
}

// --- .npy, written and read here independently of io/npy (version 1.0) ---

std::string NpyBytes(const std::string& descr, const std::vector<int64_t>& shape,
                     const std::string& data) {
  std::string dims;
  for (int64_t d : shape) absl::StrAppend(&dims, d, ",");
  if (shape.size() > 1) dims.pop_back();
  std::string header = absl::StrCat("{'descr': '", descr,
                                    "', 'fortran_order': False, 'shape': (", dims, "), }");
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header + data;
}

std::string F32Npy(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  return NpyBytes("<f4", shape,
                  std::string(reinterpret_cast<const char*>(values.data()),
                              values.size() * sizeof(float)));
}

// The f32 values of a .npy file nabla wrote, and its shape.
struct NpyF32 {
  std::string shape;  // "(8, 10)"
  std::vector<float> values;
};
NpyF32 ReadF32Npy(const std::string& path) {
  std::string bytes = ReadAll(path);
  NpyF32 npy;
  EXPECT_GT(bytes.size(), 10u) << path;
  if (bytes.size() <= 10) return npy;
  size_t header_len = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
  std::string header = bytes.substr(10, header_len);
  EXPECT_THAT(header, HasSubstr("'descr': '<f4'")) << path;
  size_t open = header.find("'shape': (");
  npy.shape = header.substr(open + 9, header.find(')', open) - open - 8);
  std::string data = bytes.substr(10 + header_len);
  npy.values.resize(data.size() / sizeof(float));
  std::memcpy(npy.values.data(), data.data(), npy.values.size() * sizeof(float));
  return npy;
}

// --- MNIST test digits as image files ---

struct Digits {
  std::vector<std::string> files;
  std::vector<int> labels;
};

// The first `n` MNIST test digits as 84x84 binary PGMs, dark ink on white
// paper (as a scan would be, unlike MNIST's light on black), for
// PrepareDigit to undo.
Digits WriteDigitImages(const std::string& dir, int n) {
  IdxOptions options;
  options.images_as_float = false;
  absl::StatusOr<MnistData> data = LoadMnist("data/mnist", "t10k", options);
  EXPECT_TRUE(data.ok()) << data.status();
  Digits digits;
  for (int i = 0; i < n && data.ok(); ++i) {
    const uint8_t* pixels = data->images.data<uint8_t>() + i * 28 * 28;
    std::string image = "P5\n84 84\n255\n";
    for (int y = 0; y < 84; ++y) {
      for (int x = 0; x < 84; ++x) image += static_cast<char>(255 - pixels[y / 3 * 28 + x / 3]);
    }
    std::string file = absl::StrCat("digit", i, ".pgm");
    WriteAll(absl::StrCat(dir, "/", file), image);
    digits.files.push_back(file);
    digits.labels.push_back(data->labels.data<int32_t>()[i]);
  }
  return digits;
}

// The same digits as one u8 [n, 1, 28, 28] .npy, for `nabla run`.
void WriteDigitsNpy(const std::string& path, int n) {
  IdxOptions options;
  options.images_as_float = false;
  absl::StatusOr<MnistData> data = LoadMnist("data/mnist", "t10k", options);
  ASSERT_TRUE(data.ok()) << data.status();
  WriteAll(path, NpyBytes("|u1", {n, 1, 28, 28},
                          std::string(static_cast<const char*>(data->images.raw_data()),
                                      n * 28 * 28)));
}

std::string ShippedModel() {
  absl::StatusOr<std::string> dir = ShippedModelDir();
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.value_or("");
}

// ------------------------------- usage ----------------------------------

TEST(Usage, NoCommandListsTheCommands) {
  Result r = Nabla({});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.out, IsEmpty());
  for (const char* command : {"predict", "summary", "dot", "convert", "ops", "run"}) {
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat("\n  ", command, " "))) << command;
  }
}

TEST(Usage, HelpListsTheCommandsOnStdout) {
  for (const char* help : {"--help", "-h", "help"}) {
    Result r = Nabla({help});
    EXPECT_EQ(r.code, 0) << help;
    EXPECT_THAT(r.out, HasSubstr("Usage: nabla <command>"));
    EXPECT_THAT(r.out, HasSubstr("\n  summary  "));
    EXPECT_THAT(r.err, IsEmpty());
  }
}

TEST(Usage, UnknownCommand) {
  Result r = Nabla({"frobnicate", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("nabla: unknown command 'frobnicate'"));
  EXPECT_EQ(Nabla({"help", "frobnicate"}).code, 2);
}

TEST(Usage, EachCommandsHelpShowsItsOwnFlagsOnly) {
  Result predict = Nabla({"predict", "--help"});
  EXPECT_EQ(predict.code, 0);
  EXPECT_THAT(predict.out, StartsWith("Usage: nabla predict [--model=DIR] [--json] [--threads=N] IMAGE...\n"));
  EXPECT_THAT(predict.out, HasSubstr("  --model\n"));
  EXPECT_THAT(predict.out, HasSubstr("  --[no]json (default: false)\n"));
  EXPECT_THAT(predict.out, Not(HasSubstr("--training")));
  EXPECT_THAT(predict.out, Not(HasSubstr("--out_dir")));
  EXPECT_EQ(Nabla({"help", "predict"}).out, predict.out);

  Result run = Nabla({"run", "-h"});
  EXPECT_EQ(run.code, 0);
  EXPECT_THAT(run.out, HasSubstr("  --feed (repeatable)\n"));
  EXPECT_THAT(run.out, HasSubstr("  --out_dir\n"));
  EXPECT_THAT(run.out, Not(HasSubstr("--json")));

  Result dot = Nabla({"dot", "--help"});
  EXPECT_THAT(dot.out, HasSubstr("  --[no]training (default: false)\n"));
  EXPECT_THAT(dot.out, Not(HasSubstr("--model")));
  // --help wins over anything else on the line.
  EXPECT_EQ(Nabla({"summary", "a", "b", "--help"}).code, 0);
}

TEST(Usage, FlagsOfOtherCommandsAndUnknownFlagsAreRefused) {
  const std::string dir = TestDir();
  WriteLectureGraphs(dir);
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"summary", "--json", "lecture.pbtxt"}, "unknown flag '--json'"},
      {{"summary", "--training", "lecture.pbtxt"}, "unknown flag '--training'"},
      {{"dot", "--verbose", "lecture.pbtxt"}, "unknown flag '--verbose'"},
      {{"dot", "--training=maybe", "lecture.pbtxt"}, "bad value for --training"},
      {{"dot", "--notitle", "lecture.pbtxt"}, "unknown flag '--notitle'"},
      {{"predict", "--model"}, "flag --model needs a value"},
      {{"predict", "--threads=two", "x.png"}, "bad value for --threads"},
      {{"predict", "--threads=-1", "x.png"}, "--threads must be 0 (automatic) or positive"},
      {{"summary"}, "expected 1 argument, got 0"},
      {{"summary", "a", "b"}, "expected 1 argument, got 2"},
      {{"convert", "a.pb"}, "expected 2 arguments, got 1"},
      {{"predict"}, "expected at least 1 argument, got 0"},
      {{"run", "extra", "--fetch=x", "--out_dir=o"}, "expected 0 arguments, got 1"},
      {{"run", "--out_dir=o"}, "give at least one --fetch=NAME"},
      {{"run", "--fetch=probabilities"}, "give --out_dir=DIR"},
      {{"run", "--feed=images", "--fetch=probabilities", "--out_dir=o"},
       "--feed=images: expected NAME=FILE.npy"},
      {{"run", "--feed==x.npy", "--fetch=probabilities", "--out_dir=o"},
       "expected NAME=FILE.npy"},
  };
  for (const Case& c : cases) {
    Result r = Nabla(c.args, dir);
    const std::string line = absl::StrJoin(c.args, " ");
    EXPECT_EQ(r.code, 2) << line << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << line;
    EXPECT_THAT(r.err, HasSubstr(absl::StrCat("Usage: nabla ", c.args[0]))) << line;
    EXPECT_THAT(r.out, IsEmpty()) << line;
  }
}

TEST(Usage, FlagsTakeValuesEitherWayAndStopAtDoubleDash) {
  const std::string dir = TestDir();
  WriteLectureGraphs(dir);
  Result equals = Nabla({"dot", "--title=T", "lecture.pbtxt"}, dir);
  Result space = Nabla({"dot", "--title", "T", "lecture.pbtxt"}, dir);
  EXPECT_EQ(equals.code, 0) << equals.err;
  EXPECT_EQ(space.out, equals.out);
  EXPECT_THAT(equals.out, HasSubstr("label=\"T\";"));
  Result ops = Nabla({"ops", "--", "Relu"}, dir);
  EXPECT_EQ(ops.code, 0) << ops.err;
  EXPECT_THAT(ops.out, StartsWith("Relu  differentiable\n"));
  EXPECT_EQ(Nabla({"dot", "--training", "--notraining", "lecture.pbtxt"}, dir).out,
            Nabla({"dot", "lecture.pbtxt"}, dir).out);
}

// ------------------------------- summary --------------------------------

TEST(Summary, FolderTextAndBinaryGraphsAgree) {
  const std::string dir = TestDir();
  WriteLectureGraphs(dir);
  Result folder = Nabla({"summary", "model"}, dir);
  ASSERT_EQ(folder.code, 0) << folder.err;
  EXPECT_THAT(folder.err, IsEmpty());
  EXPECT_THAT(folder.out, StartsWith("Model: model\n"));
  EXPECT_THAT(folder.out, HasSubstr("Total params: 1,087,106 (4.15 MiB) in 8 variables\n"));
  EXPECT_THAT(folder.out, HasSubstr("Forward pass: 9.54 MFLOP per example (9,543,200)\n"));
  EXPECT_THAT(folder.out, HasSubstr("Training step: 27.71 MFLOP per example (27,708,000)"));
  EXPECT_THAT(folder.out, ::testing::ContainsRegex(
                              "\nconv2 \\(Conv2DWithBias\\) +f32\\[\\?,64,8,8\\] +51,264 +6,553,600\n"));
  auto body = [](const std::string& text) { return text.substr(text.find('\n')); };
  Result text = Nabla({"summary", "lecture.pbtxt"}, dir);
  Result binary = Nabla({"summary", dir + "/lecture.pb"}, "/");
  EXPECT_EQ(text.code, 0);
  EXPECT_EQ(binary.code, 0);
  EXPECT_EQ(body(text.out), body(folder.out));
  EXPECT_EQ(body(binary.out), body(folder.out));
}

TEST(Summary, TheShippedModel) {
  Result r = Nabla({"summary", ShippedModel()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Total params: 1,087,106"));
  EXPECT_THAT(r.out, HasSubstr("(27,708,000),\n  counted over the nodes a training step"));
}

// Files that are not models: each an exit code 1 and a message naming it.
TEST(Summary, BadModels) {
  const std::string dir = TestDir();
  WriteLectureGraphs(dir);
  WriteAll(dir + "/garbage.pb", "\xff\xff\xff\xff not a protobuf");
  WriteAll(dir + "/garbage.pbtxt", "node { name: ");
  std::string text = ReadAll(dir + "/lecture.pbtxt");
  WriteAll(dir + "/unknown_op.pbtxt",
           absl::StrReplaceAll(text, {{"op: \"Conv2DWithBias\"", "op: \"Conv9D\""}}));
  WriteAll(dir + "/dangling.pbtxt",
           absl::StrReplaceAll(text, {{"input: \"pool1\"", "input: \"pool7\""}}));
  ASSERT_EQ(::system(absl::StrCat("mkdir -p ", ShellQuote(dir + "/empty")).c_str()), 0);
  struct Case {
    std::string model, message;
  };
  for (const Case& c : std::vector<Case>{
           {"missing.pbtxt", "missing.pbtxt"},
           {"garbage.pb", "garbage.pb"},
           {"garbage.pbtxt", "garbage.pbtxt"},
           {"unknown_op.pbtxt", "Conv9D"},
           {"dangling.pbtxt", "pool7"},
           {"empty", "not a saved model folder"},
       }) {
    for (const char* command : {"summary", "dot"}) {
      Result r = Nabla({command, c.model}, dir);
      EXPECT_EQ(r.code, 1) << command << " " << c.model << "\n" << r.err;
      EXPECT_THAT(r.err, HasSubstr(absl::StrCat("nabla ", command, ": "))) << c.model;
      EXPECT_THAT(r.err, HasSubstr(c.message)) << command << " " << c.model;
      EXPECT_THAT(r.out, IsEmpty()) << c.model;
    }
  }
}

// --------------------------------- dot ----------------------------------

TEST(Dot, GraphvizRendersBothViews) {
  const std::string dir = TestDir();
  WriteLectureGraphs(dir);
  for (bool training : {false, true}) {
    std::vector<std::string> args = {"dot", "model"};
    if (training) args.insert(args.begin() + 1, "--training");
    Result r = Nabla(args, dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, StartsWith("digraph nabla {"));
    EXPECT_EQ(absl::StrContains(r.out, "subgraph cluster_backward"), training);
    EXPECT_EQ(absl::StrContains(r.out, "subgraph cluster_optimizer"), training);
    const std::string dot_file = absl::StrCat(dir, "/m", training, ".dot");
    const std::string svg = absl::StrCat(dir, "/m", training, ".svg");
    WriteAll(dot_file, r.out);
    // Debian's graphviz, as the README renders the pictures.
    ASSERT_EQ(Shell(absl::StrCat("dot -Tsvg ", dot_file, " -o ", svg, " 2>", dir, "/dot.err")), 0)
        << ReadAll(dir + "/dot.err");
    EXPECT_THAT(ReadAll(dir + "/dot.err"), IsEmpty());
    std::string picture = ReadAll(svg);
    EXPECT_THAT(picture, HasSubstr("<svg"));
    EXPECT_THAT(picture, HasSubstr(">Conv2DWithBias</text>"));
    EXPECT_EQ(absl::StrContains(picture, ">conv1_grad/dw</text>"), training);
    EXPECT_EQ(absl::StrContains(picture, ">Adam/update/conv1/w</text>"), training);
  }
}

// ------------------------------- convert --------------------------------

TEST(Convert, TextBinaryTextGivesTheSameBytes) {
  const std::string dir = TestDir();
  WriteLectureGraphs(dir);
  Result to_binary = Nabla({"convert", "lecture.pbtxt", "out.pb"}, dir);
  ASSERT_EQ(to_binary.code, 0) << to_binary.err;
  EXPECT_THAT(to_binary.out, IsEmpty());
  EXPECT_THAT(to_binary.err, IsEmpty());
  Result to_text = Nabla({"convert", "out.pb", "back.pbtxt"}, dir);
  ASSERT_EQ(to_text.code, 0) << to_text.err;
  EXPECT_EQ(ReadAll(dir + "/out.pb"), ReadAll(dir + "/lecture.pb"));
  EXPECT_EQ(ReadAll(dir + "/back.pbtxt"), ReadAll(dir + "/lecture.pbtxt"));
  ASSERT_EQ(Nabla({"convert", "back.pbtxt", "again.pb"}, dir).code, 0);
  EXPECT_EQ(ReadAll(dir + "/again.pb"), ReadAll(dir + "/out.pb"));

  // The loaded graphs are equal.
  NABLA_ASSERT_OK_AND_ASSIGN(Graph original, LoadGraph(dir + "/lecture.pbtxt"));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph converted, LoadGraph(dir + "/out.pb"));
  EXPECT_EQ(SerializeDeterministically(ToGraphDef(converted)),
            SerializeDeterministically(ToGraphDef(original)));
}

TEST(Convert, KeepsWhatItReadsAsItWasWritten) {
  // A hand-written graph that leaves attributes to their defaults: they
  // are not filled in on the way through.
  const std::string dir = TestDir();
  const std::string text =
      "version: 1\n"
      "node {\n  name: \"x\"\n  op: \"Placeholder\"\n  attr {\n    key: \"shape\"\n"
      "    value {\n      shape {\n        dim: 2\n      }\n    }\n  }\n}\n"
      "node {\n  name: \"y\"\n  op: \"Relu\"\n  input: \"x\"\n}\n";
  WriteAll(dir + "/small.pbtxt", text);
  ASSERT_EQ(Nabla({"convert", "small.pbtxt", "small.pb"}, dir).code, 0);
  Result back = Nabla({"convert", "small.pb", "small2.pbtxt"}, dir);
  ASSERT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(ReadAll(dir + "/small2.pbtxt"), text);
}

TEST(Convert, BadInputs) {
  const std::string dir = TestDir();
  WriteLectureGraphs(dir);
  std::string binary = ReadAll(dir + "/lecture.pb");
  WriteAll(dir + "/truncated.pb", binary.substr(0, binary.size() / 2));
  WriteAll(dir + "/binary.pbtxt", binary);
  WriteAll(dir + "/unknown_op.pbtxt",
           absl::StrReplaceAll(ReadAll(dir + "/lecture.pbtxt"),
                               {{"op: \"MaxPool2D\"", "op: \"MaxPool9D\""}}));
  WriteAll(dir + "/syntax.pbtxt", "node { name: \"x\" op: }\n");
  ASSERT_EQ(::system(absl::StrCat("mkdir -p ", ShellQuote(dir + "/folder.pb")).c_str()), 0);
  // A FIFO with no writer: refused, not waited on.
  ASSERT_EQ(::system(absl::StrCat("mkfifo ", ShellQuote(dir + "/fifo.pb")).c_str()), 0);
  struct Case {
    std::string in, out, message;
  };
  for (const Case& c : std::vector<Case>{
           {"lecture.pbtxt", "out.onnx", "'out.onnx': unknown GraphDef extension"},
           {"lecture.txt", "out.pb", "'lecture.txt': unknown GraphDef extension"},
           {"missing.pbtxt", "out.pb", "cannot open 'missing.pbtxt'"},
           {"folder.pb", "out.pbtxt", "'folder.pb' is a directory, not a regular file"},
           {"fifo.pb", "out.pbtxt", "'fifo.pb' is a FIFO"},
           {"truncated.pb", "out.pbtxt", "'truncated.pb' is not a binary GraphDef"},
           {"binary.pbtxt", "out.pb", "'binary.pbtxt' is not a text GraphDef: 1:"},
           {"syntax.pbtxt", "out.pb", "'syntax.pbtxt' is not a text GraphDef: 1:"},
           {"unknown_op.pbtxt", "out.pb", "MaxPool9D"},
       }) {
    Result r = Nabla({"convert", c.in, c.out}, dir);
    EXPECT_EQ(r.code, 1) << c.in << " -> " << c.out << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.in;
    // Nothing is written for a failed conversion.
    EXPECT_FALSE(Exists(dir + "/" + c.out)) << c.in;
  }
  Result unwritable = Nabla({"convert", "lecture.pbtxt", "/proc/nabla.pb"}, dir);
  EXPECT_EQ(unwritable.code, 1);
  EXPECT_THAT(unwritable.err, HasSubstr("/proc/nabla.pb"));
}

// --------------------------------- ops ----------------------------------

TEST(Ops, ListsEveryRegisteredOp) {
  Result r = Nabla({"ops"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const OpSchema* op : OpRegistry::Global().All()) {
    EXPECT_THAT(r.out, ::testing::ContainsRegex(absl::StrCat("(^|\n)", op->name(), "  ")))
        << op->name();
  }
  EXPECT_THAT(r.out, HasSubstr(
      "Conv2DWithBias  differentiable\n"
      "  inputs:  x: f32, filters: f32, bias: f32\n"
      "  outputs: y\n"
      "  attrs:   strides: list(int) = [1, 1], padding: string = \"valid\", "
      "explicit_paddings: list(int) = [], dilations: list(int) = [1, 1], "
      "groups: int = 1, activation: string = \"linear\"\n"));
  EXPECT_THAT(r.out, HasSubstr("ReluGrad  a gradient op (no second derivatives)\n"));
  EXPECT_THAT(r.out, HasSubstr("ArgMax  not differentiable (gradients stop here)\n"));
  EXPECT_THAT(r.out, HasSubstr("  attrs:   kernel: list(int) (required)"));
  EXPECT_THAT(r.out, HasSubstr("  updates in place: var, m, v\n"));
  EXPECT_THAT(r.out, HasSubstr("Placeholder  not differentiable"));
}

TEST(Ops, NamedOpsOnlyAndUnknownNames) {
  Result two = Nabla({"ops", "Relu", "Dense"});
  ASSERT_EQ(two.code, 0) << two.err;
  EXPECT_THAT(two.out, StartsWith("Relu  differentiable\n"));
  EXPECT_THAT(two.out, HasSubstr("\n\nDense  differentiable\n"));
  EXPECT_EQ(std::count(two.out.begin(), two.out.end(), '\n'), 8);

  Result unknown = Nabla({"ops", "Relu", "Frob", "conv2d"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.out, IsEmpty());
  EXPECT_THAT(unknown.err, HasSubstr("unknown ops 'Frob', 'conv2d'"));
  Result one = Nabla({"ops", "Frob"});
  EXPECT_THAT(one.err, HasSubstr("unknown op 'Frob' ("));
}

TEST(Ops, JsonForPrograms) {
  Result all = Nabla({"ops", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  nlohmann::json ops = nlohmann::json::parse(all.out);
  ASSERT_TRUE(ops.is_array());
  EXPECT_EQ(ops.size(), OpRegistry::Global().All().size());
  for (size_t i = 1; i < ops.size(); ++i) {
    EXPECT_LT(ops[i - 1]["name"], ops[i]["name"]) << "sorted by name";
  }

  Result named = Nabla({"ops", "--json", "Conv2DWithBias", "ApplyAdam", "ReluGrad"});
  ASSERT_EQ(named.code, 0) << named.err;
  nlohmann::json three = nlohmann::json::parse(named.out);
  ASSERT_EQ(three.size(), 3u);
  const nlohmann::json& conv = three[0];
  EXPECT_EQ(conv["name"], "Conv2DWithBias");
  EXPECT_EQ(conv["gradient"], "differentiable");
  ASSERT_EQ(conv["inputs"].size(), 3u);
  EXPECT_EQ(conv["inputs"][1]["name"], "filters");
  EXPECT_EQ(conv["inputs"][1]["dtypes"], nlohmann::json::array({"f32"}));
  EXPECT_EQ(conv["outputs"], nlohmann::json::array({"y"}));
  nlohmann::json padding, strides;
  for (const nlohmann::json& attr : conv["attrs"]) {
    if (attr["name"] == "padding") padding = attr;
    if (attr["name"] == "strides") strides = attr;
  }
  EXPECT_EQ(padding["type"], "string");
  EXPECT_EQ(padding["required"], false);
  EXPECT_EQ(padding["default"], "valid");
  EXPECT_EQ(strides["default"], nlohmann::json::array({1, 1}));
  EXPECT_EQ(three[1]["updates_in_place"], nlohmann::json::array({"var", "m", "v"}));
  EXPECT_EQ(three[2]["gradient"], "gradient_op");

  Result required = Nabla({"ops", "--json", "MaxPool2D"});
  nlohmann::json pool = nlohmann::json::parse(required.out)[0];
  EXPECT_EQ(pool["attrs"][0]["name"], "kernel");
  EXPECT_EQ(pool["attrs"][0]["required"], true);
  EXPECT_FALSE(pool["attrs"][0].contains("default"));
  // A float default reads as written (0.2), not as its f32 rounding.
  Result leaky = Nabla({"ops", "--json", "LeakyRelu"});
  nlohmann::json alpha = nlohmann::json::parse(leaky.out)[0]["attrs"][0];
  EXPECT_EQ(alpha["name"], "alpha");
  EXPECT_EQ(alpha["default"].get<double>(), 0.2);
  EXPECT_THAT(leaky.out, HasSubstr("\"default\": 0.2\n"));
}

// --------------------------------- run ----------------------------------

TEST(Run, ShippedModelOnNpyDigits) {
  const std::string dir = TestDir();
  constexpr int kDigits = 8;
  WriteDigitsNpy(dir + "/digits.npy", kDigits);
  Result r = Nabla({"run", "--model=" + ShippedModel(), "--feed=images=digits.npy",
                    "--fetch=probabilities", "--fetch=conv1/w", "--fetch", "pool1:1",
                    "--out_dir=out/nested"},
                   dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("probabilities: f32[8,10] -> out/nested/probabilities.npy\n"));
  EXPECT_THAT(r.out, HasSubstr("conv1/w: f32[32,1,5,5] -> out/nested/conv1_w.npy\n"));
  EXPECT_THAT(r.out, HasSubstr("pool1:1: u8[8,32,12,12] -> out/nested/pool1_1.npy\n"));

  NpyF32 probabilities = ReadF32Npy(dir + "/out/nested/probabilities.npy");
  EXPECT_EQ(probabilities.shape, "(8, 10)");
  ASSERT_EQ(probabilities.values.size(), 80u);
  const int kLabels[kDigits] = {7, 2, 1, 0, 4, 1, 4, 9};  // MNIST's first test labels
  for (int i = 0; i < kDigits; ++i) {
    const float* p = &probabilities.values[i * 10];
    EXPECT_EQ(std::max_element(p, p + 10) - p, kLabels[i]) << i;
    double sum = 0;
    for (int k = 0; k < 10; ++k) sum += p[k];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }

  // The weights written are the checkpoint's.
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel model, LoadSavedModel(ShippedModel()));
  NABLA_ASSERT_OK_AND_ASSIGN(int w, model.session->graph().FindNode("conv1/w"));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> expected,
                             model.session->Run({}, {NodeOutput{w, 0}}));
  NpyF32 weights = ReadF32Npy(dir + "/out/nested/conv1_w.npy");
  EXPECT_EQ(weights.shape, "(32, 1, 5, 5)");
  ASSERT_EQ(weights.values.size(), 800u);
  EXPECT_EQ(std::memcmp(weights.values.data(), expected[0].raw_data(), 800 * sizeof(float)), 0);

  // The training head runs too when the labels are fed.
  WriteAll(dir + "/labels.npy",
           NpyBytes("<i4", {kDigits}, std::string(reinterpret_cast<const char*>(kLabels),
                                                  sizeof(kLabels))));
  Result head = Nabla({"run", "--model=" + ShippedModel(), "--feed=images=digits.npy",
                       "--feed=labels=labels.npy", "--fetch=accuracy", "--out_dir=head"},
                      dir);
  ASSERT_EQ(head.code, 0) << head.err;
  EXPECT_EQ(ReadF32Npy(dir + "/head/accuracy.npy").values, std::vector<float>{1.0f});
}

TEST(Run, AnyGraphDefWithExactValues) {
  // y = x w + 1 with w all 0.5: exact in f32.
  const std::string dir = TestDir();
  GraphBuilder b;
  Output x = b.Placeholder("in/x", {kUnknownDim, 3});
  Output w = b.Variable("w", {3, 2}, Initializer::Constant(0.5f));
  Output y = Add(MatMul(x, w), b.Scalar(1.0f), "out/y");
  ASSERT_TRUE(y.valid());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK(SaveGraph(graph, dir + "/affine.pb"));
  WriteAll(dir + "/x.npy", F32Npy({2, 3}, {1, 2, 3, -4, 0, 8}));
  Result r = Nabla({"run", "--model=affine.pb", "--feed=in/x=x.npy", "--fetch=out/y",
                    "--out_dir=o"},
                   dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("note: 'affine.pb' has no checkpoint"));
  NpyF32 out = ReadF32Npy(dir + "/o/out_y.npy");
  EXPECT_EQ(out.shape, "(2, 2)");
  EXPECT_EQ(out.values, (std::vector<float>{4, 4, 3, 3}));
}

TEST(Run, BadFeedsAndFetches) {
  const std::string dir = TestDir();
  WriteDigitsNpy(dir + "/digits.npy", 2);
  WriteAll(dir + "/float.npy", F32Npy({2, 1, 28, 28}, std::vector<float>(2 * 784, 0.5f)));
  WriteAll(dir + "/short.npy", NpyBytes("|u1", {2, 1, 27, 28}, std::string(2 * 27 * 28, 'a')));
  WriteAll(dir + "/rank.npy", NpyBytes("|u1", {784}, std::string(784, 'a')));
  WriteAll(dir + "/garbage.npy", "\x93NUMPY garbage");
  // Two fetches that would share a file name.
  GraphBuilder b;
  Output x = b.Placeholder("a/b", {2});
  Output y = Relu(x, "a_b");
  ASSERT_TRUE(y.valid());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK(SaveGraph(graph, dir + "/clash.pbtxt"));
  WriteAll(dir + "/two.npy", F32Npy({2}, {1, 2}));

  const std::string model = "--model=" + ShippedModel();
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--feed=images=float.npy", "--fetch=probabilities"}, 1,
            "'float.npy' holds f32[2,1,28,28] but 'images' is u8[?,1,28,28]: the dtypes differ"},
           {{"--feed=images=short.npy", "--fetch=probabilities"}, 1,
            "'short.npy' holds u8[2,1,27,28] but 'images' is u8[?,1,28,28]: the shapes do not agree"},
           {{"--feed=images=rank.npy", "--fetch=probabilities"}, 1, "the shapes do not agree"},
           {{"--feed=images=garbage.npy", "--fetch=probabilities"}, 1, "garbage.npy"},
           {{"--feed=images=missing.npy", "--fetch=probabilities"}, 1, "missing.npy"},
           {{"--feed=imagez=digits.npy", "--fetch=probabilities"}, 1,
            "--feed=imagez=digits.npy: no node named 'imagez'"},
           {{"--feed=images:3=digits.npy", "--fetch=probabilities"}, 1, "images:3"},
           {{"--feed=images=digits.npy", "--fetch=probabilitiez"}, 1,
            "--fetch=probabilitiez: no node named 'probabilitiez'"},
           {{"--feed=images=digits.npy", "--fetch=loss"}, 1, "'labels'"},
           {{"--fetch=probabilities"}, 1, "'images'"},
           {{"--model=nowhere", "--feed=images=digits.npy", "--fetch=probabilities"}, 1,
            "nowhere"},
           {{"--model=clash.pbtxt", "--feed=a/b=two.npy", "--fetch=a/b", "--fetch=a_b"}, 2,
            "--fetch=a_b and --fetch=a/b would both be written to a_b.npy"},
       }) {
    std::vector<std::string> args = {"run", model};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.push_back("--out_dir=out");
    Result r = Nabla(args, dir);
    const std::string line = absl::StrJoin(c.args, " ");
    EXPECT_EQ(r.code, c.code) << line << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << line;
    EXPECT_THAT(r.err, StartsWith("nabla run: ")) << line;
    EXPECT_FALSE(Exists(dir + "/out")) << line;
  }
  Result unwritable = Nabla({"run", model, "--feed=images=digits.npy",
                             "--fetch=probabilities", "--out_dir=/proc/nabla"},
                            dir);
  EXPECT_EQ(unwritable.code, 1);
  EXPECT_THAT(unwritable.err, HasSubstr("/proc/nabla"));
}

// -------------------------------- predict -------------------------------

TEST(Predict, MnistDigitsAsScans) {
  const std::string dir = TestDir();
  Digits digits = WriteDigitImages(dir, 10);
  Result r = Nabla([&] {
    std::vector<std::string> args = {"predict"};
    args.insert(args.end(), digits.files.begin(), digits.files.end());
    return args;
  }(), dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), digits.files.size()) << r.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    // "digit0.pgm: 7 (99.99%), then 3 (0.01%), 2 (0.00%)"
    EXPECT_THAT(lines[i], ::testing::MatchesRegex(absl::StrCat(
                              digits.files[i], ": ", digits.labels[i],
                              " \\([0-9.]+%\\), then [0-9] \\([0-9.e+-]+%\\), [0-9] \\([0-9.e+-]+%\\)")))
        << lines[i];
  }
}

// The sample photos shipped in data/digits, with their labels.csv.
TEST(Predict, TheShippedSampleDigits) {
  std::vector<std::string> rows =
      absl::StrSplit(ReadAll("data/digits/labels.csv"), '\n', absl::SkipEmpty());
  ASSERT_GT(rows.size(), 10u);
  ASSERT_EQ(rows[0], "file,digit");
  std::vector<std::string> args = {"predict"};
  std::vector<std::string> expected;
  for (size_t i = 1; i < rows.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(rows[i], ',');
    ASSERT_EQ(fields.size(), 2u) << rows[i];
    args.push_back(absl::StrCat(std::getenv("PWD"), "/data/digits/", fields[0]));
    expected.push_back(absl::StrCat(args.back(), ": ", fields[1], " ("));
  }
  Result r = Nabla(args);
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], StartsWith(expected[i]));
    // Confident answers are told apart, not all rounded to 100.00%.
    EXPECT_THAT(lines[i], Not(HasSubstr("(100.00%)")));
    EXPECT_THAT(lines[i], Not(HasSubstr("(0.00%)")));
  }
}

TEST(Predict, JsonAndTheDefaultModel) {
  const std::string dir = TestDir();
  Digits digits = WriteDigitImages(dir, 3);
  // No --model: the shipped one, found through the runfiles.
  Result r = Nabla({"predict", "--json", digits.files[0], digits.files[1], digits.files[2]}, dir);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_THAT(doc["model"].get<std::string>(), HasSubstr("data/models/lecture"));
  ASSERT_EQ(doc["predictions"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const nlohmann::json& p = doc["predictions"][i];
    EXPECT_EQ(p["file"], digits.files[i]);
    EXPECT_EQ(p["digit"], digits.labels[i]);
    ASSERT_EQ(p["probabilities"].size(), 10u);
    double sum = 0, top = p["probability"];
    for (double q : p["probabilities"]) sum += q;
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(top, p["probabilities"][digits.labels[i]].get<double>());
    ASSERT_EQ(p["next"].size(), 2u);
    EXPECT_NE(p["next"][0]["digit"], p["digit"]);
    EXPECT_LE(p["next"][0]["probability"].get<double>(), top);
    EXPECT_LE(p["next"][1]["probability"].get<double>(),
              p["next"][0]["probability"].get<double>());
  }
  // The same answers as the text output.
  Result text = Nabla({"predict", "--model=" + ShippedModel(), "--threads=1", digits.files[0]},
                      dir);
  EXPECT_THAT(text.out, StartsWith(absl::StrCat(digits.files[0], ": ", digits.labels[0], " (")));
}

TEST(Predict, BadImagesAreReportedAndTheOthersStillClassified) {
  const std::string dir = TestDir();
  Digits digits = WriteDigitImages(dir, 2);
  std::string blank = "P5\n28 28\n255\n" + std::string(28 * 28, '\xff');
  WriteAll(dir + "/blank.pgm", blank);
  WriteAll(dir + "/text.png", "this is no image");
  WriteAll(dir + "/truncated.pgm", "P5\n84 84\n255\nabc");
  Result r = Nabla({"predict", digits.files[0], "missing.png", "blank.pgm", "text.png",
                    "truncated.pgm", digits.files[1]},
                   dir);
  EXPECT_EQ(r.code, 1);
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(lines[0], StartsWith(absl::StrCat(digits.files[0], ": ", digits.labels[0])));
  EXPECT_THAT(lines[1], StartsWith(absl::StrCat(digits.files[1], ": ", digits.labels[1])));
  for (const char* message : {"nabla predict: cannot open 'missing.png'",
                              "nabla predict: 'blank.pgm': no digit found",
                              "nabla predict: 'text.png': not a PNG, JPEG or PGM/PPM image",
                              "nabla predict: 'truncated.pgm': corrupt or truncated"}) {
    EXPECT_THAT(r.err, HasSubstr(message)) << r.err;
  }
  EXPECT_THAT(r.err, HasSubstr("4 of 6 images could not be classified"));

  Result json = Nabla({"predict", "--json", "missing.png", digits.files[0]}, dir);
  EXPECT_EQ(json.code, 1);
  nlohmann::json doc = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json.out;
  EXPECT_THAT(doc["predictions"][0]["error"].get<std::string>(), HasSubstr("missing.png"));
  EXPECT_EQ(doc["predictions"][1]["digit"], digits.labels[0]);
}

TEST(Predict, JsonForFileNamesThatAreNotUtf8) {
  const std::string dir = TestDir();
  Digits digits = WriteDigitImages(dir, 1);
  const std::string latin1 = "caf\xe9.pgm";
  ASSERT_EQ(std::rename((dir + "/" + digits.files[0]).c_str(), (dir + "/" + latin1).c_str()), 0);
  Result r = Nabla({"predict", "--json", latin1, "missing\xff.png"}, dir);
  EXPECT_EQ(r.code, 1) << r.err;
  nlohmann::json doc = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc["predictions"][0]["file"], "caf\xef\xbf\xbd.pgm");  // U+FFFD
  EXPECT_EQ(doc["predictions"][0]["digit"], digits.labels[0]);
  EXPECT_THAT(doc["predictions"][1]["error"].get<std::string>(), HasSubstr("missing"));
}

TEST(Predict, BadModels) {
  const std::string dir = TestDir();
  Digits digits = WriteDigitImages(dir, 1);
  WriteLectureGraphs(dir);  // a graph without a checkpoint
  struct Case {
    std::string model, message;
  };
  for (const Case& c : std::vector<Case>{
           {"nowhere", "no model at 'nowhere'"},
           {"model", "model folder 'model' has a graph but no checkpoint.ckpt"},
           {"lecture.pbtxt", "'lecture.pbtxt' is a bare graph without a checkpoint"},
       }) {
    Result r = Nabla({"predict", "--model=" + c.model, digits.files[0]}, dir);
    EXPECT_EQ(r.code, 1) << c.model;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << r.err;
    EXPECT_THAT(r.out, IsEmpty());
  }
}

}  // namespace
}  // namespace nabla
