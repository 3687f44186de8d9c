// The names vrrl ship puts on the wire and on disk, and the rules they follow
// (docs/shipping.md, "Names"). Every name that reaches a subject, a message id,
// a file name or a directory name is checked here first, so a hostile or
// mistyped name is refused instead of escaping OUT_DIR or splitting a subject.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vrrl::ship {

// A recording stream's name or a source id: [A-Za-z0-9._-]{1,128}, not
// starting with '.' (the recording layout's rule, docs/format.md). Source ids
// also become subject tokens, so for them "..", a trailing '.' are refused too.
inline constexpr std::size_t max_name_bytes = 128;
[[nodiscard]] bool is_valid_stream_name(std::string_view name) noexcept;
[[nodiscard]] bool is_valid_source_id(std::string_view id) noexcept;
// A JetStream stream name as vrrl accepts it: [A-Za-z0-9_-]{1,128} (JetStream
// forbids '.', '*', '>', whitespace and slashes; the name also ends up in the
// cursor file's name).
[[nodiscard]] bool is_valid_jetstream_name(std::string_view name) noexcept;
// A subject to publish on: tokens of [A-Za-z0-9_-] separated by '.', no
// wildcards. A subject filter (pull --subject) may also use '*' and a final '>'.
[[nodiscard]] bool is_valid_subject(std::string_view subject) noexcept;
[[nodiscard]] bool is_valid_subject_filter(std::string_view filter) noexcept;
// NATS wildcard matching: '*' matches one token, a final '>' one or more.
[[nodiscard]] bool subject_matches(std::string_view filter, std::string_view subject) noexcept;

// The hostname, or "" when it is not a valid source id (the caller asks for --source-id).
[[nodiscard]] std::string default_source_id();
// "vrrl.<source id>": one subject per host, as docs/shipping.md suggests for a fleet.
[[nodiscard]] std::string default_subject(std::string_view source_id);
// The subjects a stream created by vrrl ship binds: "<first token>.>" for a
// subject with several tokens (so every host of the fleet is captured), else
// the subject itself.
[[nodiscard]] std::vector<std::string> subjects_to_create(std::string_view subject);

// Nats-Msg-Id: "<source id>:<stream name>:<first sequence>". Neither name may
// contain ':', so the id is unambiguous; the server drops a second message with
// the same id inside the stream's duplicate window.
[[nodiscard]] std::string message_id(std::string_view source_id, std::string_view stream_name,
                                     std::uint64_t first_sequence);

}  // namespace vrrl::ship
