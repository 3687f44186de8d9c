#include "record_json.hpp"

#include <array>
#include <bitset>
#include <charconv>
#include <cstdint>
#include <cstdio>
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

void append_wide_field(std::string& out, std::string_view key_with_quotes_and_colon, std::uint64_t value,
                       Wide64 wide) {
  out += key_with_quotes_and_colon;
  if (wide == Wide64::as_string) out += '"';
  append_number(out, value);
  if (wide == Wide64::as_string) out += '"';
}

constexpr std::array<FailureClass, 5> failure_classes{FailureClass::none, FailureClass::device_loss,
                                                      FailureClass::transient_queue, FailureClass::program_bug,
                                                      FailureClass::unclassified};

// --- parsing -----------------------------------------------------------------

enum class FieldKind { u32, u64, args, failure, failure_class, stream };

struct Field {
  std::string_view name;
  FieldKind kind;
};

// In the format's order, which is also the order "missing key" reports them.
constexpr std::array<Field, 8> record_fields{{{"timestamp_ns", FieldKind::u64},
                                              {"slot_idx", FieldKind::u32},
                                              {"tenant_id", FieldKind::u32},
                                              {"opcode", FieldKind::u32},
                                              {"args", FieldKind::args},
                                              {"epoch", FieldKind::u32},
                                              {"failure", FieldKind::failure},
                                              {"stream", FieldKind::stream}}};
constexpr std::size_t required_record_fields = 6;  // "failure" and "stream" are optional
constexpr std::array<Field, 4> failure_fields{{{"slot_status", FieldKind::u32},
                                               {"failure_class", FieldKind::failure_class},
                                               {"backend_code", FieldKind::u32},
                                               {"output_digest", FieldKind::u64}}};

// Input shown in a message: at most this many characters, escaped, so a
// hostile line cannot flood the terminal or hide what is wrong.
constexpr std::size_t shown_chars = 40;

std::string shortened(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, shown_chars)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F && c != '"' && c != '\\') {
      out += c;
    } else {
      char escaped[7];
      std::snprintf(escaped, sizeof escaped, "\\u%04X", byte);
      out += escaped;
    }
  }
  if (text.size() > shown_chars) out += "...";
  return out;
}

std::string shown_quoted(std::string_view text) {
  std::string out(1, '"');
  out += shortened(text);
  out += '"';
  return out;
}

