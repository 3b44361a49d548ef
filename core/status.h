// Status helpers over Abseil.
//
// Debian's Abseil (20220623) has no status_macros.h, so nabla defines the two
// macros every function returning a Status needs:
//
//   absl::StatusOr<Tensor> Load(absl::string_view path) {
//     NABLA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
//     NABLA_RETURN_IF_ERROR(CheckMagic(bytes));
//     ...
//   }

#ifndef NABLA_CORE_STATUS_H_
#define NABLA_CORE_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

// NABLA_RETURN_IF_ERROR returns the status of `expr` if it is not OK.
#define NABLA_RETURN_IF_ERROR(expr)                    \
  do {                                                 \
    ::absl::Status nabla_status_ = (expr);             \
    if (!nabla_status_.ok()) return nabla_status_;     \
  } while (false)

#define NABLA_STATUS_CONCAT_INNER_(a, b) a##b
#define NABLA_STATUS_CONCAT_(a, b) NABLA_STATUS_CONCAT_INNER_(a, b)

// NABLA_ASSIGN_OR_RETURN evaluates `rexpr` (a StatusOr) and either assigns its
// value to `lhs` or returns its status.
#define NABLA_ASSIGN_OR_RETURN(lhs, rexpr)                                  \
  NABLA_ASSIGN_OR_RETURN_IMPL_(                                             \
      NABLA_STATUS_CONCAT_(nabla_statusor_, __LINE__), lhs, rexpr)

#define NABLA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

namespace nabla {

// Prepends `context` to a non-OK status's message, keeping its code.
inline absl::Status Annotate(const absl::Status& status,
                             absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(context, ": ", status.message()));
}

}  // namespace nabla

#endif  // NABLA_CORE_STATUS_H_
