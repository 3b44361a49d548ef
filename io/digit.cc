#include "io/digit.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nabla {
namespace {

// A grey plane of floats, row-major.
struct Plane {
  int width = 0;
  int height = 0;
  std::vector<float> v;

  Plane() = default;
  Plane(int w, int h, float fill = 0) : width(w), height(h), v(size_t(w) * h, fill) {}
  float& at(int x, int y) { return v[size_t(y) * width + x]; }
  float at(int x, int y) const { return v[size_t(y) * width + x]; }
};

// A rectangle of pixels [x0, x1) x [y0, y1).
struct Box {
  int x0, y0, x1, y1;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

// The weights by which output pixels along one axis average the source:
// output i covers the source interval [origin + i / scale, origin + (i + 1)
// / scale), each source pixel weighted by how much of it lies inside.
// Source pixels outside [0, size) count as 0 (empty paper).
struct Taps {
  std::vector<int> first;      // per output, index into index/weight
  std::vector<int> index;
  std::vector<float> weight;
};

Taps AreaTaps(int size, int outputs, double origin, double scale) {
  Taps taps;
  taps.first.reserve(outputs + 1);
  const double width = 1 / scale;
  for (int i = 0; i < outputs; ++i) {
    taps.first.push_back(static_cast<int>(taps.index.size()));
    const double a = origin + i * width, b = a + width;
    for (int s = std::max(0, static_cast<int>(std::floor(a)));
         s < std::min(size, static_cast<int>(std::ceil(b))); ++s) {
      const double overlap = std::min<double>(b, s + 1) - std::max<double>(a, s);
      if (overlap <= 0) continue;
      taps.index.push_back(s);
      taps.weight.push_back(static_cast<float>(overlap / width));
    }
  }
  taps.first.push_back(static_cast<int>(taps.index.size()));
  return taps;
}

// Area-averaging resampling (anti-aliased, unlike picking the nearest
// pixel): output (i, j) is the mean of the source over the rectangle that
// starts at (x0 + i / scale, y0 + j / scale) and is 1 / scale wide. Done
// separably, rows first.
Plane ResampleArea(const Plane& src, double x0, double y0, double scale, int out_w,
                   int out_h) {
  const Taps tx = AreaTaps(src.width, out_w, x0, scale);
  const Taps ty = AreaTaps(src.height, out_h, y0, scale);
  // Only the source rows some output needs are resampled along x.
  Plane rows(out_w, src.height);
  std::vector<bool> needed(src.height, false);
  for (int s : ty.index) needed[s] = true;
  for (int y = 0; y < src.height; ++y) {
    if (!needed[y]) continue;
    const float* in = &src.v[size_t(y) * src.width];
    for (int i = 0; i < out_w; ++i) {
      float sum = 0;
      for (int t = tx.first[i]; t < tx.first[i + 1]; ++t) sum += tx.weight[t] * in[tx.index[t]];
      rows.at(i, y) = sum;
    }
  }
  Plane out(out_w, out_h);
  for (int j = 0; j < out_h; ++j) {
    for (int t = ty.first[j]; t < ty.first[j + 1]; ++t) {
      const float w = ty.weight[t];
      const float* in = &rows.v[size_t(ty.index[t]) * out_w];
      float* o = &out.v[size_t(j) * out_w];
      for (int i = 0; i < out_w; ++i) o[i] += w * in[i];
    }
  }
  return out;
}

double Percentile(std::vector<float> values, double q) {
  if (values.empty()) return 0;
  size_t k = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

// Solves the 6x6 normal equations of a least-squares fit (Gaussian
// elimination with partial pivoting); false if singular.
bool Solve6(double a[6][6], double b[6], double x[6]) {
  for (int c = 0; c < 6; ++c) {
    int p = c;
    for (int r = c + 1; r < 6; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    }
    if (std::abs(a[p][c]) < 1e-12) return false;
    std::swap(a[p], a[c]);
    std::swap(b[p], b[c]);
    for (int r = c + 1; r < 6; ++r) {
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < 6; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  for (int c = 5; c >= 0; --c) {
    double s = b[c];
    for (int k = c + 1; k < 6; ++k) s -= a[c][k] * x[k];
    x[c] = s / a[c][c];
  }
  return true;
}

// The paper: a quadratic surface b(x, y) fitted to the image robustly.
// Uneven light (a gradient across a photo, a vignette) is smooth on the
// scale of the page. The paper is the most common brightness along the
// image's border (a bold digit may cover more of the page than the paper
// does, but seldom its edges; and uniform ink can make a sharper peak in
// the whole image's histogram than noisy paper), so the fit starts from
// that with a window wide enough for a gradient, and is repeated on the
// pixels within a few noise widths of the previous fit: the ink drops out,
// whichever its polarity. `residual` is
// image - paper and `noise` the paper's noise (1.4826 times the median
// absolute deviation of the residuals kept).
struct Paper {
  Plane residual;
  double noise = 0;
};

// The centre of the most populated brightness, from a smoothed histogram.
double HistogramPeak(const std::vector<float>& values) {
  constexpr int kBins = 128;
  std::vector<double> histogram(kBins, 0);
  for (float v : values) histogram[std::clamp(static_cast<int>(v * kBins), 0, kBins - 1)] += 1;
  int best = 0;
  double best_count = -1;
  for (int i = 0; i < kBins; ++i) {
    double count = 0;
    for (int k = std::max(0, i - 2); k <= std::min(kBins - 1, i + 2); ++k) count += histogram[k];
    if (count > best_count) best_count = count, best = i;
  }
  return (best + 0.5) / kBins;
}

Paper FitPaper(const Plane& image) {
  const int w = image.width, h = image.height;
  // The fit samples at most ~40000 pixels on a regular grid.
  const int step = std::max(1, static_cast<int>(std::sqrt(double(w) * h / 40000)));
  auto basis = [&](int x, int y, double f[6]) {
    const double u = (x + 0.5) / w - 0.5, v = (y + 0.5) / h - 0.5;
    f[0] = 1, f[1] = u, f[2] = v, f[3] = u * u, f[4] = u * v, f[5] = v * v;
  };
  auto fit_at = [&](const double coef[6], int x, int y) {
    double f[6], fit = 0;
    basis(x, y, f);
    for (int k = 0; k < 6; ++k) fit += coef[k] * f[k];
    return fit;
  };
  // The border: the outer 4% on each side, at least two pixels.
  std::vector<float> border;
  const int bx = std::max(2, w / 25), by = std::max(2, h / 25);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (y < by || y >= h - by || x < bx || x >= w - bx) border.push_back(image.at(x, y));
    }
  }
  double coef[6] = {HistogramPeak(border), 0, 0, 0, 0, 0};
  double window = 0.15, noise = 0.05;
  for (int iteration = 0; iteration < 5; ++iteration) {
    double a[6][6] = {}, b[6] = {}, f[6];
    std::vector<float> kept;
    for (int y = step / 2; y < h; y += step) {
      for (int x = step / 2; x < w; x += step) {
        const double r = image.at(x, y) - fit_at(coef, x, y);
        if (std::abs(r) > window) continue;
        kept.push_back(static_cast<float>(std::abs(r)));
        basis(x, y, f);
        for (int i = 0; i < 6; ++i) {
          b[i] += f[i] * image.at(x, y);
          for (int j = 0; j < 6; ++j) a[i][j] += f[i] * f[j];
        }
      }
    }
    noise = Percentile(kept, 0.5) * 1.4826;
    double next[6];
    // Too few pixels to fit a surface (a tiny image): keep the last fit.
    if (kept.size() < 24 || !Solve6(a, b, next)) break;
    std::copy(next, next + 6, coef);
    window = std::max(3 * noise, 0.04);
  }
  Paper paper;
  paper.residual = Plane(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      paper.residual.at(x, y) = static_cast<float>(image.at(x, y) - fit_at(coef, x, y));
    }
  }
  paper.noise = noise;
  return paper;
}

// The binomial filter [1 2 1] / 4 along x, then y; borders repeat.
Plane Smooth3x3(const Plane& p) {
  const int w = p.width, h = p.height;
  Plane rows(w, h), out(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      rows.at(x, y) = 0.25f * p.at(std::max(0, x - 1), y) + 0.5f * p.at(x, y) +
                      0.25f * p.at(std::min(w - 1, x + 1), y);
    }
  }
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      out.at(x, y) = 0.25f * rows.at(x, std::max(0, y - 1)) + 0.5f * rows.at(x, y) +
                     0.25f * rows.at(x, std::min(h - 1, y + 1));
    }
  }
  return out;
}

