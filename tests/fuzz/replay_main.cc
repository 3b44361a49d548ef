// A main() for a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput
// once on every file named on the command line or found in a directory
// named there (not recursively; README.md files, which describe a
// directory's inputs, are skipped). It fails if an argument does not exist
// or nothing was replayed, so a mistyped corpus path cannot pass silently.
//
// Under AddressSanitizer it also insists on leak detection, which the
// suite's --config=asan turns off: memory a reader loses on hostile input
// is a bug here (a server decoding uploads would leak it on every request).
//
//   idx_replay_test tests/fuzz/corpus/idx tests/fuzz/regressions/idx

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool IsDirectory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// The inputs `path` names, sorted so that every run replays in one order;
// false if it does not exist.
bool CollectInputs(const std::string& path, std::vector<std::string>* inputs) {
  if (!IsDirectory(path)) {
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) return false;
    inputs->push_back(path);
    return true;
  }
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return false;
  std::vector<std::string> found;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || name == "README.md") continue;
    std::string file = path + "/" + name;
    if (!IsDirectory(file)) found.push_back(file);
  }
  ::closedir(dir);
  std::sort(found.begin(), found.end());
  inputs->insert(inputs->end(), found.begin(), found.end());
  return true;
}

// True when this binary runs under AddressSanitizer (gcc or clang).
constexpr bool kAddressSanitizer =
#if defined(__SANITIZE_ADDRESS__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

// Runs this program again with leak detection on when ASAN_OPTIONS turned
// it off; the last setting of an option in ASAN_OPTIONS wins.
void InsistOnLeakDetection(char** argv) {
  if (!kAddressSanitizer) return;
  const char* options = std::getenv("ASAN_OPTIONS");
  if (options == nullptr || std::strstr(options, "detect_leaks=0") == nullptr ||
      std::getenv("NABLA_REPLAY_LEAKS_ON") != nullptr) {
    return;
  }
  std::string more = std::string(options) + ":detect_leaks=1";
  ::setenv("ASAN_OPTIONS", more.c_str(), 1);
  ::setenv("NABLA_REPLAY_LEAKS_ON", "1", 1);
  ::execv("/proc/self/exe", argv);
  std::perror("replay: cannot re-run with leak detection");  // and go on
}

}  // namespace

int main(int argc, char** argv) {
  InsistOnLeakDetection(argv);
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!CollectInputs(argv[i], &inputs)) {
      std::fprintf(stderr, "replay: '%s' does not exist\n", argv[i]);
      return 1;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "replay: no inputs (usage: %s FILE_OR_DIR...)\n",
                 argv[0]);
    return 1;
  }
  for (const std::string& input : inputs) {
    std::ifstream in(input, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "replay: cannot read '%s'\n", input.c_str());
      return 1;
    }
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", input.c_str(),
                 bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
  }
  std::fprintf(stderr, "replay: %zu inputs, no crash\n", inputs.size());
  return 0;
}
