#include "examples/demo/demo_server.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/dnnl_context.h"
#include "core/status.h"
#include "io/digit.h"
#include "io/image.h"

namespace nabla {
namespace {

using json = DemoJson;

constexpr char kJson[] = "application/json";
// Images larger than this are refused before their pixels are allocated: a
// photo of a digit needs far fewer, and a 1 MiB PNG can declare billions.
constexpr int64_t kMaxImagePixels = int64_t{4096} * 4096;

ApiReply Error(int status, absl::string_view message) {
  return ApiReply{status, json{{"error", std::string(message)}}};
}

// Tensors travel as the base64 of their little-endian f32 bytes: a quarter
// of the size of JSON numbers, exact, and one call to decode in JavaScript
// (new Float32Array(bytes.buffer)) or NumPy (np.frombuffer(b, '<f4')).
json EncodeTensor(const Tensor& t) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                "tensors are sent as little-endian bytes");
  std::vector<int64_t> shape(t.shape().dims().begin(), t.shape().dims().end());
  return json{{"shape", shape},
              {"encoding", "f32le-base64"},
              {"data", absl::Base64Escape(absl::string_view(
                           static_cast<const char*>(t.raw_data()), t.nbytes()))}};
}

json TensorValues(const Tensor& t) {
  absl::Span<const float> values = t.flat<const float>();
  return json(std::vector<float>(values.begin(), values.end()));
}

// OpenMP's thread count is per calling thread: omp_set_num_threads() in
// main() reaches only the main thread, and httplib's workers would each
// start teams as large as the machine.
void UseThreadsInThisWorker(int threads) {
  thread_local int threads_set = -1;
  if (threads_set != threads) {
    // Checked once at start-up (mnist_demo's --inference_threads), so it
    // cannot fail here.
    SetNumThreads(threads).IgnoreError();
    threads_set = threads;
  }
}

double MillisecondsSince(absl::Time start) {
  return absl::ToDoubleMilliseconds(absl::Now() - start);
}

// A flag-like query parameter: absent gives `fallback`.
absl::StatusOr<bool> BoolParam(const httplib::Request& request,
                               const std::string& name, bool fallback) {
  if (!request.has_param(name)) return fallback;
  std::string value = request.get_param_value(name);
  if (value == "1" || value == "true" || value.empty()) return true;
  if (value == "0" || value == "false") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("query parameter '", name, "' must be 1, 0, true or false"));
}

absl::StatusOr<double> NumberParam(const httplib::Request& request,
                                   const std::string& name, double fallback) {
  if (!request.has_param(name)) return fallback;
  double value;
  if (!absl::SimpleAtod(request.get_param_value(name), &value) ||
      !std::isfinite(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("query parameter '", name, "' must be a finite number"));
  }
  return value;
}

// Reads {"pixels": [...]}: 784 numbers, or 28 rows of 28, each in [0, 255]
// (rounded to the nearest integer), in the MNIST convention.
absl::StatusOr<MnistDigit> DigitFromJson(absl::string_view body) {
  json request = json::parse(body.begin(), body.end(), /*cb=*/nullptr,
                             /*allow_exceptions=*/false);
  if (request.is_discarded()) {
    return absl::InvalidArgumentError(
        "the body is not valid JSON; send {\"pixels\": [784 numbers]} or an "
        "image with an image Content-Type");
  }
  if (!request.is_object() || !request.contains("pixels")) {
    return absl::InvalidArgumentError(
        "the JSON body must be an object with a \"pixels\" array");
  }
  const json& pixels = request["pixels"];
  if (!pixels.is_array()) {
    return absl::InvalidArgumentError("\"pixels\" must be an array");
  }
  std::vector<const json*> flat;
  flat.reserve(kMnistSide * kMnistSide);
  if (pixels.size() == kMnistSide && pixels[0].is_array()) {
    for (const json& row : pixels) {
      if (!row.is_array() || row.size() != kMnistSide) {
        return absl::InvalidArgumentError(absl::StrCat(
            "\"pixels\" as rows must be ", kMnistSide, " arrays of ",
            kMnistSide, " numbers"));
      }
      for (const json& value : row) flat.push_back(&value);
    }
  } else {
    for (const json& value : pixels) flat.push_back(&value);
  }
  if (flat.size() != kMnistSide * kMnistSide) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"pixels\" must hold ", kMnistSide * kMnistSide, " numbers (",
        kMnistSide, "x", kMnistSide, "), not ", flat.size()));
  }
  std::vector<uint8_t> bytes(flat.size());
  for (size_t i = 0; i < flat.size(); ++i) {
    double v = flat[i]->is_number() ? flat[i]->get<double>() : std::nan("");
    if (!(v >= 0 && v <= 255)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pixel ", i, " must be a number from 0 to 255, not ",
          flat[i]->dump(-1, ' ', false, json::error_handler_t::replace)));
    }
    bytes[i] = static_cast<uint8_t>(std::lround(v));
  }
  return DigitFromPixels(bytes.data(), static_cast<int64_t>(bytes.size()));
}

