// nabla: one command line for nabla models.
//
//   bazel run -c opt //tools:nabla -- predict my_seven.png
//   bazel run -c opt //tools:nabla -- summary /tmp/mnist
//   bazel run -c opt //tools:nabla -- dot --training /tmp/mnist > m.dot
//   bazel run -c opt //tools:nabla -- --help
//
// A new subcommand is one file, tools/<name>_command.cc (see tools/cli.h),
// and one line in the table below.

#include <vector>

#include "tools/cli.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  const std::vector<nabla::Command> commands = {
      nabla::PredictCommand(),
      nabla::SummaryCommand(),
      nabla::DotCommand(),
      nabla::ConvertCommand(),
      nabla::OpsCommand(),
      nabla::RunCommand(),
      nabla::ExportOnnxCommand(),
      nabla::QuantizeCommand(),
      nabla::EvaluateCommand(),
  };
  return nabla::RunCommandLine(commands, argc, argv);
}
