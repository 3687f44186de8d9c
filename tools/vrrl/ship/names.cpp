#include "names.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>

namespace vrrl::ship {
namespace {

[[nodiscard]] bool is_token_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

[[nodiscard]] std::vector<std::string_view> tokens_of(std::string_view subject) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = subject.find('.', start);
    tokens.push_back(subject.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return tokens;
    start = dot + 1;
  }
}

}  // namespace

bool is_valid_stream_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name_bytes || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return is_token_char(c) || c == '.'; });
}

bool is_valid_source_id(std::string_view id) noexcept {
  return is_valid_stream_name(id) && id.back() != '.' && id.find("..") == std::string_view::npos;
}

bool is_valid_jetstream_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_name_bytes) return false;
  return std::all_of(name.begin(), name.end(), is_token_char);
}

bool is_valid_subject(std::string_view subject) noexcept {
  if (subject.empty() || subject.size() > 255) return false;
  for (std::string_view token : tokens_of(subject)) {
    if (token.empty() || !std::all_of(token.begin(), token.end(), is_token_char)) return false;
  }
  return true;
}

bool is_valid_subject_filter(std::string_view filter) noexcept {
  if (filter.empty() || filter.size() > 255) return false;
  const auto tokens = tokens_of(filter);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i];
    if (token == "*") continue;
    if (token == ">" && i + 1 == tokens.size()) continue;
    if (token.empty() || !std::all_of(token.begin(), token.end(), is_token_char)) return false;
  }
  return true;
}

bool subject_matches(std::string_view filter, std::string_view subject) noexcept {
  const auto wanted = tokens_of(filter);
  const auto given = tokens_of(subject);
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (wanted[i] == ">") return given.size() > i;
    if (i >= given.size()) return false;
    if (wanted[i] != "*" && wanted[i] != given[i]) return false;
  }
  return wanted.size() == given.size();
}

std::string default_source_id() {
  std::array<char, HOST_NAME_MAX + 1> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) return {};
  std::string name(host.data());
  return is_valid_source_id(name) ? name : std::string{};
}

std::string default_subject(std::string_view source_id) { return "vrrl." + std::string(source_id); }

std::vector<std::string> subjects_to_create(std::string_view subject) {
  const std::size_t dot = subject.find('.');
  if (dot == std::string_view::npos) return {std::string(subject)};
  return {std::string(subject.substr(0, dot)) + ".>"};
}

std::string message_id(std::string_view source_id, std::string_view stream_name, std::uint64_t first_sequence) {
  std::string id;
  id.reserve(source_id.size() + stream_name.size() + 22);
  id.append(source_id).append(":").append(stream_name).append(":").append(std::to_string(first_sequence));
  return id;
}

}  // namespace vrrl::ship
