#include <vrrl/record.hpp>

namespace vrrl {

std::string_view to_string(FailureClass failure_class) noexcept {
  switch (failure_class) {
    case FailureClass::none: return "none";
    case FailureClass::device_loss: return "device_loss";
    case FailureClass::transient_queue: return "transient_queue";
    case FailureClass::program_bug: return "program_bug";
    case FailureClass::unclassified: return "unclassified";
  }
  return "unclassified";
}

}  // namespace vrrl
