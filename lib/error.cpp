#include <vrrl/error.hpp>

#include <utility>

namespace vrrl {
namespace {

std::string compose_message(const Error::Details& details) {
  std::string message = "vrrl " + details.operation;
  if (!details.path.empty()) message += " `" + details.path.string() + "`";
  message += ": " + details.what_is_wrong + ". Fix: " + details.fix + ".";
  return message;
}

}  // namespace

Error::Error(Details details) : std::runtime_error(compose_message(details)), details_(std::move(details)) {}

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::io: return "io";
    case ErrorKind::header_mismatch: return "header_mismatch";
    case ErrorKind::zero_capacity: return "zero_capacity";
    case ErrorKind::capacity_overflow: return "capacity_overflow";
    case ErrorKind::truncated: return "truncated";
    case ErrorKind::locked: return "locked";
    case ErrorKind::not_a_log_file: return "not_a_log_file";
  }
  return "unknown";
}

}  // namespace vrrl