bool IsJson(const httplib::Request& request) {
  return absl::StartsWith(request.get_header_value("Content-Type"), kJson);
}

void Send(const ApiReply& reply, httplib::Response& response) {
  response.status = reply.status;
  // Error messages may quote the client's bytes: never let invalid UTF-8
  // turn into an exception.
  response.set_content(
      reply.body.dump(-1, ' ', false, json::error_handler_t::replace), kJson);
}

// Runs `handler`, answering 500 instead of letting anything escape into
// httplib's worker (nabla returns Status, but the JSON library throws).
template <typename Handler>
httplib::Server::Handler Guarded(Handler handler) {
  return [handler](const httplib::Request& request,
                   httplib::Response& response) {
    try {
      Send(handler(request), response);
    } catch (const std::exception& e) {
      Send(Error(500, absl::StrCat("internal error: ", e.what())), response);
    }
  };
}

httplib::Server::Handler MethodNotAllowed(absl::string_view allowed) {
  std::string allow(allowed);
  return [allow](const httplib::Request& request, httplib::Response& response) {
    response.set_header("Allow", allow);
    Send(Error(405, absl::StrCat(request.method, " ", request.path,
                                 " is not supported; use ", allow)),
         response);
  };
}

}  // namespace

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    case absl::StatusCode::kUnimplemented:
      return 501;
    default:
      return 500;
  }
}

ApiReply ErrorReply(const absl::Status& status) {
  return Error(HttpStatusFor(status), status.message());
}

absl::StatusOr<std::string> FindStaticDir() {
  constexpr char kRelative[] = "examples/demo/static";
  std::vector<std::string> candidates;
  for (const char* var : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* root = std::getenv(var); root != nullptr && *root) {
      candidates.push_back(absl::StrCat(root, "/nabla/", kRelative));
    }
  }
  std::error_code error;
  std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    candidates.push_back(
        absl::StrCat(self.string(), ".runfiles/nabla/", kRelative));
  }
  candidates.push_back(kRelative);
  if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
    candidates.push_back(absl::StrCat(workspace, "/", kRelative));
  }
  for (const std::string& dir : candidates) {
    if (std::filesystem::is_regular_file(dir + "/index.html", error)) {
      return dir;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("the page's assets (index.html) are in none of: ",
                   absl::StrJoin(candidates, ", "), "; pass --static_dir"));
}

DemoServer::DemoServer(std::unique_ptr<ClassifierPool> classifiers,
                       std::unique_ptr<ActivationCurves> curves,
                       DemoServerOptions options)
    : classifiers_(std::move(classifiers)),
      curves_(std::move(curves)),
      options_(std::move(options)) {}

DemoServer::~DemoServer() { Stop(); }

