#include "tools/cli.h"

#include <cstdio>
#include <exception>
#include <new>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace nabla {
namespace {

constexpr absl::string_view kUsagePayload = "nabla.usage";

using StringList = std::vector<std::string>;

const Command* FindCommand(absl::Span<const Command> commands,
                           absl::string_view name) {
  for (const Command& command : commands) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

bool Accepts(const Command& command, absl::string_view flag) {
  for (const char* name : command.flags) {
    if (flag == name) return true;
  }
  return false;
}

void PrintOverview(absl::Span<const Command> commands, std::FILE* out) {
  std::fprintf(out,
               "nabla: one command line for nabla models.\n\n"
               "Usage: nabla <command> [flags] [arguments]\n"
               "       nabla <command> --help    (that command's flags)\n\n"
               "Commands:\n");
  size_t width = 0;
  for (const Command& command : commands) {
    width = std::max(width, absl::string_view(command.name).size());
  }
  for (const Command& command : commands) {
    std::fprintf(out, "  %-*s  %s\n", static_cast<int>(width), command.name,
                 command.summary);
  }
  std::fprintf(out,
               "\nMODEL is a folder saved by the MNIST example (model.pbtxt "
               "or model.pb, checkpoint.ckpt) or a GraphDef file (.pb binary, "
               ".pbtxt text).\nExit codes: 0 success, 1 error, 2 bad usage.\n");
}

void PrintCommandHelp(const Command& command, std::FILE* out) {
  std::fprintf(out, "Usage: nabla %s\n\n%s\n", command.usage, command.description);
  if (command.flags.empty()) return;
  std::fprintf(out, "\nFlags:\n");
  for (const char* name : command.flags) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    std::string shown = flag->IsOfType<bool>() ? absl::StrCat("--[no]", name)
                                               : absl::StrCat("--", name);
    if (flag->IsOfType<StringList>()) absl::StrAppend(&shown, " (repeatable)");
    std::string default_value = flag->DefaultValue();
    if (!default_value.empty()) {
      absl::StrAppend(&shown, " (default: ", default_value, ")");
    }
    std::fprintf(out, "  %s\n      %s\n", shown.c_str(), flag->Help().c_str());
  }
}

int BadUsage(const Command* command, absl::string_view message) {
  if (command == nullptr) {
    std::fprintf(stderr, "nabla: %s\nRun 'nabla --help' for the commands.\n",
                 std::string(message).c_str());
  } else {
    std::fprintf(stderr,
                 "nabla %s: %s\nUsage: nabla %s\nRun 'nabla %s --help' for its "
                 "flags.\n",
                 command->name, std::string(message).c_str(), command->usage,
                 command->name);
  }
  return 2;
}

// ParseArguments fills `invocation` from argv[first..] for `command`; a
// usage error names the offending argument. Sets *help for --help.
absl::Status ParseArguments(const Command& command, int argc, char** argv,
                            int first, Invocation* invocation, bool* help) {
  bool flags_done = false;
  for (int i = first; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      invocation->args.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    absl::string_view body = arg;
    if (!absl::ConsumePrefix(&body, "--")) absl::ConsumePrefix(&body, "-");
    std::optional<std::string> value;
    std::string name(body);
    if (size_t eq = body.find('='); eq != absl::string_view::npos) {
      name = std::string(body.substr(0, eq));
      value = std::string(body.substr(eq + 1));
    }
    if (name == "help" || name == "h") {
      *help = true;
      return absl::OkStatus();
    }
    absl::CommandLineFlag* flag =
        Accepts(command, name) ? absl::FindCommandLineFlag(name) : nullptr;
    // --noflag for a boolean flag.
    if (flag == nullptr && !value.has_value() && absl::StartsWith(name, "no") &&
        Accepts(command, name.substr(2))) {
      absl::CommandLineFlag* negated = absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        flag = negated;
        name = name.substr(2);
        value = "false";
      }
    }
    if (flag == nullptr) {
      return UsageError(absl::StrCat("unknown flag '", arg, "'"));
    }
    if (!value.has_value()) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = std::string(argv[++i]);
      } else {
        return UsageError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (flag->IsOfType<StringList>()) {
      invocation->repeated[name].push_back(*value);
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(*value, &error)) {
      return UsageError(absl::StrCat("bad value for --", name, ": ", error));
    }
  }
  const int n = static_cast<int>(invocation->args.size());
  if (n < command.min_args || (command.max_args >= 0 && n > command.max_args)) {
    std::string expected =
        command.min_args == command.max_args
            ? absl::StrCat(command.min_args)
            : command.max_args < 0 ? absl::StrCat("at least ", command.min_args)
                                   : absl::StrCat(command.min_args, " to ",
                                                  command.max_args);
    const bool one = command.min_args == 1 &&
                     (command.max_args == 1 || command.max_args < 0);
    return UsageError(absl::StrCat("expected ", expected, " argument",
                                   one ? "" : "s", ", got ", n));
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& Invocation::Values(const std::string& flag) const {
  static const std::vector<std::string>* const kNone = new std::vector<std::string>();
  auto it = repeated.find(flag);
  return it == repeated.end() ? *kNone : it->second;
}

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

int RunCommandLine(absl::Span<const Command> commands, int argc, char** argv) {
  if (argc < 2) {
    PrintOverview(commands, stderr);
    return 2;
  }
  absl::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    if (name == "help" && argc > 2) {
      const Command* command = FindCommand(commands, argv[2]);
      if (command == nullptr) {
        return BadUsage(nullptr, absl::StrCat("unknown command '", argv[2], "'"));
      }
      PrintCommandHelp(*command, stdout);
      return 0;
    }
    PrintOverview(commands, stdout);
    return 0;
  }
  const Command* command = FindCommand(commands, name);
  if (command == nullptr) {
    return BadUsage(nullptr, absl::StrCat("unknown command '", name, "'"));
  }

  Invocation invocation;
  bool help = false;
  absl::Status status = ParseArguments(*command, argc, argv, 2, &invocation, &help);
  if (help) {
    PrintCommandHelp(*command, stdout);
    return 0;
  }
  if (status.ok()) {
    // The library returns errors as values; this is the last line of
    // defence for a throwing allocation in a dependency.
    try {
      status = command->run(invocation);
    } catch (const std::bad_alloc&) {
      status = absl::ResourceExhaustedError("out of memory");
    } catch (const std::exception& e) {
      status = absl::InternalError(e.what());
    }
  }
  if (status.ok()) return 0;
  if (IsUsageError(status)) return BadUsage(command, status.message());
  std::fprintf(stderr, "nabla %s: %s\n", command->name,
               std::string(status.message()).c_str());
  return 1;
}

}  // namespace nabla
