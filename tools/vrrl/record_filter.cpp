#include "record_filter.hpp"

#include <algorithm>

#include "dispatch_failure.hpp"

namespace vrrl::cli {
namespace {

std::vector<std::uint32_t> values_of(const std::vector<std::string>& texts) {
  std::vector<std::uint32_t> values;
  for (const std::string& text : texts) {
    for (std::uint32_t value : u32_list_of(text)) values.push_back(value);
  }
  std::sort(values.begin(), values.end());
  return values;
}

bool selected(const std::vector<std::uint32_t>& wanted, std::uint32_t value) {
  return wanted.empty() || std::binary_search(wanted.begin(), wanted.end(), value);
}

void add_values_option(CLI::App& command, const char* name, std::vector<std::string>& into, const char* what) {
  command.add_option(name, into, std::string("only records whose ") + what + " is one of these")
      ->check(u32_list_value())
      ->option_text("N[,N...]")
      ->group("Selecting records");
}

// Stream names as the recording layout allows them: [A-Za-z0-9._-]{1,128}, not starting with '.'.
bool valid_stream_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && name.front() != '.' &&
         name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
             std::string_view::npos;
}

std::vector<std::string> split_names(std::string_view text) {
  std::vector<std::string> names;
  for (;;) {
    const std::size_t comma = text.find(',');
    names.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return names;
    text.remove_prefix(comma + 1);
  }
}

CLI::Validator stream_list_value() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        for (const std::string& name : split_names(text)) {
          if (valid_stream_name(name)) continue;
          return "\"" + name.substr(0, 40) + "\" is not a stream name; expected [A-Za-z0-9._-]{1,128}, not starting "
                 "with '.', e.g. worker-3 (several: worker-1,worker-2 or repeat the option)";
        }
        return {};
      },
      "");
}

}  // namespace

std::vector<std::string> stream_names(const FilterOptions& options) {
  std::vector<std::string> names;
  for (const std::string& text : options.streams) {
    for (std::string& name : split_names(text)) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    }
  }
  return names;
}

void add_filter_options(CLI::App& command, FilterOptions& options, TimeRange time_range) {
  command.add_option("--stream", options.streams, "a recording directory: only these streams (default: all, merged)")
      ->check(stream_list_value())
      ->option_text("NAME[,NAME...]")
      ->group("Selecting records");
  add_values_option(command, "--tenant", options.tenants, "tenant_id");
  add_values_option(command, "--opcode", options.opcodes, "opcode");
  add_values_option(command, "--epoch", options.epochs, "epoch");
  command.add_flag("--failed", options.failed_only,
                   "only failed dispatches: failure_class other than none, or slot_status not 0")
      ->group("Selecting records");
  if (time_range == TimeRange::not_offered) return;
  command.add_option("--since", options.since,
                     "only records with timestamp_ns at or after TIME: nanoseconds (1733046600000000000), after "
                     "the first record (+1.5ms, +2s), or ISO-8601 UTC (2026-12-01T09:50:00.25Z, 2026-12-01)")
      ->check(time_point_value())
      ->option_text("TIME")
      ->group("Selecting records");
  command.add_option("--until", options.until, "only records with timestamp_ns before TIME (same forms)")
      ->check(time_point_value())
      ->option_text("TIME")
      ->group("Selecting records");
}

RecordFilter::RecordFilter(const FilterOptions& options)
    : tenants_(values_of(options.tenants)),
      opcodes_(values_of(options.opcodes)),
      epochs_(values_of(options.epochs)),
      failed_only_(options.failed_only) {
  if (!options.since.empty()) since_ = time_point_of(options.since);
  if (!options.until.empty()) until_ = time_point_of(options.until);
}

bool RecordFilter::matches(const RecordValue& record) {
  const RecordedSlot& slot = record.slot;
  if (!first_timestamp_) first_timestamp_ = slot.timestamp_ns;
  if (since_ && slot.timestamp_ns < since_->resolve(*first_timestamp_)) return false;
  if (until_ && slot.timestamp_ns >= until_->resolve(*first_timestamp_)) return false;
  return selected(tenants_, slot.tenant_id) && selected(opcodes_, slot.opcode) && selected(epochs_, slot.epoch) &&
         (!failed_only_ || is_failure(record.failure));
}

}  // namespace vrrl::cli