absl::StatusOr<std::unique_ptr<DemoServer>> DemoServer::Create(
    std::unique_ptr<ClassifierPool> classifiers,
    std::unique_ptr<ActivationCurves> curves, DemoServerOptions options) {
  if (classifiers == nullptr || curves == nullptr) {
    return absl::InvalidArgumentError(
        "the demo server needs classifiers and curves");
  }
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--threads must be from 1 to 256, not ", options.threads));
  }
  if (options.max_body_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_body_bytes must be at least 1024, not ",
                     options.max_body_bytes));
  }
  auto server = std::unique_ptr<DemoServer>(new DemoServer(
      std::move(classifiers), std::move(curves), std::move(options)));

  // The filters are the same for every digit: read them once, from a blank
  // one, which also tells whether this model can be explained at all, and
  // compiles every classifier's explanation plan before the first request.
  {
    std::vector<ClassifierPool::Lease> leases;
    for (int i = 0; i < server->classifiers_->size(); ++i) {
      NABLA_ASSIGN_OR_RETURN(ClassifierPool::Lease lease,
                             server->classifiers_->Acquire(absl::Seconds(10)));
      leases.push_back(std::move(lease));
    }
    const MnistDigit blank;
    for (ClassifierPool::Lease& lease : leases) {
      absl::StatusOr<FirstLayers> layers = lease->Explain(blank);
      if (!layers.ok()) {
        server->explain_error_ = std::string(layers.status().message());
        break;
      }
      if (!server->first_layers_.has_value()) {
        server->first_layers_ = *std::move(layers);
      }
    }
  }
  NABLA_RETURN_IF_ERROR(server->SetUpRoutes());
  return server;
}

absl::Status DemoServer::SetUpRoutes() {
  if (!http_.set_mount_point("/", options_.static_dir)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--static_dir '", options_.static_dir, "' is not a folder"));
  }
  std::error_code error;
  if (!std::filesystem::is_regular_file(options_.static_dir + "/index.html",
                                        error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--static_dir '", options_.static_dir, "' has no index.html"));
  }
  const int threads = options_.threads;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Answers are written in pieces (headers, then body): without
  // TCP_NODELAY, Nagle's algorithm holds the last piece back until the
  // client's delayed ACK, some 40 ms per request.
  http_.set_tcp_nodelay(true);
  http_.set_payload_max_length(static_cast<size_t>(options_.max_body_bytes));
  const auto io_timeout = absl::ToChronoMicroseconds(options_.io_timeout);
  http_.set_read_timeout(io_timeout);
  http_.set_write_timeout(io_timeout);
  http_.set_keep_alive_timeout(std::max<time_t>(
      1, absl::ToInt64Seconds(options_.keep_alive_timeout)));

  http_.Post("/api/predict", Guarded([this](const httplib::Request& request) {
               return Predict(request);
             }));
  http_.Get("/api/activations",
            Guarded([this](const httplib::Request& request) {
              return Activations(request);
            }));
  http_.Get("/api/model",
            Guarded([this](const httplib::Request&) { return Model(); }));
  http_.Get("/api/predict", MethodNotAllowed("POST"));
  http_.Post("/api/activations", MethodNotAllowed("GET"));
  http_.Post("/api/model", MethodNotAllowed("GET"));

  // Whatever reaches here unanswered (an unknown route, a body over the
  // limit, a request httplib could not parse) gets a message, not an empty
  // page.
  const int64_t max_body = options_.max_body_bytes;
  http_.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty()) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        std::string message;
        switch (response.status) {
          case 404:
            message = absl::StrCat("no such route: ", request.method, " ",
                                   request.path);
            break;
          case 413:
            message = absl::StrCat("the request body is over the limit of ",
                                   max_body, " bytes");
            break;
          case 414:
            message = "the request URI is too long";
            break;
          default:
            message = absl::StrCat("bad request (HTTP ", response.status, ")");
        }
        Send(Error(response.status, message), response);
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_.set_exception_handler([](const httplib::Request&,
                                 httplib::Response& response,
                                 std::exception_ptr) {
    Send(Error(500, "internal error"), response);
  });
  // Every asset comes from this server (no CDN, the machine may be
  // offline): the policy makes the browser refuse anything else.
  http_.set_post_routing_handler(
      [](const httplib::Request&, httplib::Response& response) {
        response.set_header("Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:");
        response.set_header("X-Content-Type-Options", "nosniff");
        response.set_header("Cache-Control", "no-cache");
      });
  return absl::OkStatus();
}

