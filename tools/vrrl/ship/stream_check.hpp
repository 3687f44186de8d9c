// Whether an existing stream can take what vrrl ship sends: each setting that
// would lose, reject or silently drop shipped messages is named in the error,
// with the value found and what to do (docs/shipping.md, "The stream").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "failure.hpp"
#include "transport.hpp"

namespace vrrl::ship {

// The settings of an existing stream that matter here, as the service reports them.
struct ExistingStream {
  std::string name;
  std::vector<std::string> subjects;
  std::string retention = "limits";  // "limits", "interest" or "workqueue"
  bool no_ack = false;
  bool sealed = false;
  bool is_mirror = false;
  std::int64_t max_message_bytes = -1;  // -1: unlimited
  std::chrono::nanoseconds duplicate_window{0};
  int replicas = 1;
  std::int64_t max_bytes = -1;  // -1: unlimited
};

// Nullopt when `stream` fits `requirements`; otherwise the first setting that does not.
[[nodiscard]] std::optional<Failure> check_stream(const ExistingStream& stream, const StreamRequirements& requirements);

}  // namespace vrrl::ship
