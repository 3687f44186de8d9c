// vrrl: the command-line tool for VRRL ring logs (docs/cli.md).
// Parses with CLI11, runs one subcommand, and turns every failure into one
// stderr line ending in a "Fix:" hint plus a documented exit code.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <vrrl/ring_log.hpp>

#include "command.hpp"
#ifdef VRRL_HAVE_NATS
#include "ship/commands.hpp"
#endif

namespace {

constexpr const char* exit_codes_footer =
    "Exit codes:\n"
    "  0  success (verify: the log is clean; diff: no divergence)\n"
    "  1  problems found (verify; dump, tail, stats, export: slots with a foreign magic or, in v2, a commit\n"
    "     word that checks for no sequence were skipped; convert: such slots were dropped from OUT; diff: the\n"
    "     runs diverge), or the operation failed (the message says why and how to fix it)\n"
    "  2  usage error: bad or missing arguments (diff: also a log it cannot read whole)\n"
    "\n"
    "See also:\n"
    "  man vrrl, and man vrrl-COMMAND for each command; the full reference with every format and JSON\n"
    "  schema is docs/cli.md in the vrrl sources, the file format docs/format.md.";

// "vrrl dump" for a parse error inside a subcommand, "vrrl" otherwise.
std::string command_name(const CLI::App& vrrl) {
  const auto selected = vrrl.get_subcommands();
  return selected.empty() ? "vrrl" : "vrrl " + selected.front()->get_name();
}

int usage_error(const CLI::App& vrrl, const std::string& what) {
  const std::string name = command_name(vrrl);
  std::string message = what;
  while (!message.empty() && (message.back() == '\n' || message.back() == '.')) message.pop_back();
  std::cerr << name << ": " << message << ". Fix: see `" << name << " --help`.\n";
  return vrrl::cli::exit_usage;
}

// A closed standard descriptor would be reused by the next open(): a log or
// import's temporary file would then receive what is printed to "stdout".
// Park a read-only /dev/null on each closed one, so writes to it fail (EBADF)
// and are reported, rather than landing in a file.
void occupy_closed_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int parked = ::open("/dev/null", O_RDONLY | O_NOCTTY);
    if (parked >= 0 && parked != fd) {
      ::dup2(parked, fd);
      ::close(parked);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  occupy_closed_standard_descriptors();
  std::ios::sync_with_stdio(false);
  using namespace vrrl::cli;

  CLI::App vrrl{"Inspect, check, follow, compare, export, convert and build VRRL ring logs and recordings (what vrrl::RingLog and vrrl::Recording write).",
                "vrrl"};
  vrrl.set_version_flag("--version", "vrrl " + std::string(vrrl::version) +
                                         " (reads VRRL format versions 1 and 2; import creates version " +
                                         std::to_string(vrrl::format::log_version) + " logs)");
  vrrl.require_subcommand(1);

  std::vector<Command> commands{add_info_command(vrrl),   add_dump_command(vrrl),
                                add_verify_command(vrrl), add_tail_command(vrrl),
                                add_import_command(vrrl), add_stats_command(vrrl),
                                add_export_command(vrrl), add_diff_command(vrrl),
                                add_convert_command(vrrl)};
#ifdef VRRL_HAVE_NATS
  commands.push_back(add_ship_command(vrrl));
  commands.push_back(add_pull_command(vrrl));
  constexpr const char* command_list = "info, dump, verify, tail, import, stats, export, diff, convert, ship and pull";
#else
  constexpr const char* command_list = "info, dump, verify, tail, import, stats, export, diff and convert";
#endif
  // After the subcommands exist: CLI11 copies a parent's footer into each
  // subcommand created after it, which printed this footer twice.
  vrrl.footer(exit_codes_footer);
  for (const Command& command : commands) {
    const std::string own = command.app->get_footer();
    command.app->footer(own.empty() ? exit_codes_footer : own + "\n\n" + exit_codes_footer);
  }

  try {
    vrrl.parse(argc, argv);
  } catch (const CLI::Success& help_or_version) {
    return vrrl.exit(help_or_version);
  } catch (const CLI::ParseError& e) {
    // CLI11 reads an unknown command as a stray positional and then asks for a subcommand.
    if (argc > 1 && argv[1][0] != '-' && vrrl.get_subcommands().empty()) {
#ifndef VRRL_HAVE_NATS
      if (std::string(argv[1]) == "ship" || std::string(argv[1]) == "pull") {
        std::cerr << "vrrl: `" << argv[1] << "` is not built into this vrrl (it was configured without libnats). "
                  << "Fix: install libnats-dev (scripts/install-deps) and reconfigure with -Dnats=enabled.\n";
        return exit_usage;
      }
#endif
      return usage_error(vrrl, std::string("unknown command `") + argv[1] +
                                   "`; the commands are " + command_list);
    }
    return usage_error(vrrl, e.what());
  }

  int status = exit_problems;
  try {
    for (const Command& command : commands) {
      if (command.app->parsed()) status = command.run();
    }
  } catch (const UsageError& e) {
    return usage_error(vrrl, e.what());
  } catch (const vrrl::Error& e) {
    // Already one line: "vrrl <operation> `path`: what is wrong. Fix: ...".
    std::cout.flush();
    std::cerr << e.what() << '\n';
    return exit_problems;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << command_name(vrrl) << ": " << e.what() << ". Fix: report this as a bug in vrrl.\n";
    return exit_problems;
  }
  if (!std::cout.flush()) {
    std::cerr << command_name(vrrl) << ": writing to standard output failed. Fix: check the disk or pipe "
              << "that standard output goes to.\n";
    return exit_problems;
  }
  return status;
}