// The noise of residuals that are mostly paper: 1.4826 times their median
// absolute value (the standard deviation, for Gaussian noise).
double Noise(const Plane& residual) {
  const int step = std::max<int>(1, residual.v.size() / 40000);
  std::vector<float> magnitudes;
  for (size_t i = 0; i < residual.v.size(); i += step) {
    magnitudes.push_back(std::abs(residual.v[i]));
  }
  return Percentile(magnitudes, 0.5) * 1.4826;
}

// Otsu's threshold of `values` in [0, max]: the one that best separates
// them into two classes (largest between-class variance).
double OtsuThreshold(const std::vector<float>& values, double max) {
  constexpr int kBins = 256;
  if (values.empty() || max <= 0) return 0;
  std::vector<double> histogram(kBins, 0);
  for (float v : values) {
    histogram[std::min(kBins - 1, static_cast<int>(v / max * kBins))] += 1;
  }
  const double total = values.size();
  double sum_all = 0;
  for (int i = 0; i < kBins; ++i) sum_all += i * histogram[i];
  double weight_low = 0, sum_low = 0, best = -1;
  int best_bin = 0;
  for (int i = 0; i < kBins; ++i) {
    weight_low += histogram[i];
    sum_low += i * histogram[i];
    const double weight_high = total - weight_low;
    if (weight_low == 0 || weight_high == 0) continue;
    const double mean_low = sum_low / weight_low;
    const double mean_high = (sum_all - sum_low) / weight_high;
    const double between = weight_low * weight_high * (mean_low - mean_high) * (mean_low - mean_high);
    if (between > best) {
      best = between;
      best_bin = i;
    }
  }
  return (best_bin + 1) * max / kBins;
}

