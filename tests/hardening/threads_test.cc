// Thread counts beyond what the machine runs are capped, not passed to
// libgomp (which crashed on 100000); negative ones are an error.

#include <omp.h>

#include "core/dnnl_context.h"
#include "graph/builder.h"
#include "ops/conv.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

// A convolution runs (oneDNN's threads) and gives the same values.
Tensor Convolve() {
  GraphBuilder b;
  Output x = b.Constant(RandomTensor({2, 3, 9, 9}, 1));
  Output w = b.Constant(RandomTensor({4, 3, 3, 3}, 2));
  Output y = Conv2D(x, w);
  auto out = testing::RunOnce(b, {}, {y});
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? (*out)[0] : Tensor();
}

TEST(ThreadsTest, HugeCountIsCappedAndWorks) {
  NABLA_ASSERT_OK(SetNumThreads(1));
  Tensor reference = Convolve();
  EXPECT_EQ(MaxNumThreads(), 4 * omp_get_num_procs());
  ::testing::internal::CaptureStderr();
  NABLA_ASSERT_OK(SetNumThreads(100000));
  std::string warning = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(warning, HasSubstr("warning: 100000 threads asked for"));
  EXPECT_EQ(NumThreads(), MaxNumThreads());
  Tensor capped = Convolve();
  ASSERT_FALSE(capped.empty());
  testing::ExpectTensorNear(capped, reference.shape(), testing::ToDoubles(reference));
}

TEST(ThreadsTest, NegativeCountIsAnErrorAndChangesNothing) {
  NABLA_ASSERT_OK(SetNumThreads(2));
  EXPECT_THAT(SetNumThreads(-3), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("not -3")));
  EXPECT_EQ(NumThreads(), 2);
}

TEST(ThreadsTest, EnvironmentCountIsCappedToo) {
  ASSERT_EQ(::setenv("NABLA_NUM_THREADS", "100000", 1), 0);
  ::testing::internal::CaptureStderr();
  NABLA_ASSERT_OK(SetNumThreads(0));
  std::string warning = ::testing::internal::GetCapturedStderr();
  ::unsetenv("NABLA_NUM_THREADS");
  EXPECT_THAT(warning, HasSubstr("set in the environment"));
  EXPECT_EQ(NumThreads(), MaxNumThreads());
}

}  // namespace
}  // namespace nabla
