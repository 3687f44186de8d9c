#include <vrrl/header.hpp>

namespace vrrl {

std::optional<HeaderProblem> check_header(const LogHeader& header, std::uint64_t file_size) {
  const std::string regenerate = "regenerate the log; VRRL format may have changed";
  const bool v1_magic = header.magic == format::log_magic;
  if (!v1_magic && header.magic != format::log_magic_v2) {
    return HeaderProblem{ErrorKind::header_mismatch,
                         "header mismatch: the file does not start with VRRL0001 or VRRL0002", regenerate};
  }
  const std::uint32_t expected_version = v1_magic ? format::log_version : format::log_version_v2;
  if (header.version != expected_version) {
    return HeaderProblem{ErrorKind::header_mismatch,
                         std::string("header mismatch: magic ") + (v1_magic ? "VRRL0001" : "VRRL0002") +
                             " with format version " + std::to_string(header.version) + "; that magic goes with version " +
                             std::to_string(expected_version),
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
  const std::uint64_t needed = format::layout_of(*header.format()).file_bytes(header.capacity);
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
