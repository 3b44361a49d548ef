// The subcommands of `nabla`, one file each (tools/<name>_command.cc), and
// what several of them share. tools/nabla.cc lists them.

#ifndef NABLA_TOOLS_COMMANDS_H_
#define NABLA_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/cli.h"

namespace nabla {

const Command& PredictCommand();
const Command& SummaryCommand();
const Command& DotCommand();
const Command& ConvertCommand();
const Command& OpsCommand();
const Command& RunCommand();
const Command& ExportOnnxCommand();
const Command& QuantizeCommand();
const Command& EvaluateCommand();

// ModelFromFlag is the model folder or GraphDef file --model names,
// resolved with UserPath, or the shipped lecture model when it is empty.
absl::StatusOr<std::string> ModelFromFlag();

// ModelsFromFlag is the folders of --model=DIR1,DIR2,... (an ensemble),
// each resolved with UserPath, or ModelFromFlag's one model when --model
// names no list; a usage error for an empty name in the list.
absl::StatusOr<std::vector<std::string>> ModelsFromFlag();

// ApplyThreadsFlag sets the thread count --threads asks for; a usage error
// for a negative count.
absl::Status ApplyThreadsFlag();

}  // namespace nabla

#endif  // NABLA_TOOLS_COMMANDS_H_
