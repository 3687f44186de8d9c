// The shape every `vrrl` subcommand shares: main.cpp registers each one with
// CLI11, parses, then runs the one the user picked.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace vrrl::cli {

// Exit codes, documented in `vrrl --help` and docs/cli.md.
inline constexpr int exit_ok = 0;
inline constexpr int exit_problems = 1;  // problems found (verify), or the operation failed
inline constexpr int exit_usage = 2;     // bad arguments

// A registered subcommand: `app` is selected after a successful parse when the
// user named it; `run` then does the work and returns the exit code. Errors are
// thrown (vrrl::Error, UsageError) and turned into one stderr line by main.cpp.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// A usage problem found after parsing (e.g. `import` of a missing log without
// --capacity): main.cpp prints it like a CLI11 parse error and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// For unsigned options: CLI11 would read "-1" as 2^64-1; require plain digits.
inline CLI::Validator digits_only() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return {};
        return "expected a non-negative integer, got \"" + text + "\"";
      },
      "");
}

Command add_info_command(CLI::App& vrrl);
Command add_dump_command(CLI::App& vrrl);
Command add_verify_command(CLI::App& vrrl);
Command add_tail_command(CLI::App& vrrl);
Command add_import_command(CLI::App& vrrl);
Command add_stats_command(CLI::App& vrrl);
Command add_export_command(CLI::App& vrrl);
Command add_diff_command(CLI::App& vrrl);
Command add_convert_command(CLI::App& vrrl);

}  // namespace vrrl::cli
