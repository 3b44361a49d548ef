// World: the processes of an MPI job, and the one thread that talks to MPI.
//
// nabla runs MPI only when asked: a program calls dist::World::Init (under
// `mpirun -np N`, or alone, where Open MPI runs as a singleton of one
// process), and until then every dist/ op behaves as on one process. Every
// collective goes through World's communication thread, in the order it was
// submitted, so the main thread keeps computing while a reduction is in
// flight, and every rank issues its collectives in the same order.
//
//   NABLA_ASSIGN_OR_RETURN(dist::World* world, dist::World::Init(&argc, &argv));
//   ... build, check (dist/data_parallel.h), train ...
//   dist::World::Shutdown();
//
// Failure: Open MPI has no timeout of its own, so the thread polls each
// request and, past WorldOptions::timeout, prints which rank waited on which
// collective and ends the whole job with MPI_Abort. A rank that dies
// outright is noticed by mpirun, which ends the others.

#ifndef NABLA_DIST_WORLD_H_
#define NABLA_DIST_WORLD_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nabla {
namespace dist {

// Reduction says how AllReduce combines the processes' values.
enum class Reduction { kSum, kMean };

// ParseReduction reads "sum" or "mean".
absl::StatusOr<Reduction> ParseReduction(const std::string& name);
const char* ReductionName(Reduction reduction);

struct WorldOptions {
  // How long any one collective may take before the job is aborted. Long
  // enough for the slowest rank's step (the others wait for it), short
  // enough that a hung job ends.
  absl::Duration timeout = absl::Seconds(60);
  // Reduce in rank order (gather to rank 0, sum ranks 0, 1, 2, ..., then
  // broadcast) instead of MPI_Iallreduce, whose algorithm and so whose
  // rounding Open MPI picks by message size and process count. Results are
  // then the same bit for bit from run to run for a given process count;
  // it costs rank 0 (P-1) times the bucket in traffic.
  bool fixed_order = false;
  // How long the communication thread sleeps between tests of a request
  // once it has tested it 64 times in a row. Open MPI moves a transfer
  // forward only inside such tests, so a shorter sleep finishes sooner but
  // takes more of a core from the computation; zero yields instead.
  absl::Duration poll_sleep = absl::Microseconds(20);
};

// CollectiveStats measure the collectives since the last reset.
struct CollectiveStats {
  int64_t collectives = 0;
  double bytes = 0;  // payload per rank
  // Seconds the communication thread spent on them, from issuing each to
  // its completion.
  double busy_seconds = 0;
  // Seconds callers spent blocked waiting for them: the communication not
  // hidden behind computation.
  double blocked_seconds = 0;
};

// Ticket is a submitted collective; Await it once.
class Ticket;

class World {
 public:
  // Init starts MPI (once per process) and the communication thread.
  // Errors: FailedPrecondition if MPI was started already or cannot give
  // the thread level needed (MPI_THREAD_SERIALIZED).
  static absl::StatusOr<World*> Init(int* argc, char*** argv,
                                     WorldOptions options = {});
  // The running world, or nullptr when Init was not called: one process.
  static World* Get();
  // Shutdown stops the thread and finalizes MPI. Every rank must call it.
  static void Shutdown();
  // Abort prints `message` naming this rank and ends every rank of the job
  // with `code` (MPI_Abort). Use it where this rank failed alone, so that
  // the others do not wait for it until they time out.
  [[noreturn]] static void Abort(const std::string& message, int code = 1);

  int rank() const { return rank_; }
  int size() const { return size_; }
  const WorldOptions& options() const { return options_; }
  // "rank 1 of 4 (host)", for messages.
  std::string Describe() const;

  // A Poller waits for MPI requests on the communication thread, aborting
  // the job past the timeout with a message naming `what`.
  class Poller {
   public:
    // Waits for `request` (an MPI_Request passed as its address).
    void Wait(void* request, const char* phase) const;
    // What the work being run is, for messages.
    const std::string& what() const { return *what_; }

   private:
    friend class World;
    Poller(const World* world, const std::string* what, absl::Time deadline)
        : world_(world), what_(what), deadline_(deadline) {}
    const World* world_;
    const std::string* what_;
    absl::Time deadline_;
  };
  // Work runs on the communication thread: it issues MPI calls and waits
  // for their requests with the poller.
  using Work = std::function<void(const Poller&)>;

  // Submit queues `work`, described by `what` ("AllReduce of bucket
  // 'AllReduce/bucket_0' (1025000 floats)") for messages; `bytes` counts
  // toward the stats.
  std::shared_ptr<Ticket> Submit(std::string what, double bytes, Work work);
  // Await blocks until the ticket's work is done.
  void Await(const std::shared_ptr<Ticket>& ticket);
  // Run submits and awaits.
  void Run(std::string what, double bytes, Work work);

  // In-flight reductions by buffer, so that the kernel that waits for one
  // finds what the kernel that started it submitted.
  void Park(const void* buffer, std::shared_ptr<Ticket> ticket);
  std::shared_ptr<Ticket> Unpark(const void* buffer);

  CollectiveStats stats() const;
  void ResetStats();

  // Scratch for the fixed-order reduction; only the communication thread
  // uses it.
  std::vector<float>& scratch() { return scratch_; }

  ~World();

 private:
  explicit World(WorldOptions options) : options_(options) {}
  void Loop();

  WorldOptions options_;
  int rank_ = 0;
  int size_ = 1;
  std::string host_;

  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  std::deque<std::shared_ptr<Ticket>> queue_;
  bool stopping_ = false;
  CollectiveStats stats_;
  absl::flat_hash_map<const void*, std::shared_ptr<Ticket>> parked_;
  std::vector<float> scratch_;
  std::thread thread_;
};

// AllReduceFloats reduces data[0, count) over the world's processes in
// place, on the communication thread, with the world's order. Returns the
// ticket; nullptr when there is nothing to do (no world, or one process).
std::shared_ptr<Ticket> StartAllReduce(float* data, int64_t count,
                                       Reduction reduction, std::string what);

// SumAcrossRanks adds `values` element-wise over the processes, in place,
// in double precision, and waits. One process: unchanged.
void SumAcrossRanks(double* values, int count, const std::string& what);

}  // namespace dist
}  // namespace nabla

#endif  // NABLA_DIST_WORLD_H_
