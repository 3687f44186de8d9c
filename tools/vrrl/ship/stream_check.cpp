#include "stream_check.hpp"

#include <algorithm>

#include "names.hpp"

namespace vrrl::ship {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text.empty() ? "(none)" : text;
}

std::string prefix(const ExistingStream& stream) { return "stream " + stream.name + " exists with "; }

}  // namespace

std::optional<Failure> check_stream(const ExistingStream& stream, const StreamRequirements& requirements) {
  const std::string recreate = "delete and recreate it (nats stream rm " + stream.name +
                               "), or ship into another --stream";
  if (stream.retention != "limits") {
    return Failure(prefix(stream) + "retention " + stream.retention +
                       ", which deletes messages once a consumer has seen them; vrrl pull would empty it",
                   "use a stream with limits retention: " + recreate);
  }
  if (stream.no_ack) {
    return Failure(prefix(stream) + "no_ack set, so it never acknowledges a publish and vrrl ship cannot know what "
                                    "is stored",
                   "use a stream without no_ack: " + recreate);
  }
  if (stream.sealed) {
    return Failure(prefix(stream) + "sealed set; it accepts no messages", "ship into another --stream");
  }
  if (stream.is_mirror) {
    return Failure(prefix(stream) + "a mirror configured; a mirror takes no publishes",
                   "ship into the stream it mirrors, or another --stream");
  }
  const bool captured = std::any_of(stream.subjects.begin(), stream.subjects.end(), [&](const std::string& filter) {
    return subject_matches(filter, requirements.publish_subject);
  });
  if (!captured) {
    return Failure(prefix(stream) + "subjects " + joined(stream.subjects) + ", which do not capture " +
                       requirements.publish_subject,
                   "pass a --subject those subjects capture, or add " + requirements.publish_subject +
                       " to the stream (nats stream edit " + stream.name + " --subjects ...)");
  }
  if (stream.max_message_bytes > 0 &&
      static_cast<std::uint64_t>(stream.max_message_bytes) < requirements.largest_message) {
    return Failure(prefix(stream) + "max_msg_size " + std::to_string(stream.max_message_bytes) +
                       " bytes, but vrrl ship sends messages of up to " +
                       std::to_string(requirements.largest_message) + " bytes",
                   "pass a smaller --batch, or raise the stream's max_msg_size");
  }
  if (stream.duplicate_window < requirements.minimum_duplicate_window) {
    const auto seconds = std::chrono::duration_cast<std::chrono::milliseconds>(stream.duplicate_window).count();
    return Failure(prefix(stream) + "duplicate_window " + std::to_string(seconds) + " ms, shorter than the " +
                       std::to_string(requirements.minimum_duplicate_window.count()) +
                       " s vrrl ship needs to drop the messages it resends after a timeout",
                   "raise the stream's duplicate window (nats stream edit " + stream.name +
                       " --dupe-window 2m), or " + recreate);
  }
  if (requirements.replicas && *requirements.replicas != stream.replicas) {
    return Failure(prefix(stream) + "replicas " + std::to_string(stream.replicas) + ", but --replicas " +
                       std::to_string(*requirements.replicas) + " was asked for",
                   "drop --replicas to use the stream as it is, or change its replicas (nats stream edit " +
                       stream.name + " --replicas N)");
  }
  if (requirements.max_bytes && *requirements.max_bytes != stream.max_bytes) {
    return Failure(prefix(stream) + "max_bytes " + std::to_string(stream.max_bytes) + ", but --max-bytes " +
                       std::to_string(*requirements.max_bytes) + " was asked for",
                   "drop --max-bytes to use the stream as it is, or change its max_bytes (nats stream edit " +
                       stream.name + " --max-bytes N)");
  }
  return std::nullopt;
}

}  // namespace vrrl::ship