// Connected components of `mask` (8-neighbours): a label per pixel (-1 for
// background) and each component's area.
struct Components {
  std::vector<int> label;
  std::vector<int> area;
};

Components Label(const std::vector<uint8_t>& mask, int w, int h) {
  Components c;
  c.label.assign(mask.size(), -1);
  std::vector<int> stack;
  for (int start = 0; start < w * h; ++start) {
    if (!mask[start] || c.label[start] >= 0) continue;
    const int id = static_cast<int>(c.area.size());
    c.area.push_back(0);
    stack.push_back(start);
    c.label[start] = id;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      ++c.area[id];
      const int px = p % w, py = p / w;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int x = px + dx, y = py + dy;
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
          const int q = y * w + x;
          if (mask[q] && c.label[q] < 0) {
            c.label[q] = id;
            stack.push_back(q);
          }
        }
      }
    }
  }
  return c;
}

// Chamfer (3-4) distance, in pixels, from each pixel to the nearest pixel
// where `inside` is false, O(pixels) in two passes. Beyond the border is
// outside when `border_is_outside`, else infinitely far.
std::vector<float> DistanceToOutside(const std::vector<uint8_t>& inside, int w, int h,
                                     bool border_is_outside) {
  const float kFar = 1e9f;
  std::vector<float> d(inside.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = inside[i] ? kFar : 0;
  auto relax = [&](int x, int y, int dx, int dy, float cost) {
    const int nx = x + dx, ny = y + dy;
    const float beyond = border_is_outside ? 0 : kFar;
    const float neighbour =
        (nx < 0 || ny < 0 || nx >= w || ny >= h) ? beyond : d[size_t(ny) * w + nx];
    float& here = d[size_t(y) * w + x];
    here = std::min(here, neighbour + cost);
  };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (d[size_t(y) * w + x] == 0) continue;
      relax(x, y, -1, 0, 3), relax(x, y, 0, -1, 3), relax(x, y, -1, -1, 4), relax(x, y, 1, -1, 4);
    }
  }
  for (int y = h - 1; y >= 0; --y) {
    for (int x = w - 1; x >= 0; --x) {
      if (d[size_t(y) * w + x] == 0) continue;
      relax(x, y, 1, 0, 3), relax(x, y, 0, 1, 3), relax(x, y, 1, 1, 4), relax(x, y, -1, 1, 4);
    }
  }
  for (float& v : d) v /= 3;
  return d;
}