absl::StatusOr<int> DemoServer::Bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--port must be from 0 to 65535, not ", port));
  }
  if (port == 0) {
    int bound = http_.bind_to_any_port(host);
    if (bound > 0) return bound;
  } else if (http_.bind_to_port(host, port)) {
    return port;
  }
  return absl::UnavailableError(absl::StrCat(
      "cannot listen on ", host, ":", port,
      " (is the port in use, or the host not an address of this machine?)"));
}

absl::Status DemoServer::Serve() {
  if (!http_.listen_after_bind()) {
    return absl::InternalError("the server stopped listening unexpectedly");
  }
  return absl::OkStatus();
}

void DemoServer::Stop() { http_.stop(); }

ApiReply DemoServer::Predict(const httplib::Request& request) {
  const absl::Time start = absl::Now();
  absl::StatusOr<bool> explain = BoolParam(request, "explain", false);
  if (!explain.ok()) return ErrorReply(explain.status());
  if (*explain && !first_layers_.has_value()) {
    return Error(400, absl::StrCat("this model cannot be explained: ",
                                   explain_error_));
  }
  if (request.body.empty()) {
    return Error(400,
                 "the body is empty; send a PNG or JPEG image, or JSON "
                 "{\"pixels\": [784 numbers]}");
  }

  json timing;
  absl::StatusOr<MnistDigit> digit;
  json source;
  if (IsJson(request)) {
    digit = DigitFromJson(request.body);
    source = json{{"kind", "pixels"}};
  } else {
    ImageLimits limits;
    limits.max_file_bytes = options_.max_body_bytes;
    limits.max_pixels = kMaxImagePixels;
    absl::StatusOr<GrayImage> image = DecodeImage(request.body, limits);
    if (!image.ok()) {
      return ErrorReply(Annotate(image.status(), "the image does not decode"));
    }
    source = json{{"kind", "image"},
                  {"width", image->width},
                  {"height", image->height}};
    digit = PrepareDigit(*image);
  }
  if (!digit.ok()) return ErrorReply(digit.status());
  timing["prepare"] = MillisecondsSince(start);

  UseThreadsInThisWorker(options_.inference_threads);
  absl::StatusOr<ClassifierPool::Lease> lease =
      classifiers_->Acquire(options_.session_wait);
  if (!lease.ok()) return ErrorReply(lease.status());
  const absl::Time predict_start = absl::Now();
  absl::StatusOr<std::vector<DigitPrediction>> predictions =
      (*lease)->Predict({*digit});
  if (!predictions.ok()) return ErrorReply(predictions.status());
  timing["predict"] = MillisecondsSince(predict_start);
  const DigitPrediction& prediction = predictions->front();

  json reply = {
      {"digit", prediction.digit},
      {"probabilities", prediction.probabilities},
      {"ranking", prediction.ranking},
      {"input", digit->pixels},
      {"source", source},
  };
  if (*explain) {
    const absl::Time explain_start = absl::Now();
    absl::StatusOr<FirstLayers> layers = (*lease)->Explain(*digit);
    if (!layers.ok()) return ErrorReply(layers.status());
    timing["explain"] = MillisecondsSince(explain_start);
    reply["conv1"] = EncodeTensor(layers->conv1);
    reply["pool1"] = EncodeTensor(layers->pool1);
  }
  timing["total"] = MillisecondsSince(start);
  reply["timing_ms"] = timing;
  return ApiReply{200, std::move(reply)};
}

