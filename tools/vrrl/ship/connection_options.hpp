// The options `vrrl ship` and `vrrl pull` share: where the NATS servers are
// and how to authenticate. Secrets are read from files or the environment,
// never from the command line (where `ps` would show them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "nats_transport.hpp"

namespace vrrl::cli {

struct ConnectionOptions {
  std::string servers;  // comma separated
  std::optional<std::filesystem::path> token_file;
  std::optional<std::string> user;
  std::optional<std::filesystem::path> password_file;
  std::optional<std::filesystem::path> creds_file;
  std::optional<std::filesystem::path> tls_ca;
  std::optional<std::filesystem::path> tls_cert;
  std::optional<std::filesystem::path> tls_key;
  int connect_attempts = 6;
  std::uint64_t max_outage_seconds = 60;
};

void add_connection_options(CLI::App& command, ConnectionOptions& options);

// Checks the options, reads the secrets (a token or password file readable by
// others gets a note on stderr). Throws UsageError or ship::Failure.
[[nodiscard]] ship::NatsSettings nats_settings(const ConnectionOptions& options, const std::string& command);

// The footer text both commands show: the environment variables and a pointer to the manual.
[[nodiscard]] std::string connection_footer();

}  // namespace vrrl::cli