// The mean stroke width of `mask`: its area over half its perimeter (a
// stroke of length L and width w has area Lw and perimeter about 2L),
// the perimeter counted in pixel edges and corrected by 4/pi for strokes
// of every direction.
double StrokeWidth(const std::vector<uint8_t>& mask, int w, int h) {
  double area = 0, edges = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (!mask[size_t(y) * w + x]) continue;
      area += 1;
      edges += (x == 0 || !mask[size_t(y) * w + x - 1]) + (x == w - 1 || !mask[size_t(y) * w + x + 1]) +
               (y == 0 || !mask[size_t(y - 1) * w + x]) + (y == h - 1 || !mask[size_t(y + 1) * w + x]);
    }
  }
  if (edges == 0) return 0;
  return area / (edges / 2 / (4 / M_PI));
}

// Which components make the digit: starting from the largest, those of at
// least `min_fraction` of its area that lie within a quarter of the digit's
// size of the digit found so far (a detached bar of a 5, the dot-like end
// of a stroke), until no more join.
std::vector<uint8_t> KeepDigit(const Components& c, int w, int h, int largest_id,
                               double min_fraction) {
  const int n = static_cast<int>(c.area.size());
  std::vector<Box> boxes(n, Box{w, h, 0, 0});
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const int id = c.label[size_t(y) * w + x];
      if (id < 0) continue;
      Box& b = boxes[id];
      b.x0 = std::min(b.x0, x), b.y0 = std::min(b.y0, y);
      b.x1 = std::max(b.x1, x + 1), b.y1 = std::max(b.y1, y + 1);
    }
  }
  std::vector<uint8_t> keep(n, 0);
  keep[largest_id] = 1;
  Box digit = boxes[largest_id];
  for (bool grew = true; grew;) {
    grew = false;
    const int margin = std::max(digit.width(), digit.height()) / 4 + 1;
    for (int id = 0; id < n; ++id) {
      if (keep[id] || c.area[id] < min_fraction * c.area[largest_id]) continue;
      const Box& b = boxes[id];
      if (b.x1 + margin < digit.x0 || b.x0 - margin > digit.x1 || b.y1 + margin < digit.y0 ||
          b.y0 - margin > digit.y1) {
        continue;
      }
      keep[id] = 1, grew = true;
      digit = Box{std::min(digit.x0, b.x0), std::min(digit.y0, b.y0), std::max(digit.x1, b.x1),
                  std::max(digit.y1, b.y1)};
    }
  }
  return keep;
}

Box BoundingBox(const std::vector<uint8_t>& mask, int w, int h) {
  Box box{w, h, 0, 0};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (!mask[size_t(y) * w + x]) continue;
      box.x0 = std::min(box.x0, x), box.y0 = std::min(box.y0, y);
      box.x1 = std::max(box.x1, x + 1), box.y1 = std::max(box.y1, y + 1);
    }
  }
  return box;
}

