// Builders for the vrrl::Error values lib/ throws, so every message has the
// same shape: operation, path, what is wrong (with errno text), and a Fix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <vrrl/error.hpp>

namespace vrrl::detail {

// Any other failure: kind, operation, path, one sentence of what is wrong, a fix.
[[nodiscard]] Error problem(ErrorKind kind, std::string operation, const std::filesystem::path& path,
                            std::string what_is_wrong, std::string fix);

// A failed system call: "<call> failed: <strerror> (errno N)", with a fix
// chosen from the errno when the caller has none better.
[[nodiscard]] Error io_error(const std::string& operation, const std::filesystem::path& path,
                             const std::string& call, int errno_value, std::string fix = {});

// Throws zero_capacity / capacity_overflow unless 1 <= capacity <= max_capacity.
void validate_capacity(std::uint64_t capacity, const std::filesystem::path& path, const std::string& where);

}  // namespace vrrl::detail
