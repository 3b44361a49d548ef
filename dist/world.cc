#include "dist/world.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace nabla {
namespace dist {

class Ticket {
 public:
  Ticket(std::string what, double bytes, World::Work work)
      : what(std::move(what)), bytes(bytes), work(std::move(work)) {}

  const std::string what;
  const double bytes;
  World::Work work;
  bool done = false;  // guarded by World::mu_
};

namespace {

World* g_world = nullptr;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

absl::StatusOr<Reduction> ParseReduction(const std::string& name) {
  if (name == "sum") return Reduction::kSum;
  if (name == "mean") return Reduction::kMean;
  return absl::InvalidArgumentError(
      absl::StrCat("reduction must be 'sum' or 'mean', not '", name, "'"));
}

const char* ReductionName(Reduction reduction) {
  return reduction == Reduction::kSum ? "sum" : "mean";
}

absl::StatusOr<World*> World::Init(int* argc, char*** argv,
                                   WorldOptions options) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized || g_world != nullptr) {
    return absl::FailedPreconditionError("dist::World::Init: MPI is started already");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dist::World::Init: the collective timeout must be positive, got ",
        absl::FormatDuration(options.timeout)));
  }
  // Only the communication thread calls MPI after this, but it is not the
  // thread that initialized it: SERIALIZED, not FUNNELED.
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) !=
      MPI_SUCCESS) {
    return absl::FailedPreconditionError("dist::World::Init: MPI_Init_thread failed");
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    return absl::FailedPreconditionError(absl::StrCat(
        "dist::World::Init: this MPI gives thread level ", provided,
        "; nabla needs MPI_THREAD_SERIALIZED"));
  }
  // Errors in MPI calls come back as codes instead of ending the job, so
  // that messages can say which collective failed.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  auto* world = new World(options);
  MPI_Comm_rank(MPI_COMM_WORLD, &world->rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world->size_);
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(host, &length);
  world->host_.assign(host, length);
  world->thread_ = std::thread([world] { world->Loop(); });
  g_world = world;
  return world;
}

World* World::Get() { return g_world; }

void World::Shutdown() {
  if (g_world == nullptr) return;
  delete g_world;
  g_world = nullptr;
  MPI_Finalize();
}

World::~World() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void World::Abort(const std::string& message, int code) {
  World* world = g_world;
  std::string who = world != nullptr ? world->Describe() : "one process";
  std::fprintf(stderr, "nabla dist: %s: %s\n", who.c_str(), message.c_str());
  std::fflush(stderr);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

std::string World::Describe() const {
  return absl::StrCat("rank ", rank_, " of ", size_, " (", host_, ")");
}

void World::Poller::Wait(void* request, const char* phase) const {
  auto* req = static_cast<MPI_Request*>(request);
  // Open MPI moves non-blocking collectives forward only inside MPI calls,
  // so the thread tests often; it sleeps between tests so as not to take a
  // core from the computation it hides behind.
  for (int polls = 0;; ++polls) {
    int flag = 0;
    int rc = MPI_Test(req, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING] = {};
      int length = 0;
      MPI_Error_string(rc, text, &length);
      World::Abort(absl::StrCat(*what_, " failed in ", phase, ": ",
                                std::string(text, length)),
                   3);
    }
    if (flag) return;
    if (absl::Now() > deadline_) {
      World::Abort(
          absl::StrCat(
              *what_, " did not complete within ",
              absl::FormatDuration(world_->options_.timeout), " (", phase,
              "): another rank died, hangs, or runs a different graph or "
              "dataset. Ending the job (raise --collective_timeout if a rank "
              "is only slow)."),
          124);
    }
    if (polls < 64) continue;
    if (world_->options_.poll_sleep <= absl::ZeroDuration()) {
      std::this_thread::yield();
    } else {
      absl::SleepFor(world_->options_.poll_sleep);
    }
  }
}

std::shared_ptr<Ticket> World::Submit(std::string what, double bytes,
                                      Work work) {
  auto ticket = std::make_shared<Ticket>(std::move(what), bytes, std::move(work));
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(ticket);
  }
  work_ready_.notify_one();
  return ticket;
}

void World::Await(const std::shared_ptr<Ticket>& ticket) {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  // The communication thread aborts the job when a collective times out;
  // this only guards against that thread itself being stuck inside MPI.
  const auto limit = absl::ToChronoSeconds(options_.timeout) * 2 +
                     std::chrono::seconds(30);
  if (!work_done_.wait_for(lock, limit, [&] { return ticket->done; })) {
    lock.unlock();
    World::Abort(absl::StrCat(ticket->what,
                              ": the communication thread stopped answering"),
                 124);
  }
  stats_.blocked_seconds += SecondsSince(start);
}