// Centre of mass of a plane, in pixel coordinates (pixel i spans [i, i+1)).
void CentreOfMass(const Plane& p, double* cx, double* cy) {
  double sum = 0, sx = 0, sy = 0;
  for (int y = 0; y < p.height; ++y) {
    for (int x = 0; x < p.width; ++x) {
      const double v = p.at(x, y);
      sum += v, sx += v * (x + 0.5), sy += v * (y + 0.5);
    }
  }
  *cx = sum > 0 ? sx / sum : p.width / 2.0;
  *cy = sum > 0 ? sy / sum : p.height / 2.0;
}

absl::Status NoInk(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("no digit found in the image (a blank page?): ", why));
}

absl::StatusOr<MnistDigit> Prepare(const GrayImage& image, const DigitOptions& options) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != size_t(image.width) * image.height) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an empty or inconsistent image (", image.width, "x", image.height, ", ",
        image.pixels.size(), " pixels)"));
  }
  // 1. A working copy no larger than kWorkingSide on its longer side,
  //    area-averaged: a phone photo's detail is far below what 20 pixels keep.
  Plane work;
  {
    Plane full;
    full.width = image.width, full.height = image.height;
    full.v.assign(image.pixels.begin(), image.pixels.end());
    const int longer = std::max(image.width, image.height);
    if (longer > options.working_side) {
      const double scale = double(options.working_side) / longer;
      work = ResampleArea(full, 0, 0, scale, std::max(1, int(std::lround(image.width * scale))),
                          std::max(1, int(std::lround(image.height * scale))));
    } else {
      work = std::move(full);
    }
  }
  const int w = work.width, h = work.height;

  // 2. The paper's brightness, estimated and removed.
  Paper paper = FitPaper(work);
  // Smoothing over 3x3 pixels takes the noise down to about 0.4 of itself
  // and a stroke's contrast much less (a hairline's to a half): faint or
  // noisy ink stands out better.
  paper.residual = Smooth3x3(paper.residual);
  paper.noise = Noise(paper.residual);

  // 3. Polarity: the ink is the side of the residuals with the heavier
  //    tail beyond the noise (dark ink on light paper gives a dark tail,
  //    which is then inverted, so ink is always positive).
  double sign = 1;
  if (options.auto_invert) {
    const double beyond = 3 * paper.noise + 0.02;
    double light = 0, dark = 0;
    for (float r : paper.residual.v) {
      light += std::max(0.0, r - beyond);
      dark += std::max(0.0, -r - beyond);
    }
    sign = dark > light ? -1 : 1;
  }
  std::vector<float> ink(paper.residual.v.size());
  float max_ink = 0;
  for (size_t i = 0; i < ink.size(); ++i) {
    ink[i] = std::max(0.0f, static_cast<float>(sign) * paper.residual.v[i]);
    max_ink = std::max(max_ink, ink[i]);
  }

  // 4. Ink: Otsu's threshold on the ink's strength, but never within
  //    the paper's noise (5 sigma) nor under kMinContrast of the scale.
  const double threshold =
      std::max({OtsuThreshold(ink, max_ink), 5 * paper.noise, options.min_contrast});
  if (max_ink <= threshold) {
    return NoInk(absl::StrFormat("nothing differs from the paper by more than %.3f "
                                 "(the paper's noise is %.3f)",
                                 threshold, paper.noise));
  }
  std::vector<uint8_t> mask(ink.size());
  for (size_t i = 0; i < ink.size(); ++i) mask[i] = ink[i] > threshold;

  // 5. Specks: the digit is the largest mark and the marks near it that
  //    are not much smaller; the rest is noise, dust or paper texture.
  Components components = Label(mask, w, h);
  const int largest_id = static_cast<int>(
      std::max_element(components.area.begin(), components.area.end()) -
      components.area.begin());
  const int largest = components.area[largest_id];
  if (largest < std::max(4.0, 2e-4 * w * h)) {
    return NoInk(absl::StrCat("the largest mark has only ", largest, " pixels"));
  }
  std::vector<uint8_t> keep = KeepDigit(components, w, h, largest_id,
                                        options.min_speck_fraction);
  for (size_t i = 0; i < mask.size(); ++i) {
    mask[i] = mask[i] && keep[components.label[i]];
  }
  Box box = BoundingBox(mask, w, h);

  // 6. Stroke width: MNIST's strokes are about kMnistStroke pixels wide
  //    once the digit is 20 pixels tall; much thinner (a fine pen on a
  //    large photo) or thicker (a marker) strokes are grown or thinned
  //    to that, through the distance to the stroke's edge.
  if (options.normalize_stroke_width) {
    const double scale = 20.0 / std::max(box.width(), box.height());
    const double width20 = StrokeWidth(mask, w, h) * scale;
    if (width20 < kMnistStroke / 1.5 || width20 > kMnistStroke * 1.5) {
      const double change = (kMnistStroke - width20) / 2 / scale;  // per side
      if (change > 0) {
        std::vector<uint8_t> outside(mask.size());
        for (size_t i = 0; i < mask.size(); ++i) outside[i] = !mask[i];
        std::vector<float> d = DistanceToOutside(outside, w, h, false);
        for (size_t i = 0; i < mask.size(); ++i) mask[i] = d[i] <= change + 0.5;
      } else {
        // Thinning stops short of breaking strokes: at most a third
        // of the width is taken from each side.
        const double take = std::min(-change, StrokeWidth(mask, w, h) / 3);
        std::vector<float> d = DistanceToOutside(mask, w, h, true);
        for (size_t i = 0; i < mask.size(); ++i) mask[i] = d[i] > take;
      }
      box = BoundingBox(mask, w, h);
      if (box.width() <= 0) return NoInk("the strokes vanished when thinned");
    }
  }

  // 7. Scale the bounding box's longer side to 20 pixels, keeping the
  //    aspect ratio, by area averaging of the ink mask: strokes get
  //    MNIST's anti-aliased edges.
  Plane strokes(w, h);
  for (size_t i = 0; i < mask.size(); ++i) strokes.v[i] = mask[i];
  const double scale = double(kMnistBox) / std::max(box.width(), box.height());
  const int sw = std::max(1, int(std::lround(box.width() * scale)));
  const int sh = std::max(1, int(std::lround(box.height() * scale)));
  Plane small = ResampleArea(strokes, box.x0, box.y0, scale, sw, sh);

  // 8. Place it in the 28x28 frame with its centre of mass at the centre
  //    (14, 14), resampling once more at the sub-pixel offset that puts it
  //    there.
  double cx, cy;
  CentreOfMass(small, &cx, &cy);
  const double x0 = box.x0 + (cx - kMnistSide / 2.0) / scale;
  const double y0 = box.y0 + (cy - kMnistSide / 2.0) / scale;
  Plane frame = ResampleArea(strokes, x0, y0, scale, kMnistSide, kMnistSide);
  MnistDigit digit;
  for (int i = 0; i < kMnistSide * kMnistSide; ++i) {
    digit.pixels[i] = static_cast<uint8_t>(std::lround(std::clamp(frame.v[i], 0.0f, 1.0f) * 255));
  }
  return digit;
}

}  // namespace

absl::StatusOr<MnistDigit> PrepareDigit(const GrayImage& image, const DigitOptions& options) {
  try {
    return Prepare(image, options);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "no memory to prepare a ", image.width, "x", image.height, " image"));
  }
}

absl::StatusOr<MnistDigit> DigitFromPixels(const uint8_t* pixels, int64_t count) {
  MnistDigit digit;
  if (pixels == nullptr || count != static_cast<int64_t>(digit.pixels.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an MNIST digit has ", kMnistSide, "x", kMnistSide, " = ",
        digit.pixels.size(), " pixels, not ", pixels == nullptr ? 0 : count));
  }
  std::memcpy(digit.pixels.data(), pixels, digit.pixels.size());
  return digit;
}

}  // namespace nabla
