// vrrl verify LOG: check a log byte by byte and list every problem found.
#include <filesystem>
#include <iostream>
#include <memory>

#include <vrrl/ring_log.hpp>

#include "command.hpp"
#include "log_check.hpp"

namespace vrrl::cli {
namespace {

struct VerifyOptions {
  std::filesystem::path log;
};

int run_verify(const VerifyOptions& options) {
  const LogCheck check = check_log(options.log);
  const std::string log = options.log.string();

  // A writer may move the log while we read it; say so rather than call its
  // half-published newest slot a problem without context.
  bool locked = false;
  try {
    locked = check.header_valid && is_locked_by_writer(options.log);
  } catch (const Error&) {
    // check_log could open the file; a failing lock probe changes nothing it found.
  }

  for (const Finding& finding : check.findings) {
    std::cout << (finding.severity == Finding::Severity::problem ? "problem: " : "note: ");
    if (finding.slot) std::cout << "slot " << *finding.slot << ": ";
    std::cout << finding.message << '\n';
  }
  if (check.unlisted != 0) std::cout << "(" << check.unlisted << " more findings not listed)\n";
  if (locked) std::cout << "note: a writer holds the log open; this is a snapshot of a moving log\n";

  if (check.header_valid) {
    std::cout << log << ": " << check.slots_checked << " of " << check.capacity << " slots checked: "
              << check.records << " records, " << check.empty_slots << " empty, " << check.bad_magic_slots
              << " with a bad magic, " << check.timestamps_backwards << " timestamps going backwards\n";
  }
  if (check.clean()) {
    std::cout << log << ": clean\n";
    return exit_ok;
  }
  std::cout << log << ": " << check.problems << (check.problems == 1 ? " problem" : " problems") << " found\n";
  return exit_problems;
}

}  // namespace

Command add_verify_command(CLI::App& vrrl) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* verify = vrrl.add_subcommand(
"verify", "Check header, size, record magics, timestamp order; exit 1 on problems");
  verify->footer(
      "Checks the header, the file size against the capacity, every slot's record magic, and that timestamps\n"
      "never go backwards in replay order (oldest first). Each problem is listed with its slot index, then a\n"
      "summary. Reads the file with plain reads, so truncated and foreign files are examined too.");
  verify->add_option("LOG", options->log, "the log file (need not be a valid log)")->required();
  return {verify, [options] { return run_verify(*options); }};
}

}  // namespace vrrl::cli
