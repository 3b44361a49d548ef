// Sum and Mean reject an axis named twice, as NumPy does.

#include "ops/arith.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ReduceAxesTest, RepeatedAxisIsAnError) {
  {
    GraphBuilder b;
    Sum(b.Placeholder("x", {2, 3, 4}), {1, 1}, false, "s");
    EXPECT_THAT(b.status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("Sum node 's' (inputs f32[2,3,4]): axis 1 "
                                   "repeats axis 1 in axes [1,1]")));
  }
  {
    // -2 on rank 3 is axis 1.
    GraphBuilder b;
    Mean(b.Placeholder("x", {2, 3, 4}), {1, -2}, true, "m");
    EXPECT_THAT(b.status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("Mean node 'm' (inputs f32[2,3,4]): axis "
                                   "-2 repeats axis 1 in axes [1,-2]")));
  }
  {
    // -3 on rank 3 is axis 0: distinct from 1, so this one is fine.
    GraphBuilder b;
    Output y = Sum(b.Placeholder("x", {2, 3, 4}), {1, -3}, false, "s");
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(y.shape(), Shape({4}));
  }
  {
    GraphBuilder b;
    Sum(b.Placeholder("x", {2, 3, 4}), {0, 2, -3}, false, "s");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("axis -3 repeats axis 0")));
  }
}

TEST(ReduceAxesTest, DistinctAxesStillReduce) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2, 3});
  Output s = Sum(x, {0, -1}, false, "s");
  Output m = Mean(x, {-2}, false, "m");
  ASSERT_TRUE(b.ok()) << b.status();
  Tensor xv = *Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                             RunOnce(b, {{x, xv}}, {s, m}));
  ExpectTensorNear(out[0], Shape(), {21});
  ExpectTensorNear(out[1], Shape({3}), {2.5, 3.5, 4.5});
}

}  // namespace
}  // namespace nabla