std::optional<std::uint64_t> digits_value(std::string_view text) {
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string integer_message(const Field& field, const std::string& got) {
  const std::string range = field.kind == FieldKind::u64
                                ? "from 0 to 18446744073709551615 (or a string of its digits)"
                                : "from 0 to " + std::to_string(std::numeric_limits<std::uint32_t>::max());
  std::string message(1, '"');
  message += field.name;
  message += "\" must be an integer ";
  message += range;
  message += ", got ";
  message += got;
  return message;
}

// The nlohmann SAX handler that builds a RecordValue from one line's events.
// It never holds more than the record: no DOM is built, so nothing recurses
// and nothing is copied, whatever the input.
class RecordParser {
 public:
  using json = nlohmann::json;

  RecordValue record;
  std::string error;  // why a handler returned false

  bool null() { return reject("null"); }
  bool boolean(bool value) { return reject(value ? "true" : "false"); }
  // nlohmann reports every number written with a minus sign here, -0 included.
  bool number_integer(json::number_integer_t value) { return reject(value == 0 ? "-0" : std::to_string(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return take_number(value, std::to_string(value)); }
  bool number_float(json::number_float_t, const std::string& text) { return reject(shortened(text)); }
  bool string(std::string& text) { return take_string(text); }
  bool binary(json::binary_t&) { return reject("binary data"); }

  bool start_object(std::size_t) {
    if (level_ == Level::top) return enter(Level::record);
    if (level_ == Level::record && field_ != nullptr && field_->kind == FieldKind::failure) {
      return enter(Level::failure);
    }
    return reject("an object");
  }

  bool key(std::string& name) {
    const bool in_failure = level_ == Level::failure;
    const std::string where = in_failure ? "in \"failure\": " : "";
    const auto fields = in_failure ? std::span<const Field>(failure_fields) : std::span<const Field>(record_fields);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].name != name) continue;
      const bool seen = in_failure ? seen_failure_.test(i) : seen_record_.test(i);
      if (seen) return fail(where + "duplicate key " + shown_quoted(name) + "; each key may appear once");
      if (in_failure) {
        seen_failure_.set(i);
      } else {
        seen_record_.set(i);
      }
      field_ = &fields[i];
      field_index_ = i;
      return true;
    }
    return fail(where + "unknown key " + shown_quoted(name));
  }

  bool end_object() {
    if (level_ == Level::failure) {
      if (const auto missing = first_missing(failure_fields, seen_failure_, failure_fields.size())) {
        return fail("in \"failure\": missing key \"" + std::string(*missing) + "\"");
      }
      if (!record.failure.present()) {
        // Import would write all zeros, which dump reads back as "no evidence".
        return fail("\"failure\" is all zero/none, which the format stores as no failure evidence; leave the key out");
      }
      level_ = Level::record;
      field_ = nullptr;
      return true;
    }
    if (const auto missing = first_missing(record_fields, seen_record_, required_record_fields)) {
      return fail("missing key \"" + std::string(*missing) + "\"");
    }
    level_ = Level::done;
    return true;
  }

  bool start_array(std::size_t) {
    if (level_ == Level::record && field_ != nullptr && field_->kind == FieldKind::args) {
      args_count_ = 0;
      return enter(Level::args);
    }
    return reject("an array");
  }

  bool end_array() {
    if (args_count_ != record.slot.args.size()) return fail(args_message(std::to_string(args_count_) + " of them"));
    level_ = Level::record;
    field_ = nullptr;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    // Its "last read" part quotes the token, which may be the rest of the line: bounded.
    const std::string text = e.what();
    const auto column = text.find("column ");
    std::string detail = column != std::string::npos ? text.substr(column) : text;
    constexpr std::size_t shown_detail = 160;
    if (detail.size() > shown_detail) detail = detail.substr(0, shown_detail) + "...";
    return fail("not valid JSON (" + detail + ")");
  }

 private:
  enum class Level { top, record, args, failure, done };

  bool enter(Level level) {
    level_ = level;
    field_ = nullptr;
    return true;
  }

  bool fail(std::string message) {
    error = std::move(message);
    return false;
  }

  std::string args_message(const std::string& got) const {
    return "\"args\" must be an array of " + std::to_string(record.slot.args.size()) + " integers, got " + got;
  }

  template <std::size_t N>
  static std::optional<std::string_view> first_missing(const std::array<Field, N>& fields,
                                                       const std::bitset<N>& seen, std::size_t required) {
    for (std::size_t i = 0; i < required; ++i) {
      if (!seen.test(i)) return fields[i].name;
    }
    return std::nullopt;
  }

  // A value that cannot go where it stands; `got` describes it.
  bool reject(const std::string& got) {
    switch (level_) {
      case Level::top:
      case Level::done:
        return fail("expected a JSON object, got " + got);
      case Level::args:
        return fail("\"args[" + std::to_string(args_count_) + "]\" must be an integer from 0 to 4294967295, got " +
                    got);
      case Level::record:
      case Level::failure:
        break;
    }
    switch (field_->kind) {
      case FieldKind::u32:
      case FieldKind::u64:
        return fail(integer_message(*field_, got));
      case FieldKind::args:
        return fail(args_message(got));
      case FieldKind::failure:
        return fail("\"failure\" must be an object, got " + got);
      case FieldKind::failure_class:
        return fail(
            "\"failure_class\" must be one of \"none\", \"device_loss\", \"transient_queue\", \"program_bug\", "
            "\"unclassified\", got " +
            got);
      case FieldKind::stream:
        return fail("\"stream\" must be a string (a stream name), got " + got);
    }
    return fail("unexpected " + got);
  }

  bool take_number(std::uint64_t value, const std::string& text) {
    if (level_ == Level::args) {
      if (args_count_ == record.slot.args.size()) return fail(args_message("more"));
      if (value > std::numeric_limits<std::uint32_t>::max()) return reject(text);
      record.slot.args[args_count_++] = static_cast<std::uint32_t>(value);
      return true;
    }
    if ((level_ != Level::record && level_ != Level::failure) || field_ == nullptr) return reject(text);
    if (field_->kind == FieldKind::u64) return store(value);
    if (field_->kind == FieldKind::u32 && value <= std::numeric_limits<std::uint32_t>::max()) return store(value);
    return reject(text);
  }

  bool take_string(const std::string& text) {
    if ((level_ == Level::record || level_ == Level::failure) && field_ != nullptr) {
      if (field_->kind == FieldKind::u64) {
        if (const auto value = digits_value(text)) return store(*value);
      }
      if (field_->kind == FieldKind::stream) return true;  // which stream a dumped record came from: not stored
      if (field_->kind == FieldKind::failure_class) {
        for (FailureClass candidate : failure_classes) {
          if (to_string(candidate) == text) {
            record.failure.failure_class = candidate;
            return true;
          }
        }
      }
    }
    return reject(shown_quoted(text));
  }

  // Stores a number into the field named by the last key.
  bool store(std::uint64_t value) {
    const auto narrow = static_cast<std::uint32_t>(value);  // only u32 fields reach the narrowing cases
    RecordedSlot& slot = record.slot;
    FailureEvidence& failure = record.failure;
    if (level_ == Level::failure) {
      switch (field_index_) {
        case 0: failure.slot_status = narrow; break;
        case 2: failure.backend_code = narrow; break;
        case 3: failure.output_digest = value; break;
        default: break;
      }
      return true;
    }
    switch (field_index_) {
      case 0: slot.timestamp_ns = value; break;
      case 1: slot.slot_idx = narrow; break;
      case 2: slot.tenant_id = narrow; break;
      case 3: slot.opcode = narrow; break;
      case 5: slot.epoch = narrow; break;
      default: break;
    }
    return true;
  }

  Level level_ = Level::top;
  const Field* field_ = nullptr;  // the key whose value comes next
  std::size_t field_index_ = 0;
  std::bitset<record_fields.size()> seen_record_;
  std::bitset<failure_fields.size()> seen_failure_;
  std::size_t args_count_ = 0;
};

}  // namespace

void append_jsonl(std::string& out, const RecordValue& record, Wide64 wide, std::string_view stream) {
  const RecordedSlot& slot = record.slot;
  if (!stream.empty()) {
    out += "{\"stream\":\"";
    out += stream;
    out += "\",";
  } else {
    out += '{';
  }
  append_wide_field(out, "\"timestamp_ns\":", slot.timestamp_ns, wide);
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
    append_wide_field(out, ",\"output_digest\":", failure.output_digest, wide);
    out += '}';
  }
  out += '}';
}

RecordValue parse_jsonl(std::string_view line) {
  if (const auto nul = line.find('\0'); nul != std::string_view::npos) {
    throw JsonlError("a NUL byte at column " + std::to_string(nul + 1) +
                     "; a line of the dump format is plain text (is the input binary?)");
  }
  RecordParser parser;
  if (!nlohmann::json::sax_parse(line.begin(), line.end(), &parser)) {
    throw JsonlError(parser.error.empty() ? std::string("not valid JSON") : parser.error);
  }
  return parser.record;
}

}  // namespace vrrl::cli