ApiReply DemoServer::Activations(const httplib::Request& request) {
  const std::string fn =
      request.has_param("fn") ? request.get_param_value("fn") : "all";
  absl::StatusOr<double> from = NumberParam(request, "from", -6);
  absl::StatusOr<double> to = NumberParam(request, "to", 6);
  absl::StatusOr<double> alpha = NumberParam(request, "alpha", 0.2);
  absl::StatusOr<double> z1 = NumberParam(request, "z1", 1);
  absl::StatusOr<double> z2 = NumberParam(request, "z2", 0);
  for (const auto* param : {&from, &to, &alpha, &z1, &z2}) {
    if (!param->ok()) return ErrorReply(param->status());
  }
  // A probability to place on the cross-entropy curve, such as the one a
  // prediction gave the true class.
  std::optional<double> p;
  if (request.has_param("p")) {
    absl::StatusOr<double> value = NumberParam(request, "p", 0);
    if (!value.ok()) return ErrorReply(value.status());
    p = *value;
  }
  CurveRange range{*from, *to};
  if (absl::Status valid = ValidateRange(range); !valid.ok()) {
    return ErrorReply(valid);
  }
  const bool all = fn == "all";
  bool known = all || fn == "softmax" || fn == "cross_entropy";
  for (absl::string_view name : kActivationNames) known = known || fn == name;
  if (!known) {
    return Error(400, absl::StrCat("unknown fn '", fn, "'; use all, ",
                                   absl::StrJoin(kActivationNames, ", "),
                                   ", softmax or cross_entropy"));
  }
  if (all || fn == "leaky_relu") {
    absl::StatusOr<int> index = LeakyReluAlphaIndex(static_cast<float>(*alpha));
    if (!index.ok()) return ErrorReply(index.status());
  }

  json reply = {{"range", {{"from", range.from}, {"to", range.to}}},
                {"points", kCurvePoints},
                {"alpha", *alpha},
                {"alphas", kLeakyReluAlphas}};
  UseThreadsInThisWorker(options_.inference_threads);
  absl::MutexLock lock(&curves_mutex_);
  json activations = json::object();
  for (absl::string_view name : kActivationNames) {
    if (!all && fn != name) continue;
    absl::StatusOr<Curve> curve =
        curves_->Activation(name, range, static_cast<float>(*alpha));
    if (!curve.ok()) return ErrorReply(curve.status());
    reply["x"] = curve->x;
    activations[std::string(name)] = {{"y", curve->y}, {"dy", curve->dy}};
  }
  if (!activations.empty()) reply["activations"] = activations;
  if (all || fn == "softmax") {
    absl::StatusOr<SoftmaxCurves> softmax = curves_->Softmax(
        range, static_cast<float>(*z1), static_cast<float>(*z2));
    if (!softmax.ok()) return ErrorReply(softmax.status());
    reply["x"] = softmax->x;
    reply["softmax"] = {{"z1", *z1},
                        {"z2", *z2},
                        {"p", softmax->p},
                        {"dp0", softmax->dp0}};
  }
  if (all || fn == "cross_entropy") {
    absl::StatusOr<CrossEntropyCurve> bce = curves_->CrossEntropy();
    if (!bce.ok()) return ErrorReply(bce.status());
    reply["cross_entropy"] = {
        {"p", bce->p}, {"loss", bce->loss}, {"dloss", bce->dloss}};
    if (p.has_value()) {
      absl::StatusOr<std::array<float, 2>> at =
          curves_->CrossEntropyAt(static_cast<float>(*p));
      if (!at.ok()) return ErrorReply(at.status());
      reply["cross_entropy"]["at"] = {
          {"p", *p}, {"loss", (*at)[0]}, {"dloss", (*at)[1]}};
    }
  }
  return ApiReply{200, std::move(reply)};
}

ApiReply DemoServer::Model() const {
  json reply = {{"model", options_.model_dir},
                {"sessions", classifiers_->size()},
                {"threads", options_.threads},
                {"max_body_bytes", options_.max_body_bytes},
                {"explain", first_layers_.has_value()}};
  if (first_layers_.has_value()) {
    std::vector<int64_t> shape(first_layers_->filters.shape().dims().begin(),
                               first_layers_->filters.shape().dims().end());
    reply["conv1"] = {{"filters", {{"shape", shape},
                                   {"values", TensorValues(first_layers_->filters)}}},
                      {"bias", TensorValues(first_layers_->bias)}};
  } else {
    reply["explain_error"] = explain_error_;
  }
  return ApiReply{200, std::move(reply)};
}

}  // namespace nabla
