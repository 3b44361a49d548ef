#include "train/augment.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace nabla {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kMaxEpoch = (int64_t{1} << 32) - 1;
// Gaussian kernels reach this many standard deviations, as scipy's.
constexpr double kTruncate = 4.0;

// The random numbers of one image: Philox blocks counted from
// (epoch, index), four 32-bit words each.
class ImageRandom {
 public:
  ImageRandom(uint64_t seed, int64_t epoch, int64_t index)
      : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)},
        epoch_(static_cast<uint32_t>(epoch)),
        index_lo_(static_cast<uint32_t>(index)),
        index_hi_(static_cast<uint32_t>(static_cast<uint64_t>(index) >> 32)) {}

  // Block fills `words` with block `block`: block 0 holds the affine
  // draws, blocks 1 and up the elastic field.
  void Block(uint32_t block, uint32_t words[4]) const {
    std::array<uint32_t, 4> out =
        Philox4x32({block, epoch_, index_lo_, index_hi_}, key_);
    std::copy(out.begin(), out.end(), words);
  }

 private:
  std::array<uint32_t, 2> key_;
  uint32_t epoch_, index_lo_, index_hi_;
};

// A 32-bit word as a uniform value in (-1, 1), symmetric about 0.
double Symmetric(uint32_t word) {
  return (static_cast<double>(word) + 0.5) * (2.0 / 4294967296.0) - 1.0;
}

// scipy.ndimage's "reflect" border (d c b a | a b c d | d c b a), folded
// as often as a kernel wider than the image needs.
int64_t Reflect(int64_t i, int64_t n) {
  const int64_t period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

// A normalised Gaussian of standard deviation `sigma`, from -radius to
// +radius.
std::vector<double> GaussianKernel(double sigma) {
  const int64_t radius = static_cast<int64_t>(kTruncate * sigma + 0.5);
  std::vector<double> kernel(2 * radius + 1);
  double sum = 0;
  for (int64_t k = -radius; k <= radius; ++k) {
    kernel[k + radius] = std::exp(-0.5 * k * k / (sigma * sigma));
    sum += kernel[k + radius];
  }
  for (double& w : kernel) w /= sum;
  return kernel;
}

// Smooths the `n` values at line[0], line[stride], ... with `kernel` in
// place: copied once, borders reflected, into `padded` (n + 2 * radius
// values), so that the taps index it directly.
void SmoothLine(const std::vector<double>& kernel, int64_t n, int64_t stride,
                double* line, double* padded) {
  const int64_t radius = static_cast<int64_t>(kernel.size() / 2);
  for (int64_t i = -radius; i < n + radius; ++i) {
    padded[i + radius] = line[Reflect(i, n) * stride];
  }
  for (int64_t i = 0; i < n; ++i) {
    const double* window = padded + i;
    double sum = 0;
    for (size_t k = 0; k < kernel.size(); ++k) sum += kernel[k] * window[k];
    line[i * stride] = sum;
  }
}

// Smooths `plane` (height x width) with `kernel` along rows, then
// columns, in place; `padded` is scratch of max(height, width) + 2 * radius.
void Smooth(const std::vector<double>& kernel, int64_t height, int64_t width,
            double* plane, double* padded) {
  for (int64_t y = 0; y < height; ++y) {
    SmoothLine(kernel, width, 1, plane + y * width, padded);
  }
  for (int64_t x = 0; x < width; ++x) {
    SmoothLine(kernel, height, width, plane + x, padded);
  }
}

// Per-thread buffers for the elastic field, allocated before the threads
// start so that they allocate nothing.
struct ElasticScratch {
  std::vector<double> field_x, field_y, padded;
  std::vector<float> dx, dy;
};

// Fills scratch.dx and scratch.dy with image `index`'s elastic field.
void ElasticField(const AugmentOptions& options,
                  const std::vector<double>& kernel, const ImageRandom& random,
                  int64_t height, int64_t width, ElasticScratch& scratch) {
  const int64_t pixels = height * width;
  // Block 0 holds the affine draws; the field's 2 * pixels words follow,
  // dx's first.
  uint32_t words[4];
  for (int64_t i = 0; i < 2 * pixels; ++i) {
    if (i % 4 == 0) random.Block(static_cast<uint32_t>(1 + i / 4), words);
    const double value = Symmetric(words[i % 4]);
    if (i < pixels) {
      scratch.field_x[i] = value;
    } else {
      scratch.field_y[i - pixels] = value;
    }
  }
  for (std::vector<double>* field : {&scratch.field_x, &scratch.field_y}) {
    Smooth(kernel, height, width, field->data(), scratch.padded.data());
  }
  for (int64_t i = 0; i < pixels; ++i) {
    scratch.dx[i] = static_cast<float>(options.elastic_alpha * scratch.field_x[i]);
    scratch.dy[i] = static_cast<float>(options.elastic_alpha * scratch.field_y[i]);
  }
}

uint8_t StorePixel(double value, uint8_t*) {
  if (!(value > 0)) return 0;  // NaN too
  if (value >= 255) return 255;
  return static_cast<uint8_t>(std::floor(value + 0.5));
}
float StorePixel(double value, float*) { return static_cast<float>(value); }

template <typename T>
void Warp(const T* src, int64_t height, int64_t width,
          const AffineTransform& m, const float* dx, const float* dy, T* dst) {
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      const int64_t i = y * width + x;
      double sx = m.xx * x + m.xy * y + m.x0;
      double sy = m.yx * x + m.yy * y + m.y0;
      if (dx != nullptr) sx += dx[i];
      if (dy != nullptr) sy += dy[i];
      const double fx = std::floor(sx), fy = std::floor(sy);
      // Written so that NaN lands outside too.
      if (!(fx > -2 && fx < width && fy > -2 && fy < height)) {
        dst[i] = StorePixel(0.0, dst);
        continue;
      }
      const int64_t ix = static_cast<int64_t>(fx);
      const int64_t iy = static_cast<int64_t>(fy);
      const double ax = sx - fx, ay = sy - fy;
      const double weights[4] = {(1 - ax) * (1 - ay), ax * (1 - ay),
                                 (1 - ax) * ay, ax * ay};
      double value = 0;
      for (int tap = 0; tap < 4; ++tap) {
        const int64_t tx = ix + (tap & 1), ty = iy + (tap >> 1);
        // Taps of weight 0 are skipped, so that a whole-pixel warp copies
        // pixels exactly, whatever their neighbours hold.
        if (weights[tap] == 0 || tx < 0 || tx >= width || ty < 0 ||
            ty >= height) {
          continue;
        }
        value += weights[tap] * static_cast<double>(src[ty * width + tx]);
      }
      dst[i] = StorePixel(value, dst);
    }
  }
}

