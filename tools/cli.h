// The machinery of the `nabla` command line: a table of subcommands, each
// with its usage, its own flags and a function that runs it; parsing that
// accepts only the chosen subcommand's flags; exit codes; user paths.
//
// A subcommand is one file that defines its Abseil flags and a Command:
//
//   ABSL_FLAG(bool, json, false, "Print JSON instead of text.");
//   absl::Status RunPredict(const Invocation& invocation) {...}
//   const Command kPredictCommand = {
//       "predict", "Recognise handwritten digits in images",
//       "predict [--model=DIR] [--json] IMAGE...", "...", {"model", "json"},
//       /*min_args=*/1, /*max_args=*/-1, RunPredict};
//
// and one line in tools/nabla.cc's table. Exit codes: 0 on success, 1 on an
// error (the Status message on stderr, naming the file and the problem),
// 2 on bad usage (an unknown subcommand or flag, a flag of another
// subcommand, a bad flag value, the wrong number of arguments, or a
// UsageError from the subcommand), with the subcommand's usage.

#ifndef NABLA_TOOLS_CLI_H_
#define NABLA_TOOLS_CLI_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace nabla {

// Invocation is what a subcommand is given: its positional arguments (as
// typed) and the values of its repeatable flags. Other flags are read
// with absl::GetFlag.
struct Invocation {
  std::vector<std::string> args;
  // For each flag of type std::vector<std::string>, the value of each of
  // its occurrences in order; commas are not special ("--feed=a=x.npy
  // --feed=b=y.npy" gives {"a=x.npy", "b=y.npy"}).
  std::map<std::string, std::vector<std::string>> repeated;

  // Values returns repeated[flag], empty if it was not given.
  const std::vector<std::string>& Values(const std::string& flag) const;
};

// Command describes one subcommand.
struct Command {
  const char* name;
  // One line for `nabla --help`.
  const char* summary;
  // The synopsis after "Usage: nabla ".
  const char* usage;
  // What `nabla <name> --help` prints between the usage and the flags.
  const char* description;
  // The Abseil flags the subcommand reads; no other flag is accepted.
  std::vector<const char*> flags;
  // How many positional arguments it takes; max_args -1 for any number.
  int min_args = 0;
  int max_args = 0;
  absl::Status (*run)(const Invocation& invocation) = nullptr;
};

// UsageError makes an error that RunCommandLine reports as bad usage (exit
// code 2, with the subcommand's usage).
absl::Status UsageError(absl::string_view message);
// IsUsageError is true for a status made by UsageError.
bool IsUsageError(const absl::Status& status);

// RunCommandLine selects the subcommand named by argv[1] from `commands`,
// parses its flags and arguments, runs it and returns the exit code.
int RunCommandLine(absl::Span<const Command> commands, int argc, char** argv);

}  // namespace nabla

#endif  // NABLA_TOOLS_CLI_H_
