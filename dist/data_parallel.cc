#include "dist/data_parallel.h"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file.h"
#include "dist/world.h"
#include "graph/graph_def.h"

namespace nabla {
namespace dist {
namespace {

constexpr char kEveryRankPayload[] = "nabla.dist/every-rank";

// FNV-1a: stable across processes and machines, unlike absl::Hash, which
// is seeded per process.
uint64_t Fnv1a(const void* data, size_t size, uint64_t hash = 14695981039346656037ull) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

uint64_t Fnv1a(const std::string& text, uint64_t hash = 14695981039346656037ull) {
  return Fnv1a(text.data(), text.size(), hash);
}

}  // namespace

Fingerprint FingerprintOf(const Session& session,
                          absl::Span<const uint64_t> state) {
  Fingerprint f;
  f.graph = Fnv1a(SerializeDeterministically(ToGraphDef(session.graph())));
  uint64_t vars = Fnv1a(std::string());
  for (const std::string& name : session.variables().Names()) {
    const Tensor* t = session.variables().Find(name);
    vars = Fnv1a(absl::StrCat(name, " ", t->DebugString(), ";"), vars);
  }
  f.variables = vars;
  f.state = Fnv1a(state.data(), state.size() * sizeof(uint64_t));
  f.nodes = session.graph().num_nodes();
  return f;
}

absl::Status CheckSameEverywhere(const Session& session,
                                 absl::Span<const uint64_t> state) {
  World* world = World::Get();
  if (world == nullptr || world->size() == 1) return absl::OkStatus();
  const Fingerprint mine = FingerprintOf(session, state);
  std::vector<Fingerprint> all(world->size());
  static_assert(sizeof(Fingerprint) == 4 * sizeof(uint64_t), "packed");
  world->Run("the start-up fingerprint exchange (MPI_Iallgather)",
             sizeof(Fingerprint), [&](const World::Poller& poller) {
               MPI_Request request;
               MPI_Iallgather(&mine, 4, MPI_UINT64_T, all.data(), 4,
                              MPI_UINT64_T, MPI_COMM_WORLD, &request);
               poller.Wait(&request, "MPI_Iallgather");
             });
  std::vector<std::string> differences;
  const Fingerprint& root = all[0];
  for (int r = 1; r < world->size(); ++r) {
    std::vector<std::string> what;
    if (all[r].graph != root.graph) {
      what.push_back(all[r].nodes == root.nodes
                         ? std::string("its graph")
                         : absl::StrCat("its graph (", all[r].nodes,
                                        " nodes, rank 0 has ", root.nodes, ")"));
    }
    if (all[r].variables != root.variables) {
      what.push_back("its variables' names, dtypes or shapes");
    }
    if (all[r].state != root.state) {
      what.push_back("its training state (epoch or step, e.g. another checkpoint)");
    }
    if (!what.empty()) {
      differences.push_back(
          absl::StrCat("rank ", r, " differs from rank 0 in ", absl::StrJoin(what, " and ")));
    }
  }
  if (differences.empty()) return absl::OkStatus();
  absl::Status status = absl::FailedPreconditionError(absl::StrCat(
      "the ranks do not run the same model: ", absl::StrJoin(differences, "; "),
      ". Every rank must build the same graph (same flags, same files)."));
  status.SetPayload(kEveryRankPayload, absl::Cord("1"));
  return status;
}

absl::Status BroadcastVariables(Session* session) {
  World* world = World::Get();
  if (world == nullptr || world->size() == 1) return absl::OkStatus();
  for (const std::string& name : session->variables().Names()) {
    const Tensor* t = session->variables().Find(name);
    if (t->nbytes() > static_cast<size_t>(1) << 30) {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable '", name, "' is too large to broadcast in one message"));
    }
    void* data = t->raw_data();
    const int bytes = static_cast<int>(t->nbytes());
    world->Run(absl::StrCat("the broadcast of variable '", name, "' from rank 0"),
               bytes, [data, bytes](const World::Poller& poller) {
                 MPI_Request request;
                 MPI_Ibcast(data, bytes, MPI_BYTE, 0, MPI_COMM_WORLD, &request);
                 poller.Wait(&request, "MPI_Ibcast");
               });
    // Kernels that keep converted copies of a variable (reordered filters)
    // must see that its contents changed.
    session->variables().MarkWritten(name);
  }
  return absl::OkStatus();
}

absl::Status Synchronize(Session* session, absl::Span<const uint64_t> state) {
  absl::Status same = CheckSameEverywhere(*session, state);
  if (!same.ok()) return same;
  return BroadcastVariables(session);
}

bool FailedOnEveryRank(const absl::Status& status) {
  return status.GetPayload(kEveryRankPayload).has_value();
}

uint64_t VariablesChecksum(const Session& session) {
  uint64_t hash = Fnv1a(std::string());
  for (const std::string& name : session.variables().Names()) {
    const Tensor* t = session.variables().Find(name);
    hash = Fnv1a(name, hash);
    hash = Fnv1a(t->raw_data(), t->nbytes(), hash);
  }
  return hash;
}

bool ReducesGradients(const Graph& graph) {
  for (const Node& node : graph.nodes()) {
    if (absl::StartsWith(node.op(), "AllReduce")) return true;
  }
  return false;
}

int ThreadsPerRank() {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  int ranks = 1;
  if (local == nullptr || !absl::SimpleAtoi(local, &ranks) || ranks < 1) {
    ranks = 1;
  }
  return std::max(1, cores / ranks);
}

Sharding WorldSharding() {
  Sharding sharding;
  World* world = World::Get();
  if (world == nullptr) return sharding;
  sharding.rank = world->rank();
  sharding.size = world->size();
  sharding.sum = [](absl::Span<double> values) {
    SumAcrossRanks(values.data(), static_cast<int>(values.size()),
                   "the sum of the training logs across ranks");
  };
  return sharding;
}

}  // namespace dist
}  // namespace nabla
