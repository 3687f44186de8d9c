#include <vrrl/header.hpp>

namespace vrrl {

std::optional<HeaderProblem> check_header(const LogHeader& header, std::uint64_t file_size) {
  const std::string regenerate = "regenerate the log; VRRL format may have changed";
  if (header.magic != format::log_magic) {
    return HeaderProblem{ErrorKind::header_mismatch, "header mismatch: the file does not start with VRRL0001",
                         regenerate};
  }
  if (header.version != format::log_version) {
    return HeaderProblem{ErrorKind::header_mismatch,
                         "header mismatch: format version " + std::to_string(header.version) +
                             ", this vrrl reads version " + std::to_string(format::log_version),
                         regenerate};
  }
  if (header.capacity == 0) {
    return HeaderProblem{ErrorKind::zero_capacity, "header capacity must be > 0",
                         "the header is damaged; restore the log from a good copy"};
  }
  if (header.capacity > format::max_capacity) {
    return HeaderProblem{ErrorKind::capacity_overflow,
                         "header capacity " + std::to_string(header.capacity) + " exceeds max " +
                             std::to_string(format::max_capacity),
                         "the header is damaged, or the log was not written by VRRL v1; restore it from a good copy"};
  }
  const std::uint64_t needed = format::file_bytes(header.capacity);
  if (file_size < needed) {
    return HeaderProblem{ErrorKind::truncated,
                         "the file is " + std::to_string(file_size) + " bytes but its header promises " +
                             std::to_string(header.capacity) + " slots, which need " + std::to_string(needed) +
                             " bytes",
                         "the log was truncated or copied partially; restore it from a complete copy "
                         "(`vrrl verify` lists what is readable)"};
  }
  return std::nullopt;
}

}  // namespace vrrl
