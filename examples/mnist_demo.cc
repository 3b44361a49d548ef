// Draw a digit in the browser and watch the lecture's network read it: a
// local web server running nabla in process.
//
//   bazel run -c opt //examples:mnist_demo                 # the shipped model
//   bazel run -c opt //examples:mnist_demo -- --model=/tmp/mnist --port=9000
//
// then open http://127.0.0.1:8080/. Nothing is downloaded: the page and its
// scripts are served from examples/demo/static/. The page draws on the JSON
// API described in examples/demo/demo_server.h, which scripts can use too:
//
//   curl -s -H 'Content-Type: image/png' --data-binary @seven.png
//        http://127.0.0.1:8080/api/predict
//
// It prints "serving http://HOST:PORT/" once it listens (--port=0 picks a
// free port, which tests read from that line) and stops on SIGINT or
// SIGTERM.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "core/dnnl_context.h"
#include "core/file.h"
#include "core/status.h"
#include "examples/demo/activation_curves.h"
#include "examples/demo/classifier_pool.h"
#include "examples/demo/demo_server.h"
#include "infer/saved_model.h"

ABSL_FLAG(std::string, host, "127.0.0.1",
          "Address to listen on; 0.0.0.0 lets other machines connect.");
ABSL_FLAG(int, port, 8080, "Port to listen on; 0 picks a free one.");
ABSL_FLAG(std::string, model, "",
          "A saved model folder (model.pbtxt and checkpoint.ckpt, as "
          "examples:mnist --save_dir writes); empty: the shipped lecture "
          "model.");
ABSL_FLAG(std::string, static_dir, "",
          "The page's assets; empty: examples/demo/static beside the binary.");
ABSL_FLAG(int, sessions, 2,
          "Model sessions that predict concurrently (each holds the model).");
ABSL_FLAG(int, threads, 16,
          "HTTP worker threads; each serves one connection at a time (a "
          "browser keeps several open).");
ABSL_FLAG(int, inference_threads, 1,
          "oneDNN threads per prediction (0: every core). One suits a batch "
          "of one digit; requests run side by side instead.");
ABSL_FLAG(int64_t, max_body_bytes, int64_t{1} << 20,
          "Larger request bodies are refused with 413.");

namespace nabla {
namespace {

absl::Status Run() {
  NABLA_RETURN_IF_ERROR(Annotate(SetNumThreads(absl::GetFlag(FLAGS_inference_threads)),
                                 "--inference_threads"));

  std::string model_dir = UserPath(absl::GetFlag(FLAGS_model));
  if (model_dir.empty()) {
    absl::StatusOr<std::string> shipped = ShippedModelDir();
    if (!shipped.ok()) {
      return Annotate(shipped.status(),
                      "no --model given and the shipped model is missing");
    }
    model_dir = *shipped;
  }
  std::string static_dir = UserPath(absl::GetFlag(FLAGS_static_dir));
  if (static_dir.empty()) {
    NABLA_ASSIGN_OR_RETURN(static_dir, FindStaticDir());
  }

  NABLA_ASSIGN_OR_RETURN(
      std::unique_ptr<ClassifierPool> classifiers,
      ClassifierPool::Create(model_dir, absl::GetFlag(FLAGS_sessions)));
  NABLA_ASSIGN_OR_RETURN(std::unique_ptr<ActivationCurves> curves,
                         ActivationCurves::Create());
  DemoServerOptions options;
  options.static_dir = static_dir;
  options.model_dir = model_dir;
  options.threads = absl::GetFlag(FLAGS_threads);
  options.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  options.inference_threads = absl::GetFlag(FLAGS_inference_threads);
  NABLA_ASSIGN_OR_RETURN(
      std::unique_ptr<DemoServer> server,
      DemoServer::Create(std::move(classifiers), std::move(curves), options));

  const std::string host = absl::GetFlag(FLAGS_host);
  NABLA_ASSIGN_OR_RETURN(int port, server->Bind(host, absl::GetFlag(FLAGS_port)));

  // A client that hangs up mid-answer must cost one failed write, not the
  // process.
  signal(SIGPIPE, SIG_IGN);
  // SIGINT and SIGTERM are blocked in every thread (the mask is inherited)
  // and taken by this one, which stops the server outside signal context.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server->Stop();
  });

  std::printf("nabla demo: model %s, %d sessions, %d threads\n",
              model_dir.c_str(), absl::GetFlag(FLAGS_sessions),
              options.threads);
  std::printf("serving http://%s:%d/\n", host.c_str(), port);
  std::fflush(stdout);
  absl::Status served = server->Serve();
  // Serve() also returns when listening fails; wake the stopper either way.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return served;
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves the draw-a-digit demo: bazel run -c opt //examples:mnist_demo");
  absl::ParseCommandLine(argc, argv);
  absl::Status status = nabla::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "mnist_demo: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
