#include "record_json.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

namespace vrrl::cli {
namespace {

// Encoding is by hand rather than through nlohmann::json: dump of a full log is
// a million records, every value is an unsigned integer or one of five fixed
// names (nothing to escape), and the key order is part of the format.
void append_number(std::string& out, std::uint64_t value) {
  std::array<char, 20> digits;  // 2^64 - 1 has 20 digits
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), result.ptr);
}

void append_field(std::string& out, std::string_view key_with_quotes_and_colon, std::uint64_t value) {
  out += key_with_quotes_and_colon;
  append_number(out, value);
}

constexpr std::array<FailureClass, 5> failure_classes{FailureClass::none, FailureClass::device_loss,
                                                      FailureClass::transient_queue, FailureClass::program_bug,
                                                      FailureClass::unclassified};

const nlohmann::json& member(const nlohmann::json& object, const char* key, std::string_view where) {
  const auto found = object.find(key);
  if (found == object.end()) {
    throw JsonlError(std::string(where) + "missing key \"" + key + "\"");
  }
  return *found;
}

template <class Unsigned>
Unsigned unsigned_value(const nlohmann::json& value, std::string_view name) {
  // Non-negative integers parse as number_unsigned; -1, 1.5 and "1" do not.
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > std::numeric_limits<Unsigned>::max()) {
    throw JsonlError("\"" + std::string(name) + "\" must be an integer from 0 to " +
                     std::to_string(std::numeric_limits<Unsigned>::max()) + ", got " + value.dump());
  }
  return static_cast<Unsigned>(value.get<std::uint64_t>());
}

void reject_unknown_keys(const nlohmann::json& object, std::initializer_list<std::string_view> known,
                         std::string_view where) {
  for (const auto& item : object.items()) {
    bool is_known = false;
    for (std::string_view key : known) is_known = is_known || item.key() == key;
    if (!is_known) throw JsonlError(std::string(where) + "unknown key \"" + item.key() + "\"");
  }
}

FailureClass failure_class_named(const nlohmann::json& value) {
  if (value.is_string()) {
    const auto& name = value.get_ref<const std::string&>();
    for (FailureClass candidate : failure_classes) {
      if (to_string(candidate) == name) return candidate;
    }
  }
  throw JsonlError("\"failure_class\" must be one of \"none\", \"device_loss\", \"transient_queue\", "
                   "\"program_bug\", \"unclassified\", got " +
                   value.dump());
}

FailureEvidence parse_failure(const nlohmann::json& failure) {
  constexpr std::string_view where = "in \"failure\": ";
  if (!failure.is_object()) throw JsonlError("\"failure\" must be an object, got " + failure.dump());
  reject_unknown_keys(failure, {"slot_status", "failure_class", "backend_code", "output_digest"}, where);
  FailureEvidence evidence;
  evidence.slot_status = unsigned_value<std::uint32_t>(member(failure, "slot_status", where), "slot_status");
  evidence.failure_class = failure_class_named(member(failure, "failure_class", where));
  evidence.backend_code = unsigned_value<std::uint32_t>(member(failure, "backend_code", where), "backend_code");
  evidence.output_digest =
      unsigned_value<std::uint64_t>(member(failure, "output_digest", where), "output_digest");
  if (!evidence.present()) {
    // Import would write all zeros, which dump reads back as "no evidence".
    throw JsonlError("\"failure\" is all zero/none, which the format stores as no failure evidence; "
                     "leave the key out");
  }
  return evidence;
}

}  // namespace

void append_jsonl(std::string& out, const RecordValue& record) {
  const RecordedSlot& slot = record.slot;
  append_field(out, "{\"timestamp_ns\":", slot.timestamp_ns);
  append_field(out, ",\"slot_idx\":", slot.slot_idx);
  append_field(out, ",\"tenant_id\":", slot.tenant_id);
  append_field(out, ",\"opcode\":", slot.opcode);
  out += ",\"args\":[";
  for (std::size_t i = 0; i < slot.args.size(); ++i) {
    if (i != 0) out += ',';
    append_number(out, slot.args[i]);
  }
  out += ']';
  append_field(out, ",\"epoch\":", slot.epoch);
  if (const FailureEvidence& failure = record.failure; failure.present()) {
    append_field(out, ",\"failure\":{\"slot_status\":", failure.slot_status);
    out += ",\"failure_class\":\"";
    out += to_string(failure.failure_class);
    out += '"';
    append_field(out, ",\"backend_code\":", failure.backend_code);
    append_field(out, ",\"output_digest\":", failure.output_digest);
    out += '}';
  }
  out += '}';
}

RecordValue parse_jsonl(std::string_view line) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    const std::string text = e.what();
    const auto column = text.find("column ");
    throw JsonlError("not valid JSON (" + (column != std::string::npos ? text.substr(column) : text) + ")");
  }
  if (!object.is_object()) throw JsonlError("expected a JSON object, got " + object.dump());
  reject_unknown_keys(object, {"timestamp_ns", "slot_idx", "tenant_id", "opcode", "args", "epoch", "failure"}, "");

  RecordValue record;
  RecordedSlot& slot = record.slot;
  slot.timestamp_ns = unsigned_value<std::uint64_t>(member(object, "timestamp_ns", ""), "timestamp_ns");
  slot.slot_idx = unsigned_value<std::uint32_t>(member(object, "slot_idx", ""), "slot_idx");
  slot.tenant_id = unsigned_value<std::uint32_t>(member(object, "tenant_id", ""), "tenant_id");
  slot.opcode = unsigned_value<std::uint32_t>(member(object, "opcode", ""), "opcode");
  const nlohmann::json& args = member(object, "args", "");
  if (!args.is_array() || args.size() != slot.args.size()) {
    throw JsonlError("\"args\" must be an array of " + std::to_string(slot.args.size()) + " integers, got " +
                     args.dump());
  }
  for (std::size_t i = 0; i < slot.args.size(); ++i) {
    slot.args[i] = unsigned_value<std::uint32_t>(args[i], "args[" + std::to_string(i) + "]");
  }
  slot.epoch = unsigned_value<std::uint32_t>(member(object, "epoch", ""), "epoch");
  if (const auto failure = object.find("failure"); failure != object.end()) {
    record.failure = parse_failure(*failure);
  }
  return record;
}

}  // namespace vrrl::cli
