// What the CLI counts as a failed dispatch, in stats, --failed, export and diff
// (docs/cli.md, "Failure"): a failure class other than `none`, or a non-zero
// slot_status. Failure evidence alone is not a failure: schedulers store an
// output_digest (or a backend_code) for every dispatch, successful or not.
#pragma once

#include <vrrl/record.hpp>

namespace vrrl::cli {

[[nodiscard]] constexpr bool is_failure(const FailureEvidence& evidence) noexcept {
  return evidence.failure_class != FailureClass::none || evidence.slot_status != 0;
}

}  // namespace vrrl::cli