void World::Run(std::string what, double bytes, Work work) {
  Await(Submit(std::move(what), bytes, std::move(work)));
}

void World::Park(const void* buffer, std::shared_ptr<Ticket> ticket) {
  std::lock_guard<std::mutex> lock(mu_);
  parked_[buffer] = std::move(ticket);
}

std::shared_ptr<Ticket> World::Unpark(const void* buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = parked_.find(buffer);
  if (it == parked_.end()) return nullptr;
  std::shared_ptr<Ticket> ticket = std::move(it->second);
  parked_.erase(it);
  return ticket;
}

CollectiveStats World::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void World::ResetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_ = CollectiveStats();
}

void World::Loop() {
  for (;;) {
    std::shared_ptr<Ticket> ticket;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to do
      ticket = queue_.front();
      queue_.pop_front();
    }
    auto start = std::chrono::steady_clock::now();
    Poller poller(this, &ticket->what, absl::Now() + options_.timeout);
    ticket->work(poller);
    double seconds = SecondsSince(start);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ticket->done = true;
      ticket->work = nullptr;
      stats_.collectives += 1;
      stats_.bytes += ticket->bytes;
      stats_.busy_seconds += seconds;
    }
    work_done_.notify_all();
  }
}

namespace {

void Check(int rc, const std::string& what, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(rc, text, &length);
  World::Abort(absl::StrCat(what, ": ", call, " failed: ",
                            std::string(text, length)),
               3);
}

void Scale(float* data, int64_t count, float factor) {
  for (int64_t i = 0; i < count; ++i) data[i] *= factor;
}

// Gather to rank 0, sum in rank order, broadcast: the same additions in the
// same order whatever MPI's algorithms.
void FixedOrderAllReduce(World* world, float* data, int count,
                         Reduction reduction, const std::string& what,
                         const World::Poller& poller) {
  const int size = world->size();
  std::vector<float>& scratch = world->scratch();
  if (world->rank() == 0 &&
      scratch.size() < static_cast<size_t>(count) * size) {
    scratch.resize(static_cast<size_t>(count) * size);
  }
  MPI_Request request;
  Check(MPI_Igather(data, count, MPI_FLOAT, scratch.data(), count, MPI_FLOAT,
                    0, MPI_COMM_WORLD, &request),
        what, "MPI_Igather");
  poller.Wait(&request, "gathering to rank 0");
  if (world->rank() == 0) {
    for (int r = 1; r < size; ++r) {
      const float* part = scratch.data() + static_cast<size_t>(r) * count;
      for (int i = 0; i < count; ++i) data[i] += part[i];
    }
    if (reduction == Reduction::kMean) Scale(data, count, 1.0f / size);
  }
  Check(MPI_Ibcast(data, count, MPI_FLOAT, 0, MPI_COMM_WORLD, &request), what,
        "MPI_Ibcast");
  poller.Wait(&request, "broadcasting from rank 0");
}

}  // namespace

std::shared_ptr<Ticket> StartAllReduce(float* data, int64_t count,
                                       Reduction reduction, std::string what) {
  World* world = World::Get();
  if (world == nullptr || world->size() == 1 || count == 0) return nullptr;
  if (count > (int64_t{1} << 30)) {
    World::Abort(absl::StrCat(what, ": ", count,
                              " floats is more than one collective carries"));
  }
  const bool fixed = world->options().fixed_order;
  const double bytes = static_cast<double>(count) * sizeof(float);
  return world->Submit(
      std::move(what), bytes,
      [world, data, count, reduction, fixed](const World::Poller& poller) {
        const std::string& what = poller.what();
        const int n = static_cast<int>(count);
        if (fixed) {
          FixedOrderAllReduce(world, data, n, reduction, what, poller);
          return;
        }
        MPI_Request request;
        Check(MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM,
                             MPI_COMM_WORLD, &request),
              what, "MPI_Iallreduce");
        poller.Wait(&request, "MPI_Iallreduce");
        if (reduction == Reduction::kMean) {
          Scale(data, count, 1.0f / world->size());
        }
      });
}

void SumAcrossRanks(double* values, int count, const std::string& what) {
  World* world = World::Get();
  if (world == nullptr || world->size() == 1 || count == 0) return;
  world->Run(what, count * sizeof(double),
             [values, count](const World::Poller& poller) {
               MPI_Request request;
               Check(MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE,
                                    MPI_SUM, MPI_COMM_WORLD, &request),
                     poller.what(), "MPI_Iallreduce");
               poller.Wait(&request, "MPI_Iallreduce");
             });
}

}  // namespace dist
}  // namespace nabla
