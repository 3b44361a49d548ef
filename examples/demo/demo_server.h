// The HTTP server behind the draw-a-digit demo: the page's assets and a
// small JSON API that the page uses and that scripts can use too.
//
//   POST /api/predict[?explain=1]  body: a PNG/JPEG/PGM image of one digit
//                                  (any Content-Type but application/json),
//                                  prepared as `nabla predict` prepares it;
//                                  or JSON {"pixels": [784 numbers 0-255]},
//                                  28x28 in the MNIST convention (ink 255).
//        -> {"digit", "probabilities", "ranking", "input" (the 28x28 the
//            network saw), "timing_ms"}; with explain=1 also "conv1" and
//            "pool1", each {"shape", "encoding": "f32le-base64", "data"}.
//   GET  /api/model      -> the model's folder, its sessions, and the learned
//                           conv1 filters [32,1,5,5] and biases [32].
//   GET  /api/activations?fn=all|linear|sigmoid|tanh|relu|leaky_relu|
//                            softmax|cross_entropy&from=-6&to=6&alpha=0.2
//                            &z1=1&z2=0[&p=0.93]
//        -> curves computed by nabla's ops, derivatives by its autodiff
//           (examples/demo/activation_curves.h); with p, also the
//           cross-entropy at that probability ("cross_entropy"."at").
//   GET  /, /app.js, ...  -> the page (examples/demo/static/).
//
// Every error is a 4xx or 5xx with {"error": "<what is wrong>"}: a body over
// max_body_bytes (413), JSON that does not parse or has the wrong sizes, an
// image that does not decode or holds no ink (400), an unknown route (404),
// a wrong method (405).
//
// Concurrency: httplib answers on a pool of `threads` workers. The models'
// Sessions are not thread-safe, so predictions lease a DigitClassifier from
// a ClassifierPool (one request per classifier at a time); the activation
// curves live in one Session behind a mutex (each query is microseconds).
//
//   NABLA_ASSIGN_OR_RETURN(auto server, DemoServer::Create(std::move(pool),
//                                                          std::move(curves),
//                                                          options));
//   NABLA_ASSIGN_OR_RETURN(int port, server->Bind("127.0.0.1", 8080));
//   NABLA_RETURN_IF_ERROR(server->Serve());  // until Stop()

#ifndef NABLA_EXAMPLES_DEMO_DEMO_SERVER_H_
#define NABLA_EXAMPLES_DEMO_DEMO_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "examples/demo/activation_curves.h"
#include "examples/demo/classifier_pool.h"
#include "httplib.h"
#include "infer/digit_classifier.h"
#include "nlohmann/json.hpp"

namespace nabla {

// DemoServerOptions configure the server; the defaults suit one user on a
// laptop and a bounded load test alike.
struct DemoServerOptions {
  // The page's assets; must hold index.html.
  std::string static_dir;
  // The folder the model came from, reported by /api/model.
  std::string model_dir;
  // Worker threads answering requests. httplib gives a connection its
  // thread for as long as it is kept alive, so a browser's few idle
  // connections each hold one until keep_alive_timeout.
  int threads = 16;
  absl::Duration keep_alive_timeout = absl::Seconds(2);
  // Requests with a larger body get 413 before it is read.
  int64_t max_body_bytes = int64_t{1} << 20;
  // How long reading a request or writing a response may stall.
  absl::Duration io_timeout = absl::Seconds(5);
  // oneDNN threads per prediction (0: every core), set in each worker.
  int inference_threads = 1;
  // How long a prediction waits for a free session before 503.
  absl::Duration session_wait = absl::Seconds(5);
};

// DemoJson is nlohmann's JSON with f32 numbers: nabla computes in f32, and
// printing them as f32 keeps replies short ("0.07065082", not
// "0.07065081596374512") without losing a bit.
using DemoJson = nlohmann::basic_json<std::map, std::vector, std::string, bool,
                                      std::int64_t, std::uint64_t, float>;

// ApiReply is an API answer: an HTTP status and its JSON body.
struct ApiReply {
  int status = 200;
  DemoJson body;
};

class DemoServer {
 public:
  // Create sets up the routes. It runs one explanation of a blank digit to
  // read the learned filters; a model without the lecture model's conv1 and
  // pool1 still predicts, and explain=1 then gets 400. InvalidArgument for
  // options out of range or a static_dir without index.html.
  static absl::StatusOr<std::unique_ptr<DemoServer>> Create(
      std::unique_ptr<ClassifierPool> classifiers,
      std::unique_ptr<ActivationCurves> curves, DemoServerOptions options);

  ~DemoServer();

  // Bind listens on host:port (port 0 picks a free port) and returns the
  // port. Unavailable if the address cannot be bound.
  absl::StatusOr<int> Bind(const std::string& host, int port);

  // Serve answers requests on the bound socket until Stop() is called.
  absl::Status Serve();

  // Stop makes Serve() return; safe to call from any thread.
  void Stop();

  // The handlers, without HTTP: each takes the request's parts and never
  // throws.
  ApiReply Predict(const httplib::Request& request);
  ApiReply Activations(const httplib::Request& request);
  ApiReply Model() const;

 private:
  DemoServer(std::unique_ptr<ClassifierPool> classifiers,
             std::unique_ptr<ActivationCurves> curves,
             DemoServerOptions options);
  absl::Status SetUpRoutes();

  std::unique_ptr<ClassifierPool> classifiers_;
  absl::Mutex curves_mutex_;
  std::unique_ptr<ActivationCurves> curves_ ABSL_GUARDED_BY(curves_mutex_);
  DemoServerOptions options_;
  // The learned conv1 filters and biases; empty when the model has no
  // lecture-model conv1 (explanations are then refused).
  std::optional<FirstLayers> first_layers_;
  std::string explain_error_;
  httplib::Server http_;
};

// HttpStatusFor maps a Status from nabla to the HTTP status that tells the
// client what happened: 400 for bad input, 413 for too large, 503 for busy,
// 501 for unimplemented, 500 for the server's own errors.
int HttpStatusFor(const absl::Status& status);

// ErrorReply is {"error": message} with the status HttpStatusFor picks.
ApiReply ErrorReply(const absl::Status& status);

// FindStaticDir returns the first folder holding index.html among: the
// runfiles of the running binary, examples/demo/static under the current
// directory, and under $BUILD_WORKSPACE_DIRECTORY. NotFound lists where it
// looked.
absl::StatusOr<std::string> FindStaticDir();

}  // namespace nabla

#endif  // NABLA_EXAMPLES_DEMO_DEMO_SERVER_H_
