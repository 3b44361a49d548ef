// Prints the name of every op in the registry, sorted, one a line. Built
// twice by .ci/embedding.sh: by Bazel (ops linked statically, alwayslink)
// and against the installed libnabla.so with pkg-config; the two lists must
// be the same, so that no registration is lost to the linker either way.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "graph/op_registry.h"

int main() {
  std::vector<std::string> names;
  for (const nabla::OpSchema* schema : nabla::OpRegistry::Global().All()) {
    names.push_back(schema->name());
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) std::printf("%s\n", name.c_str());
  return names.empty() ? 1 : 0;
}
