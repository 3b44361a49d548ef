#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nabla {
namespace {

constexpr int kBarWidth = 30;
// Redrawing more often than this costs time and shows nothing new.
constexpr std::chrono::milliseconds kRedrawInterval(100);

// "42s" or "3:07" or "1:02:03".
std::string FormatDuration(double seconds) {
  int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%d:%02d", s / 60, s % 60);
  return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
}

std::string Metric(absl::string_view name, double value) {
  return absl::StrFormat(" - %s: %.4f", name, value);
}

}  // namespace

std::string FormatLogs(const EpochLogs& logs) {
  std::string out = Metric("loss", logs.loss);
  if (logs.accuracy) out += Metric("accuracy", *logs.accuracy);
  if (logs.val_loss) out += Metric("val_loss", *logs.val_loss);
  if (logs.val_accuracy) out += Metric("val_accuracy", *logs.val_accuracy);
  return out;
}

ProgressReporter::ProgressReporter(std::FILE* out, Verbosity verbosity)
    : out_(out), mode_(verbosity) {
  if (out_ == nullptr) mode_ = Verbosity::kSilent;
  if (mode_ == Verbosity::kAuto) {
    mode_ = ::isatty(::fileno(out_)) ? Verbosity::kProgressBar
                                     : Verbosity::kEpochLines;
  }
}

void ProgressReporter::BeginEpoch(int64_t epoch, int64_t epochs,
                                  int64_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  start_ = Clock::now();
  last_draw_ = start_;
  if (bar()) {
    std::fprintf(out_, "Epoch %lld/%lld\n", static_cast<long long>(epoch),
                 static_cast<long long>(epochs));
    DrawBar(0, 0, 0, std::nullopt);
  }
}

void ProgressReporter::Update(int64_t step, int64_t samples, double loss,
                              std::optional<double> accuracy) {
  if (!bar()) return;
  Clock::time_point now = Clock::now();
  if (now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  DrawBar(step, samples, loss, accuracy);
}

void ProgressReporter::DrawBar(int64_t step, int64_t samples, double loss,
                               std::optional<double> accuracy) {
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - start_).count();
  const int64_t steps = std::max<int64_t>(steps_, 1);
  const int filled = static_cast<int>(kBarWidth * step / steps);
  std::string bar(kBarWidth, '.');
  std::fill(bar.begin(), bar.begin() + filled, '=');
  if (filled < kBarWidth && step > 0) bar[filled] = '>';
  const int width = static_cast<int>(absl::StrCat(steps_).size());
  std::string line = absl::StrFormat("\r%*d/%d [%s]", width, step, steps_, bar);
  if (step > 0 && elapsed > 0) {
    const double eta = elapsed / step * (steps_ - step);
    absl::StrAppend(&line, " - ETA: ", FormatDuration(eta),
                    absl::StrFormat(" - %.0f samples/s", samples / elapsed),
                    Metric("loss", loss));
    if (accuracy) absl::StrAppend(&line, Metric("accuracy", *accuracy));
  }
  // Erases what a longer previous line left behind.
  absl::StrAppend(&line, "\033[K");
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

void ProgressReporter::EndEpoch(const EpochLogs& logs) {
  if (mode_ == Verbosity::kSilent) return;
  const double per_step =
      logs.steps > 0 ? logs.seconds / static_cast<double>(logs.steps) : 0;
  std::string line;
  if (bar()) {
    const int width = static_cast<int>(absl::StrCat(logs.steps).size());
    line = absl::StrFormat("\r%*d/%d [%s] - %s %.0fms/step", width,
                           logs.steps, logs.steps, std::string(kBarWidth, '='),
                           FormatDuration(logs.seconds), per_step * 1e3);
  } else {
    line = absl::StrFormat("Epoch %d/%d - %d steps - %.2fs", logs.epoch,
                           logs.epochs, logs.steps, logs.seconds);
  }
  absl::StrAppend(&line, FormatLogs(logs), bar() ? "\033[K\n" : "\n");
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

}  // namespace nabla
