#include "connection_options.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "../command.hpp"
#include "failure.hpp"

namespace vrrl::cli {
namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The first line of a secret file, without its line end.
std::string read_secret(const std::filesystem::path& path, const std::string& command, const char* what) {
  std::ifstream in(path);
  if (!in) {
    throw ship::Failure("cannot read the " + std::string(what) + " file `" + path.string() + "`",
                        "pass a file this user can read, holding the " + std::string(what) + " on its first line");
  }
  std::string secret;
  std::getline(in, secret);
  while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ' || secret.back() == '\t')) {
    secret.pop_back();
  }
  if (secret.empty()) {
    throw ship::Failure("the " + std::string(what) + " file `" + path.string() + "` is empty",
                        "write the " + std::string(what) + " on its first line");
  }
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0 && (status.st_mode & 077) != 0) {
    std::fprintf(stderr, "%s: note: the %s file `%s` can be read by other users. Fix: chmod 600 it.\n",
                 command.c_str(), what, path.c_str());
  }
  return secret;
}

std::vector<std::string> server_urls(const std::string& servers) {
  std::vector<std::string> urls;
  std::stringstream list(servers);
  std::string url;
  while (std::getline(list, url, ',')) {
    if (url.empty()) continue;
    if (url.find("://") == std::string::npos) url = "nats://" + url;
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
      throw UsageError("--server " + ship::url_for_display(url) +
                       ": only nats:// and tls:// servers are supported (this vrrl has the NATS JetStream transport)");
    }
    urls.push_back(url);
  }
  if (urls.empty()) throw UsageError("--server needs at least one URL, e.g. nats://127.0.0.1:4222");
  return urls;
}

}  // namespace

void add_connection_options(CLI::App& command, ConnectionOptions& options) {
  command.add_option("--server", options.servers, "NATS server URL(s): nats://HOST:PORT or tls://HOST:PORT, comma separated for a cluster")
      ->required();
  command.add_option("--token-file", options.token_file, "file holding the NATS token (default: $VRRL_NATS_TOKEN)");
  command.add_option("--user", options.user, "NATS user name (default: $VRRL_NATS_USER)");
  command.add_option("--password-file", options.password_file,
                     "file holding the user's password (default: $VRRL_NATS_PASSWORD)");
  command.add_option("--creds-file", options.creds_file, "NATS credentials file (user JWT and NKey seed)");
  command.add_option("--tls-ca", options.tls_ca, "CA certificate(s), PEM, that signed the server's certificate; implies TLS");
  command.add_option("--tls-cert", options.tls_cert, "client certificate (PEM), for servers that verify clients");
  command.add_option("--tls-key", options.tls_key, "the client certificate's private key (PEM)");
  command.add_option("--connect-attempts", options.connect_attempts, "attempts to reach a server at start (back-off doubles from 0.2 s)")
      ->default_str("6")
      ->check(CLI::Range(1, 100));
  command.add_option("--max-outage", options.max_outage_seconds,
                     "give up after this many seconds without progress while the server is unreachable")
      ->default_str("60")
      ->check(digits_only())
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{86400}));
}

std::string connection_footer() {
  return "Secrets are never taken from the command line: VRRL_NATS_TOKEN, VRRL_NATS_USER and VRRL_NATS_PASSWORD\n"
         "stand in for --token-file, --user and --password-file. They are never printed. Manual: docs/shipping.md.";
}

ship::NatsSettings nats_settings(const ConnectionOptions& options, const std::string& command) {
  ship::NatsSettings settings;
  settings.servers = server_urls(options.servers);
  if (options.token_file) {
    settings.token = read_secret(*options.token_file, command, "token");
  } else {
    settings.token = environment("VRRL_NATS_TOKEN");
  }
  settings.user = options.user ? options.user : environment("VRRL_NATS_USER");
  if (options.password_file) {
    settings.password = read_secret(*options.password_file, command, "password");
  } else {
    settings.password = environment("VRRL_NATS_PASSWORD");
  }
  if (settings.password && !settings.user) {
    throw UsageError("a password was given (--password-file or VRRL_NATS_PASSWORD) without --user");
  }
  if (settings.token && settings.user) {
    throw UsageError("both a token and a user were given; a NATS server takes one or the other");
  }
  if (options.tls_key && !options.tls_cert) throw UsageError("--tls-key needs --tls-cert");
  settings.creds_file = options.creds_file;
  settings.tls_ca = options.tls_ca;
  settings.tls_cert = options.tls_cert;
  settings.tls_key = options.tls_key;
  settings.connect_attempts = options.connect_attempts;
  settings.max_outage = std::chrono::seconds(options.max_outage_seconds);
  return settings;
}

}  // namespace vrrl::cli
