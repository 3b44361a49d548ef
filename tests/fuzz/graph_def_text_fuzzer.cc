// Fuzz target: loading a text-format GraphDef (graph/graph_def.h), then
// compiling and running whatever loads for a batch of 2.

#include <cstddef>
#include <cstdint>

#include "graph/graph_def.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nabla::fuzz::LoadGraphDef(data, size, nabla::GraphFormat::kText);
  return 0;
}
