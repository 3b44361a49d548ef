// The subcommands of `nabla`, one file each (tools/<name>_command.cc), and
// what several of them share. tools/nabla.cc lists them.

#ifndef NABLA_TOOLS_COMMANDS_H_
#define NABLA_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"
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

// CheckNoBareGraph refuses `models` (ModelsFromFlag's list) if one is a
// GraphDef file where trained models are needed (predict, evaluate): a bare
// graph loads with its initial weights, so its answers would be noise given
// with confidence. Folders pass.
absl::Status CheckNoBareGraph(const std::vector<std::string>& models);

// PrintJson writes `document` to stdout, indented by 2, and a newline.
// Strings that are not UTF-8 (file and folder names need not be) have their
// bad bytes replaced by U+FFFD, since a JSON document must be UTF-8.
void PrintJson(const nlohmann::ordered_json& document);

}  // namespace nabla

#endif  // NABLA_TOOLS_COMMANDS_H_