// Augments images [first, last) of `images` into `out`.
template <typename T>
void AugmentRange(const T* images, int64_t channels, int64_t height,
                  int64_t width, const AugmentOptions& options,
                  const std::vector<double>& kernel, int64_t epoch,
                  int64_t first, int64_t last, ElasticScratch& scratch,
                  T* out) {
  const int64_t plane = height * width;
  const bool elastic = options.elastic_alpha > 0;
  for (int64_t n = first; n < last; ++n) {
    const AffineTransform mapping =
        SourceMapping(DrawTransform(options, epoch, n), height, width);
    if (elastic) {
      ElasticField(options, kernel, ImageRandom(options.seed, epoch, n),
                   height, width, scratch);
    }
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t offset = (n * channels + c) * plane;
      Warp(images + offset, height, width, mapping,
           elastic ? scratch.dx.data() : nullptr,
           elastic ? scratch.dy.data() : nullptr, out + offset);
    }
  }
}

absl::Status CheckFinite(double value, const char* name) {
  if (!std::isfinite(value) || value < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation: ", name, " must be finite and not negative, got ",
        value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAugmentOptions(const AugmentOptions& options) {
  for (auto [value, name] :
       {std::make_pair(options.max_shift_pixels, "max_shift_pixels"),
        std::make_pair(options.max_rotation_degrees, "max_rotation_degrees"),
        std::make_pair(options.scale_range, "scale_range"),
        std::make_pair(options.elastic_alpha, "elastic_alpha")}) {
    absl::Status finite = CheckFinite(value, name);
    if (!finite.ok()) return finite;
  }
  if (options.max_rotation_degrees > 180) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation: max_rotation_degrees must be at most 180, got ",
        options.max_rotation_degrees));
  }
  if (options.scale_range >= 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation: scale_range must lie in [0, 1), got ",
        options.scale_range));
  }
  if (options.elastic_alpha > 0 &&
      !(std::isfinite(options.elastic_sigma) && options.elastic_sigma > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation: elastic_sigma must be positive and finite with "
        "elastic_alpha > 0, got ",
        options.elastic_sigma));
  }
  return absl::OkStatus();
}

std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> c,
                                   std::array<uint32_t, 2> key) {
  constexpr uint64_t kMul0 = 0xD2511F53, kMul1 = 0xCD9E8D57;
  constexpr uint32_t kWeyl0 = 0x9E3779B9, kWeyl1 = 0xBB67AE85;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    const uint64_t p0 = kMul0 * c[0];
    const uint64_t p1 = kMul1 * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ key[0],
         static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ key[1],
         static_cast<uint32_t>(p0)};
  }
  return c;
}

ImageTransform DrawTransform(const AugmentOptions& options, int64_t epoch,
                             int64_t index) {
  uint32_t words[4];
  ImageRandom(options.seed, epoch, index).Block(0, words);
  ImageTransform t;
  t.shift_x = options.max_shift_pixels * Symmetric(words[0]);
  t.shift_y = options.max_shift_pixels * Symmetric(words[1]);
  t.rotation_degrees = options.max_rotation_degrees * Symmetric(words[2]);
  t.scale = 1 + options.scale_range * Symmetric(words[3]);
  return t;
}

