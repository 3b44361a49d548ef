// Data augmentation for image batches: a random affine warp per image
// (shift, rotation, scaling) with bilinear sampling, and optionally Simard
// et al.'s elastic distortion (2003: a random displacement field smoothed
// by a Gaussian), for u8 or f32 images [N, C, H, W].
//
//   AugmentOptions options;
//   options.max_shift_pixels = 2;
//   options.max_rotation_degrees = 10;
//   options.scale_range = 0.1;        // zoom by a factor in [0.9, 1.1]
//   options.seed = 42;
//   Tensor out(images.dtype(), images.shape());
//   NABLA_RETURN_IF_ERROR(AugmentImages(images, options, /*epoch=*/3, &out));
//
//   // Or in the training loop, prepared on a background thread:
//   fit_options.augment = Augmentation(options);
//
// Reproducibility: every random number for image i of epoch e comes from
// Philox4x32-10 (Salmon et al. 2011, a counter-based generator) keyed by
// the seed and counting from (e, i), never from shared state. So an
// epoch's images are a pure function of (seed, epoch, index): the same
// whatever the number of threads, the order images are processed in, or
// whether the run was restored from a checkpoint at an epoch boundary.

#ifndef NABLA_TRAIN_AUGMENT_H_
#define NABLA_TRAIN_AUGMENT_H_

#include <array>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "core/tensor.h"

namespace nabla {

// AugmentOptions say how far each image may be moved; every draw is
// uniform. All zero: the images come back unchanged.
struct AugmentOptions {
  // A shift along each axis in [-max_shift_pixels, max_shift_pixels]
  // pixels (not rounded: sub-pixel shifts are sampled bilinearly).
  double max_shift_pixels = 0;
  // A rotation about the image centre in [-max, max] degrees,
  // counter-clockwise as displayed (rows going down); at most 180.
  double max_rotation_degrees = 0;
  // A zoom by a factor in [1 - scale_range, 1 + scale_range] about the
  // centre; in [0, 1).
  double scale_range = 0;
  // Elastic distortion: each pixel is displaced by alpha times a field of
  // uniform [-1, 1] values smoothed by a Gaussian of standard deviation
  // elastic_sigma pixels (truncated at 4 sigma, mirrored at the borders,
  // as scipy.ndimage.gaussian_filter does). 0: none. Simard et al. used
  // alpha 34, sigma 4 on 28x28 digits.
  double elastic_alpha = 0;
  double elastic_sigma = 4;
  // Keys the generator: another seed, other images.
  uint64_t seed = 0;
};

// ValidateAugmentOptions is InvalidArgument, naming the field, for a
// negative or non-finite value, a rotation over 180 degrees, a scale_range
// outside [0, 1) or a non-positive elastic_sigma with elastic_alpha > 0.
absl::Status ValidateAugmentOptions(const AugmentOptions& options);

// Philox4x32 is the Philox4x32-10 block function of Random123: 128 random
// bits for a 128-bit counter and a 64-bit key.
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter,
                                   std::array<uint32_t, 2> key);

// AffineTransform maps output pixel coordinates (x: column, y: row, pixel
// centres at integers) to the source coordinates sampled:
//   source_x = xx * x + xy * y + x0,  source_y = yx * x + yy * y + y0.
struct AffineTransform {
  double xx = 1, xy = 0, x0 = 0;
  double yx = 0, yy = 1, y0 = 0;
};

// ImageTransform is one image's draw: the warp applied to its content.
struct ImageTransform {
  double shift_x = 0;  // pixels, positive: content moves right
  double shift_y = 0;  // pixels, positive: content moves down
  double rotation_degrees = 0;  // counter-clockwise as displayed
  double scale = 1;
};

// DrawTransform is the warp AugmentImages applies to image `index` of
// `epoch`.
ImageTransform DrawTransform(const AugmentOptions& options, int64_t epoch,
                             int64_t index);

// SourceMapping is the AffineTransform that warps an image of
// `height` x `width` by `transform` about its centre ((w-1)/2, (h-1)/2):
// content at source point p lands on scale * R(rotation) * (p - c) + c +
// shift.
AffineTransform SourceMapping(const ImageTransform& transform, int64_t height,
                              int64_t width);

// WarpImage samples `src` (one plane of `height` x `width`) at `mapping`
// of each output pixel, plus the displacement (dx, dy) of that pixel when
// given (row-major planes like the image), bilinearly; points outside the
// image read 0. u8 results are rounded to nearest and clamped to [0, 255].
void WarpImage(const uint8_t* src, int64_t height, int64_t width,
               const AffineTransform& mapping, const float* dx,
               const float* dy, uint8_t* dst);
void WarpImage(const float* src, int64_t height, int64_t width,
               const AffineTransform& mapping, const float* dx,
               const float* dy, float* dst);

// AugmentImages writes the augmented images of `epoch` (0 or more; the
// fit loop counts from 1) to `out`, which must have the dtype and shape of
// `images`: u8 or f32 [N, C, H, W], or [N, H, W]. Every channel of an
// image gets the same warp. `threads` > 1 splits the images between as
// many threads; the result is the same for any count. InvalidArgument for
// bad options, tensors or an epoch over 2^32 - 1; ResourceExhausted when
// memory or threads run out.
absl::Status AugmentImages(const Tensor& images, const AugmentOptions& options,
                           int64_t epoch, Tensor* out, int threads = 1);

// EpochInputsFn writes epoch `epoch`'s training inputs, computed from the
// original inputs `source`, into `*out`, a buffer of `source`'s dtype and
// shape (writing into it, not replacing it). Called from a background
// thread (see FitOptions::augment): it must not touch the session, and it
// should not throw (an exception becomes an Internal error).
using EpochInputsFn = std::function<absl::Status(
    int64_t epoch, const Tensor& source, Tensor* out)>;

// Augmentation is the EpochInputsFn that runs AugmentImages with
// `options` on `threads` threads.
EpochInputsFn Augmentation(AugmentOptions options, int threads = 1);

}  // namespace nabla

#endif  // NABLA_TRAIN_AUGMENT_H_
