// The NATS JetStream transport (libnats, the C client, 3.4): a Publisher that
// sends asynchronously with a bounded number of unacknowledged messages, and
// a StreamReader over an ordered consumer. See transport.hpp for the contract
// and docs/shipping.md for what it guarantees.
//
// Why asynchronous publishes (js_PublishMsgAsync) rather than synchronous
// ones in a pipeline: the client library already tracks each pending ack,
// times it out (jsPubOptions.MaxWait) and calls back on its own thread, so one
// shipper thread keeps `max_pending` messages in flight without a thread per
// request. The shipper bounds the window itself (it keeps every unacknowledged
// payload for resending); the library's MaxPending is set above it as a
// backstop and never stalls.
//
// Secrets (token, password) come from files or the environment, are handed to
// libnats and are never printed: every text that libnats or the server
// produced goes through Secrets::redact() before it reaches a message, and
// server URLs are shown without their user-info part.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport.hpp"

namespace vrrl::ship {

// Replaces every occurrence of a known secret with "***".
class Secrets {
 public:
  void add(const std::string& secret);
  [[nodiscard]] std::string redact(std::string text) const;

 private:
  std::vector<std::string> secrets_;
};

// "nats://user:pass@host:4222" -> "nats://***@host:4222"; other URLs unchanged.
[[nodiscard]] std::string url_for_display(const std::string& url);

struct NatsSettings {
  std::vector<std::string> servers;  // nats://HOST:PORT or tls://HOST:PORT; several for a cluster
  std::optional<std::string> token;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<std::filesystem::path> creds_file;  // NATS JWT + NKey seed (.creds), for NATS accounts
  std::optional<std::filesystem::path> tls_ca;      // trusted CA certificates (PEM); implies TLS
  std::optional<std::filesystem::path> tls_cert;    // client certificate chain, for servers that verify clients
  std::optional<std::filesystem::path> tls_key;
  std::string client_name = "vrrl";
  int connect_attempts = 6;                          // at start: attempts before giving up
  std::chrono::milliseconds first_retry_delay{200};  // doubles after each failed attempt, up to 3.2 s
  std::chrono::seconds max_outage{60};               // mid-run: give up after this long without progress
  std::chrono::milliseconds ack_timeout{5000};       // a publish unacknowledged this long is sent again
  int max_pending = 64;                              // messages in flight (the shipper's window)
  std::size_t largest_message = 0;                   // bytes; sizes the client's reconnect buffer

  // Every secret above, for redacting.
  [[nodiscard]] Secrets secrets() const;
};

// Initialises libnats; its destructor releases the library's threads and
// memory (nats_Close), after every connection is gone.
class NatsLibrary {
 public:
  NatsLibrary();
  ~NatsLibrary();
  NatsLibrary(const NatsLibrary&) = delete;
  NatsLibrary& operator=(const NatsLibrary&) = delete;
};

// Connects (bounded retries with back-off), then finds the stream, or creates
// it, and checks its settings against `requirements`. Throws ship::Failure with
// the setting that does not fit, the server's words, or why it could not connect.
[[nodiscard]] std::unique_ptr<Publisher> open_nats_publisher(const NatsSettings& settings,
                                                             const StreamRequirements& requirements);

// Connects and opens an ordered consumer over `request.stream`. Throws
// ship::Failure when the stream does not exist or the server cannot be reached.
[[nodiscard]] std::unique_ptr<StreamReader> open_nats_reader(const NatsSettings& settings, const ReadRequest& request);

}  // namespace vrrl::ship