AffineTransform SourceMapping(const ImageTransform& t, int64_t height,
                              int64_t width) {
  // Content at p lands on q = s R (p - c) + c + shift, with R turning
  // counter-clockwise on screen: R = [[cos, sin], [-sin, cos]] in (x, y)
  // with y down. Sampling needs the inverse, p = R^T (q - c - shift) / s + c.
  const double radians = t.rotation_degrees * kPi / 180;
  const double cos_s = std::cos(radians) / t.scale;
  const double sin_s = std::sin(radians) / t.scale;
  const double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
  const double qx = cx + t.shift_x, qy = cy + t.shift_y;
  AffineTransform m;
  m.xx = cos_s;
  m.xy = -sin_s;
  m.x0 = cx - (m.xx * qx + m.xy * qy);
  m.yx = sin_s;
  m.yy = cos_s;
  m.y0 = cy - (m.yx * qx + m.yy * qy);
  return m;
}

void WarpImage(const uint8_t* src, int64_t height, int64_t width,
               const AffineTransform& mapping, const float* dx,
               const float* dy, uint8_t* dst) {
  Warp(src, height, width, mapping, dx, dy, dst);
}

void WarpImage(const float* src, int64_t height, int64_t width,
               const AffineTransform& mapping, const float* dx,
               const float* dy, float* dst) {
  Warp(src, height, width, mapping, dx, dy, dst);
}

absl::Status AugmentImages(const Tensor& images, const AugmentOptions& options,
                           int64_t epoch, Tensor* out, int threads) {
  absl::Status valid = ValidateAugmentOptions(options);
  if (!valid.ok()) return valid;
  if (epoch < 0 || epoch > kMaxEpoch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation: epoch ", epoch, " is outside [0, ", kMaxEpoch, "]"));
  }
  const int rank = images.shape().rank();
  if (images.empty() || (images.dtype() != DType::kU8 &&
                         images.dtype() != DType::kF32) ||
      (rank != 3 && rank != 4)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation needs u8 or f32 images [N, C, H, W] or [N, H, W], got ",
        images.DebugString()));
  }
  if (out == nullptr || out->empty() || out->dtype() != images.dtype() ||
      out->shape() != images.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation: the output must be ", images.DebugString(), ", not ",
        out == nullptr ? std::string("null") : out->DebugString()));
  }
  if (out->SharesBufferWith(images)) {
    return absl::InvalidArgumentError(
        "augmentation cannot write over the images it reads");
  }
  if (threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augmentation: threads must be positive, got ", threads));
  }
  const Shape& shape = images.shape();
  const int64_t n = shape[0];
  const int64_t channels = rank == 4 ? shape[1] : 1;
  const int64_t height = shape[rank - 2], width = shape[rank - 1];
  const int64_t pixels = height * width;
  if (n == 0 || pixels == 0 || channels == 0) return absl::OkStatus();
  const int64_t workers = std::min<int64_t>(threads, n);

  try {
    std::vector<double> kernel;
    std::vector<ElasticScratch> scratch(workers);
    if (options.elastic_alpha > 0) {
      kernel = GaussianKernel(options.elastic_sigma);
      for (ElasticScratch& s : scratch) {
        s.field_x.resize(pixels);
        s.field_y.resize(pixels);
        s.padded.resize(std::max(height, width) + kernel.size());
        s.dx.resize(pixels);
        s.dy.resize(pixels);
      }
    }
    auto run = [&](int64_t worker) {
      const int64_t first = n * worker / workers;
      const int64_t last = n * (worker + 1) / workers;
      if (images.dtype() == DType::kU8) {
        AugmentRange(images.data<uint8_t>(), channels, height, width, options,
                     kernel, epoch, first, last, scratch[worker],
                     out->data<uint8_t>());
      } else {
        AugmentRange(images.data<float>(), channels, height, width, options,
                     kernel, epoch, first, last, scratch[worker],
                     out->data<float>());
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    absl::Status started = absl::OkStatus();
    for (int64_t w = 1; w < workers; ++w) {
      try {
        pool.emplace_back(run, w);
      } catch (const std::system_error& e) {
        started = absl::ResourceExhaustedError(absl::StrCat(
            "augmentation: cannot start thread ", w, " of ", workers, ": ",
            e.what()));
        break;
      }
    }
    if (started.ok()) run(0);
    for (std::thread& t : pool) t.join();
    return started;
  } catch (const std::bad_alloc& e) {
    return OutOfMemoryStatus("augmenting images", e);
  }
}

EpochInputsFn Augmentation(AugmentOptions options, int threads) {
  return [options, threads](int64_t epoch, const Tensor& source,
                            Tensor* out) -> absl::Status {
    return AugmentImages(source, options, epoch, out, threads);
  };
}

}  // namespace nabla
