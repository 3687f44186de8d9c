#include "nats_transport.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "failure.hpp"
#include "stream_check.hpp"

namespace vrrl::ship {
namespace {

using Clock = std::chrono::steady_clock;

template <class T, void (*destroy)(T*)>
struct Deleter {
  void operator()(T* object) const noexcept { destroy(object); }
};
using OptionsHandle = std::unique_ptr<natsOptions, Deleter<natsOptions, natsOptions_Destroy>>;
using ConnectionHandle = std::unique_ptr<natsConnection, Deleter<natsConnection, natsConnection_Destroy>>;
using JetStreamHandle = std::unique_ptr<jsCtx, Deleter<jsCtx, jsCtx_Destroy>>;
using MessageHandle = std::unique_ptr<natsMsg, Deleter<natsMsg, natsMsg_Destroy>>;
using StreamInfoHandle = std::unique_ptr<jsStreamInfo, Deleter<jsStreamInfo, jsStreamInfo_Destroy>>;
using ConsumerInfoHandle = std::unique_ptr<jsConsumerInfo, Deleter<jsConsumerInfo, jsConsumerInfo_Destroy>>;
using SubscriptionHandle = std::unique_ptr<natsSubscription, Deleter<natsSubscription, natsSubscription_Destroy>>;
using MetadataHandle = std::unique_ptr<jsMsgMetaData, Deleter<jsMsgMetaData, jsMsgMetaData_Destroy>>;

// Objects libnats calls back into stay alive until the library has stopped
// its threads (NatsLibrary's destructor), so a late callback never touches freed memory.
std::mutex keep_alive_mutex;
std::vector<std::shared_ptr<void>> keep_alive;

void keep_until_library_closes(std::shared_ptr<void> object) {
  const std::lock_guard lock(keep_alive_mutex);
  keep_alive.push_back(std::move(object));
}

// The library's last error for this thread, without secrets.
std::string library_error(natsStatus status, const Secrets& secrets) {
  natsStatus ignored = NATS_OK;
  const char* text = nats_GetLastError(&ignored);
  std::string message = (text != nullptr && *text != '\0') ? text : natsStatus_GetText(status);
  // libnats prefixes where in its sources the error arose, "(conn.c:2088): ": not for users.
  const std::size_t close = message.find("): ");
  if (message.rfind('(', 0) == 0 && close != std::string::npos && close < 40 &&
      message.find(".c:") < close) {
    message.erase(0, close + 3);
  }
  return secrets.redact(message);
}

std::string servers_for_display(const NatsSettings& settings) {
  std::string text;
  for (const std::string& url : settings.servers) text += (text.empty() ? "" : ",") + url_for_display(url);
  return text;
}

std::string seconds_text(Clock::duration elapsed) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", std::chrono::duration<double>(elapsed).count());
  return buffer;
}

std::string raw_urls(const NatsSettings& settings) {
  std::string text;
  for (const std::string& url : settings.servers) text += (text.empty() ? "" : ",") + url;
  return text;
}

bool wants_tls(const NatsSettings& settings) {
  if (settings.tls_ca || settings.tls_cert) return true;
  return std::any_of(settings.servers.begin(), settings.servers.end(),
                     [](const std::string& url) { return url.rfind("tls://", 0) == 0; });
}

// What the connection's callbacks print; lives as long as the library (keep_alive).
struct ConnectionEvents {
  std::string command;  // "vrrl ship", "vrrl pull"
  Secrets secrets;
  std::atomic<bool> closing{false};  // our own close: not worth a message
};

void on_disconnected(natsConnection*, void* closure) {
  const auto* events = static_cast<const ConnectionEvents*>(closure);
  // Relaxed: a message more or less at shutdown is all that depends on it.
  if (events->closing.load(std::memory_order_relaxed)) return;
  std::fprintf(stderr, "%s: lost the connection to the NATS server; reconnecting\n", events->command.c_str());
}

void on_reconnected(natsConnection* connection, void* closure) {
  const auto* events = static_cast<const ConnectionEvents*>(closure);
  char url[256] = "";
  natsConnection_GetConnectedUrl(connection, url, sizeof url);
  std::fprintf(stderr, "%s: reconnected to %s\n", events->command.c_str(),
               events->secrets.redact(url_for_display(url)).c_str());
}

void on_async_error(natsConnection*, natsSubscription*, natsStatus status, void* closure) {
  const auto* events = static_cast<const ConnectionEvents*>(closure);
  std::fprintf(stderr, "%s: NATS client: %s\n", events->command.c_str(), natsStatus_GetText(status));
}

void check(natsStatus status, const char* what, const Secrets& secrets) {
  if (status == NATS_OK) return;
  throw Failure(std::string("setting up the NATS client failed (") + what + ": " + library_error(status, secrets) + ")",
                "check the option named there");
}

// A connected client and its JetStream context.
class Connection {
 public:
  Connection(const NatsSettings& settings, std::string command, jsOptions* js_options)
      : events_(std::make_shared<ConnectionEvents>()) {
    events_->command = std::move(command);
    events_->secrets = settings.secrets();
    keep_until_library_closes(events_);
    const Secrets& secrets = events_->secrets;
    natsOptions* raw_options = nullptr;
    check(natsOptions_Create(&raw_options), "options", secrets);
    options_.reset(raw_options);
    natsOptions* options = options_.get();

    std::vector<const char*> urls;
    for (const std::string& url : settings.servers) urls.push_back(url.c_str());
    if (natsOptions_SetServers(options, urls.data(), static_cast<int>(urls.size())) != NATS_OK) {
      throw Failure("--server " + servers_for_display(settings) + " is not a NATS server URL list",
                    "write nats://HOST:PORT (or tls://HOST:PORT), several separated by commas");
    }
    check(natsOptions_SetName(options, settings.client_name.c_str()), "client name", secrets);
    if (settings.token) check(natsOptions_SetToken(options, settings.token->c_str()), "token", secrets);
    if (settings.user) {
      check(natsOptions_SetUserInfo(options, settings.user->c_str(),
                                    settings.password ? settings.password->c_str() : ""),
            "user", secrets);
    }
    if (settings.creds_file) {
      if (natsOptions_SetUserCredentialsFromFiles(options, settings.creds_file->c_str(), nullptr) != NATS_OK) {
        throw Failure("cannot use the credentials file `" + settings.creds_file->string() + "`",
                      "pass a NATS .creds file (a user JWT and its NKey seed) that this user can read");
      }
    }
    if (wants_tls(settings)) {
      check(natsOptions_SetSecure(options, true), "tls", secrets);
      if (settings.tls_ca && natsOptions_LoadCATrustedCertificates(options, settings.tls_ca->c_str()) != NATS_OK) {
        throw Failure("cannot load CA certificates from `" + settings.tls_ca->string() + "` (" +
                          library_error(NATS_SSL_ERROR, secrets) + ")",
                      "pass --tls-ca a readable PEM file with the CA that signed the server's certificate");
      }
      if (settings.tls_cert) {
        const std::string key = settings.tls_key ? settings.tls_key->string() : settings.tls_cert->string();
        if (natsOptions_LoadCertificatesChain(options, settings.tls_cert->c_str(), key.c_str()) != NATS_OK) {
          throw Failure("cannot load the client certificate `" + settings.tls_cert->string() + "` and key `" + key +
                            "` (" + library_error(NATS_SSL_ERROR, secrets) + ")",
                        "pass --tls-cert and --tls-key readable PEM files that belong together");
        }
      }
    }
    check(natsOptions_SetTimeout(options, 2000), "timeout", secrets);
    // Mid-run the client reconnects for as long as it takes; the shipper and
    // the puller decide when an outage has lasted too long (max_outage).
    check(natsOptions_SetMaxReconnect(options, -1), "reconnect", secrets);
    check(natsOptions_SetReconnectWait(options, 250), "reconnect wait", secrets);
    check(natsOptions_SetPingInterval(options, 5000), "ping interval", secrets);
    check(natsOptions_SetMaxPingsOut(options, 2), "pings out", secrets);
    // Publishes made while reconnecting wait in this buffer: room for the whole window twice.
    const std::size_t window_bytes = 2 * static_cast<std::size_t>(settings.max_pending) * settings.largest_message;
    const int buffer = static_cast<int>(std::clamp<std::size_t>(window_bytes, 8u << 20, 1u << 30));
    check(natsOptions_SetReconnectBufSize(options, buffer), "reconnect buffer", secrets);
    // API requests (stream info, get message) fail at once while disconnected
    // instead of waiting out their timeout; callers retry.
    check(natsOptions_SetFailRequestsOnDisconnect(options, true), "fail requests", secrets);
    check(natsOptions_SetDisconnectedCB(options, on_disconnected, events_.get()), "callbacks", secrets);
    check(natsOptions_SetReconnectedCB(options, on_reconnected, events_.get()), "callbacks", secrets);
    check(natsOptions_SetErrorHandler(options, on_async_error, events_.get()), "callbacks", secrets);

    connect(settings);

    jsCtx* js = nullptr;
    check(natsConnection_JetStream(&js, connection_.get(), js_options), "jetstream", secrets);
    js_.reset(js);
  }

  ~Connection() {
    events_->closing.store(true, std::memory_order_relaxed);
    js_.reset();
    connection_.reset();
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] natsConnection* get() const noexcept { return connection_.get(); }
  [[nodiscard]] jsCtx* js() const noexcept { return js_.get(); }
  [[nodiscard]] const Secrets& secrets() const noexcept { return events_->secrets; }
  [[nodiscard]] const std::string& command() const noexcept { return events_->command; }

 private:
  // Bounded retries with doubling back-off for the failures that may pass
  // (nothing listening yet, a timeout); at once for those that will not
  // (credentials, TLS, a malformed URL).
  void connect(const NatsSettings& settings) {
    const Secrets& secrets = events_->secrets;
    const std::string servers = servers_for_display(settings);
    const auto started = Clock::now();
    auto delay = settings.first_retry_delay;
    std::string last_error;
    for (int attempt = 1; attempt <= settings.connect_attempts; ++attempt) {
      natsConnection* connection = nullptr;
      const natsStatus status = natsConnection_Connect(&connection, options_.get());
      if (status == NATS_OK) {
        connection_.reset(connection);
        return;
      }
      last_error = library_error(status, secrets);
      switch (status) {
        case NATS_CONNECTION_AUTH_FAILED:
          // (the display form differs from the raw URLs exactly when one carries user-info)
          if (!settings.token && !settings.user && !settings.creds_file &&
              servers_for_display(settings) == raw_urls(settings)) {
            throw Failure("the NATS server at " + servers + " requires authentication (" + last_error +
                              ") and none was given",
                          "pass --token-file (or set VRRL_NATS_TOKEN), or --user with --password-file (or "
                          "VRRL_NATS_USER and VRRL_NATS_PASSWORD), or --creds-file");
          }
          throw Failure("the NATS server at " + servers + " refused the credentials (" + last_error + ")",
                        "check --token-file / VRRL_NATS_TOKEN, or --user with --password-file / VRRL_NATS_PASSWORD, "
                        "or --creds-file, against the server's authorization settings");
        case NATS_SSL_ERROR:
          throw Failure("the TLS handshake with " + servers + " failed (" + last_error + ")",
                        "pass --tls-ca the CA that signed the server's certificate, and connect with the host name "
                        "or IP address the certificate names");
        case NATS_SECURE_CONNECTION_REQUIRED:
          throw Failure("the NATS server at " + servers + " requires TLS",
                        "connect with tls://HOST:PORT and pass --tls-ca");
        case NATS_SECURE_CONNECTION_WANTED:
          throw Failure("TLS was asked for (tls:// or --tls-ca) but the NATS server at " + servers +
                            " does not offer it",
                        "connect with nats://HOST:PORT, or enable tls in the server's configuration");
        case NATS_ADDRESS_MISSING:
        case NATS_INVALID_ARG:
          throw Failure("--server " + servers + " is not a usable NATS URL (" + last_error + ")",
                        "write nats://HOST:PORT (or tls://HOST:PORT), several separated by commas");
        default:
          break;
      }
      if (attempt == settings.connect_attempts) break;
      std::fprintf(stderr, "%s: no NATS server answered at %s (%s); attempt %d of %d, retrying in %lld ms\n",
                   events_->command.c_str(), servers.c_str(), last_error.c_str(), attempt, settings.connect_attempts,
                   static_cast<long long>(delay.count()));
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, std::chrono::milliseconds(3200));
    }
    throw Failure("no NATS server answered at " + servers + " after " + std::to_string(settings.connect_attempts) +
                      (settings.connect_attempts == 1 ? " attempt" : " attempts") + " over " +
                      seconds_text(Clock::now() - started) + " (" + last_error + ")",
                  "start nats-server there (with JetStream: -js), or correct --server (nats://HOST:PORT; for a "
                  "cluster, several separated by commas)");
  }

  std::shared_ptr<ConnectionEvents> events_;
  OptionsHandle options_;
  ConnectionHandle connection_;
  JetStreamHandle js_;  // declared after connection_: destroyed first
};

// Failures of JetStream API requests that pass on their own: the meta leader
// or stream leader is being elected, or the client is reconnecting.
bool is_transient(natsStatus status, jsErrCode code) {
  switch (status) {
    case NATS_TIMEOUT:
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_IO_ERROR:
    case NATS_NOT_YET_CONNECTED:
      return true;
    default:
      break;
  }
  return code == JSClusterNotAvailErr || code == JSStreamOfflineErr || code == JSClusterNoPeersErr ||
         code == JSInsufficientResourcesErr;
}

std::string retention_name(jsRetentionPolicy retention) {
  switch (retention) {
    case js_LimitsPolicy:
      return "limits";
    case js_InterestPolicy:
      return "interest";
    case js_WorkQueuePolicy:
      return "workqueue";
  }
  return "unknown";
}

ExistingStream existing_stream(const jsStreamInfo& info) {
  const jsStreamConfig& config = *info.Config;
  ExistingStream stream;
  stream.name = config.Name != nullptr ? config.Name : "";
  for (int i = 0; i < config.SubjectsLen; ++i) stream.subjects.emplace_back(config.Subjects[i]);
  if (config.SubjectsLen == 0 && config.Mirror == nullptr && config.SourcesLen == 0) {
    stream.subjects.push_back(stream.name);  // JetStream's default: the stream's name is its subject
  }
  stream.retention = retention_name(config.Retention);
  stream.no_ack = config.NoAck;
  stream.sealed = config.Sealed;
  stream.is_mirror = config.Mirror != nullptr;
  stream.max_message_bytes = config.MaxMsgSize;
  stream.duplicate_window = std::chrono::nanoseconds(config.Duplicates);
  stream.replicas = static_cast<int>(std::max<std::int64_t>(config.Replicas, 1));
  stream.max_bytes = config.MaxBytes;
  return stream;
}

// Finds the stream or creates it, then checks it; retries transient failures
// until `settings.max_outage` has passed.
void ensure_stream(const Connection& connection, const NatsSettings& settings, const StreamRequirements& requirements) {
  const Secrets& secrets = connection.secrets();
  const auto deadline = Clock::now() + settings.max_outage;
  auto delay = std::chrono::milliseconds(100);
  std::string last_error;
  while (true) {
    jsStreamInfo* raw_info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_GetStreamInfo(&raw_info, connection.js(), requirements.name.c_str(), nullptr, &code);
    StreamInfoHandle info(raw_info);
    if (status == NATS_OK) {
      if (const auto problem = check_stream(existing_stream(*info), requirements)) throw *problem;
      return;
    }
    if (status == NATS_NOT_FOUND) {
      std::vector<const char*> subjects;
      for (const std::string& subject : requirements.subjects_if_created) subjects.push_back(subject.c_str());
      jsStreamConfig config;
      jsStreamConfig_Init(&config);
      config.Name = requirements.name.c_str();
      config.Subjects = subjects.data();
      config.SubjectsLen = static_cast<int>(subjects.size());
      config.Retention = js_LimitsPolicy;
      config.Storage = js_FileStorage;
      config.Discard = js_DiscardOld;
      config.Replicas = requirements.replicas.value_or(1);
      config.MaxBytes = requirements.max_bytes.value_or(-1);
      config.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(requirements.duplicate_window).count();
      raw_info = nullptr;
      code = static_cast<jsErrCode>(0);
      status = js_AddStream(&raw_info, connection.js(), &config, nullptr, &code);
      info.reset(raw_info);
      if (status == NATS_OK) {
        std::string bound;
        for (const std::string& subject : requirements.subjects_if_created) bound += (bound.empty() ? "" : ",") + subject;
        std::fprintf(stderr, "%s: created stream %s (subjects %s, %lld replicas, limits retention, discard old)\n",
                     connection.command().c_str(), requirements.name.c_str(), bound.c_str(),
                     static_cast<long long>(config.Replicas));
        return;
      }
      if (code == JSStreamNameExistErr) continue;  // another shipper created it meanwhile: check that one
      if (code == JSStreamReplicasNotSupportedErr) {
        throw Failure("the NATS server is not part of a cluster, so stream " + requirements.name + " cannot have " +
                          std::to_string(config.Replicas) + " replicas",
                      "pass --replicas 1, or ship to a JetStream cluster");
      }
      if (code == JSStreamSubjectOverlapErr) {
        throw Failure("cannot create stream " + requirements.name + ": its subjects overlap those of another stream (" +
                          library_error(status, secrets) + ")",
                      "ship into that stream with --stream, or pass a --subject no other stream captures");
      }
      if (!is_transient(status, code)) {
        throw Failure("cannot create stream " + requirements.name + " (" + library_error(status, secrets) + ")",
                      "check the server's JetStream limits and the --replicas/--max-bytes asked for");
      }
    } else if (code == JSNotEnabledForAccountErr || code == JSNotEnabledErr) {
      throw Failure("JetStream is not enabled for this account on the NATS server",
                    "enable JetStream on the server (nats-server -js, or a jetstream block in its configuration)");
    } else if (!is_transient(status, code)) {
      throw Failure("cannot look up stream " + requirements.name + " (" + library_error(status, secrets) + ")",
                    "check that the user may use the JetStream API ($JS.API.>)");
    }
    last_error = library_error(status, secrets);
    if (Clock::now() + delay > deadline) break;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
  throw Failure("JetStream did not answer for stream " + requirements.name + " within " +
                    std::to_string(settings.max_outage.count()) + " s (" + last_error + ")",
                "check that the server runs with JetStream enabled (-js) and, for a cluster, that a majority of its "
                "nodes is up (stream placement needs as many nodes as --replicas)");
}

// Where the ack handler puts what the server said, for next_ack() to take.
class AckInbox {
 public:
  void expect(const std::string& id, std::uint64_t ticket) {
    const std::lock_guard lock(mutex_);
    tickets_[id] = ticket;
  }
  void forget(const std::string& id) {
    const std::lock_guard lock(mutex_);
    tickets_.erase(id);
  }
  void deliver(const char* id, Ack ack) {
    {
      const std::lock_guard lock(mutex_);
      const auto found = id != nullptr ? tickets_.find(id) : tickets_.end();
      if (found == tickets_.end()) return;  // not ours (cannot happen: every publish has an id)
      ack.ticket = found->second;
      tickets_.erase(found);
      acks_.push_back(std::move(ack));
    }
    arrived_.notify_one();
  }
  std::optional<Ack> take(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    if (!arrived_.wait_for(lock, wait, [&] { return !acks_.empty(); })) return std::nullopt;
    Ack ack = std::move(acks_.front());
    acks_.pop_front();
    return ack;
  }

  Secrets secrets;

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::unordered_map<std::string, std::uint64_t> tickets_;
  std::deque<Ack> acks_;
};

Ack classify(const jsPubAck* stored, const jsPubAckErr* error, const Secrets& secrets) {
  Ack ack;
  if (stored != nullptr) {
    ack.kind = stored->Duplicate ? AckKind::duplicate : AckKind::stored;
    ack.stream_sequence = stored->Sequence;
    return ack;
  }
  const std::string text = secrets.redact(error->ErrText != nullptr ? error->ErrText : natsStatus_GetText(error->Err));
  ack.error = text;
  if (error->Err == NATS_TIMEOUT) {
    ack.kind = AckKind::retry;
    ack.error = "no acknowledgement in time";
  } else if (error->Err == NATS_NO_RESPONDERS) {
    ack.kind = AckKind::retry;
    ack.error = "no JetStream server answered (the stream has no leader right now)";
  } else if (error->Err != NATS_ERR || is_transient(error->Err, error->ErrCode)) {
    ack.kind = AckKind::retry;
  } else {
    ack.kind = AckKind::failed;
    ack.error = "JetStream error " + std::to_string(static_cast<int>(error->ErrCode)) + ": " + text;
  }
  return ack;
}

void on_publish_ack(jsCtx*, natsMsg* message, jsPubAck* stored, jsPubAckErr* error, void* closure) {
  auto* inbox = static_cast<AckInbox*>(closure);
  const char* id = nullptr;
  natsMsgHeader_Get(message, "Nats-Msg-Id", &id);  // set from jsPubOptions.MsgId
  inbox->deliver(id, classify(stored, error, inbox->secrets));
  natsMsg_Destroy(message);  // with an AckHandler, the message is ours to free
}

class NatsPublisher final : public Publisher {
 public:
  NatsPublisher(const NatsSettings& settings, const StreamRequirements& requirements)
      : inbox_(std::make_shared<AckInbox>()),
        subject_(requirements.publish_subject),
        stream_(requirements.name),
        ack_timeout_(settings.ack_timeout),
        description_(servers_for_display(settings) + " stream " + requirements.name) {
    keep_until_library_closes(inbox_);
    inbox_->secrets = settings.secrets();
    jsOptions options;
    jsOptions_Init(&options);
    options.Wait = 5000;
    // The shipper keeps at most max_pending in flight; the library's own
    // bound sits above it so js_PublishMsgAsync never stalls.
    options.PublishAsync.MaxPending = 2 * settings.max_pending + 16;
    options.PublishAsync.AckHandler = on_publish_ack;
    options.PublishAsync.AckHandlerClosure = inbox_.get();
    options.PublishAsync.StallWait = settings.ack_timeout.count();
    connection_ = std::make_unique<Connection>(settings, "vrrl ship", &options);
    ensure_stream(*connection_, settings, requirements);
  }

  bool publish(std::uint64_t ticket, const std::string& id, std::span<const std::byte> payload,
               std::string& error) override {
    natsMsg* raw = nullptr;
    natsStatus status = natsMsg_Create(&raw, subject_.c_str(), nullptr, reinterpret_cast<const char*>(payload.data()),
                                       static_cast<int>(payload.size()));
    if (status != NATS_OK) {
      error = library_error(status, inbox_->secrets);
      return false;
    }
    MessageHandle message(raw);
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = id.c_str();
    options.MaxWait = ack_timeout_.count();
    options.ExpectStream = stream_.c_str();  // refused if the subject lands in another stream
    inbox_->expect(id, ticket);              // before sending: the ack may arrive before the call returns
    raw = message.release();
    status = js_PublishMsgAsync(connection_->js(), &raw, &options);
    message.reset(raw);  // null when the library took the message
    if (status != NATS_OK) {
      inbox_->forget(id);
      error = library_error(status, inbox_->secrets);
      return false;
    }
    return true;
  }

  std::optional<Ack> next_ack(std::chrono::milliseconds wait) override { return inbox_->take(wait); }

  std::optional<std::vector<std::byte>> stored_payload(std::uint64_t stream_sequence) override {
    natsMsg* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus status = js_GetMsg(&raw, connection_->js(), stream_.c_str(), stream_sequence, nullptr, &code);
    MessageHandle message(raw);
    if (status == NATS_NOT_FOUND) return std::nullopt;
    if (status != NATS_OK) {
      if (is_transient(status, code)) throw Unavailable(library_error(status, inbox_->secrets));
      throw Failure("cannot read message " + std::to_string(stream_sequence) + " of stream " + stream_ + " (" +
                        library_error(status, inbox_->secrets) + ")",
                    "check that the user may read the stream ($JS.API.STREAM.MSG.GET." + stream_ + ")");
    }
    const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(message.get()));
    return std::vector<std::byte>(data, data + natsMsg_GetDataLength(message.get()));
  }

  std::string describe() const override { return description_; }

 private:
  std::shared_ptr<AckInbox> inbox_;
  const std::string subject_;
  const std::string stream_;
  const std::chrono::milliseconds ack_timeout_;
  const std::string description_;
  std::unique_ptr<Connection> connection_;
};

// Reads a stream through ordered consumers (no acks, in stream order, the
// library recreates the consumer after a reconnect or a missed message): one
// per subject filter, one after the other.
class NatsReader final : public StreamReader {
 public:
  NatsReader(const NatsSettings& settings, const ReadRequest& request)
      : request_(request), max_outage_(settings.max_outage) {
    connection_ = std::make_unique<Connection>(settings, "vrrl pull", nullptr);
    filters_ = filters_for(request);
  }

  std::optional<StoredMessage> next() override {
    auto last_progress = Clock::now();
    while (true) {
      if (!subscription_) {
        if (next_filter_ == filters_.size()) return std::nullopt;
        subscribe(filters_[next_filter_++]);
        if (!subscription_) continue;  // nothing to read on that filter
      }
      natsMsg* raw = nullptr;
      const natsStatus status = natsSubscription_NextMsg(&raw, subscription_.get(), 1000);
      MessageHandle message(raw);
      if (status == NATS_OK) {
        jsMsgMetaData* raw_meta = nullptr;
        if (natsMsg_GetMetaData(&raw_meta, message.get()) != NATS_OK) continue;  // not a stream message
        MetadataHandle meta(raw_meta);
        StoredMessage stored;
        const auto* data = reinterpret_cast<const std::byte*>(natsMsg_GetData(message.get()));
        stored.payload.assign(data, data + natsMsg_GetDataLength(message.get()));
        stored.stream_sequence = meta->Sequence.Stream;
        stored.stored_ns = meta->Timestamp;
        if (meta->NumPending == 0) subscription_.reset();  // caught up on this filter
        return stored;
      }
      if (status != NATS_TIMEOUT && status != NATS_MISSED_HEARTBEAT && status != NATS_MISMATCH &&
          status != NATS_SLOW_CONSUMER) {
        throw Failure("reading stream " + request_.stream + " failed (" +
                          library_error(status, connection_->secrets()) + ")",
                      "check the server, then pull again into an empty directory");
      }
      // Nothing arrived for a second: done if the consumer has nothing left.
      if (pending() == 0) {
        subscription_.reset();
        continue;
      }
      if (Clock::now() - last_progress > max_outage_) {
        throw Failure("no message of stream " + request_.stream + " arrived for " +
                          std::to_string(max_outage_.count()) + " s although the stream has more",
                      "check that the NATS server or a majority of the cluster is up, then pull again");
      }
    }
  }

 private:
  std::vector<std::string> filters_for(const ReadRequest& request) {
    const Secrets& secrets = connection_->secrets();
    jsStreamInfo* raw_info = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const auto deadline = Clock::now() + max_outage_;
    natsStatus status;
    while (true) {
      status = js_GetStreamInfo(&raw_info, connection_->js(), request.stream.c_str(), nullptr, &code);
      if (status == NATS_OK || !is_transient(status, code) || Clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    StreamInfoHandle info(raw_info);
    if (status == NATS_NOT_FOUND) {
      throw Failure("stream " + request.stream + " does not exist on the NATS server" + known_streams(),
                    "pass the --stream name `vrrl ship` used");
    }
    if (status != NATS_OK) {
      throw Failure("cannot look up stream " + request.stream + " (" + library_error(status, secrets) + ")",
                    "check that the server runs with JetStream enabled and the user may use $JS.API.>");
    }
    if (request.subject_filter) return {*request.subject_filter};
    const ExistingStream stream = existing_stream(*info);
    return stream.subjects;
  }

  std::string known_streams() {
    jsStreamNamesList* raw = nullptr;
    if (js_StreamNames(&raw, connection_->js(), nullptr, nullptr) != NATS_OK || raw == nullptr) return "";
    std::string names;
    for (int i = 0; i < raw->Count && i < 20; ++i) names += (names.empty() ? "" : ", ") + std::string(raw->List[i]);
    jsStreamNamesList_Destroy(raw);
    return names.empty() ? " (it has no streams)" : " (its streams: " + names + ")";
  }

  void subscribe(const std::string& filter) {
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = request_.stream.c_str();
    options.Ordered = true;
    if (request_.since_ns) {
      options.Config.DeliverPolicy = js_DeliverByStartTime;
      options.Config.OptStartTime = *request_.since_ns;
    }
    natsSubscription* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus status = js_SubscribeSync(&raw, connection_->js(), filter.c_str(), nullptr, &options, &code);
    if (status != NATS_OK) {
      throw Failure("cannot read stream " + request_.stream + " on subject " + filter + " (" +
                        library_error(status, connection_->secrets()) + ")",
                    "pass a --subject the stream captures, and check that the user may create consumers");
    }
    subscription_.reset(raw);
    if (pending() == 0 && delivered() == 0) subscription_.reset();  // nothing there
  }

  std::uint64_t pending() { return consumer_info().first; }
  std::uint64_t delivered() { return consumer_info().second; }

  // (messages not yet delivered, messages delivered) as the server counts them
  // for the current consumer; (1, 0) when it cannot say right now.
  std::pair<std::uint64_t, std::uint64_t> consumer_info() {
    jsConsumerInfo* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    if (natsSubscription_GetConsumerInfo(&raw, subscription_.get(), nullptr, &code) != NATS_OK) return {1, 0};
    ConsumerInfoHandle info(raw);
    return {info->NumPending, info->Delivered.Stream};
  }

  const ReadRequest request_;
  const std::chrono::seconds max_outage_;
  std::unique_ptr<Connection> connection_;
  std::vector<std::string> filters_;
  std::size_t next_filter_ = 0;
  SubscriptionHandle subscription_;  // declared after connection_: destroyed first
};

}  // namespace

void Secrets::add(const std::string& secret) {
  if (!secret.empty()) secrets_.push_back(secret);
}

std::string Secrets::redact(std::string text) const {
  for (const std::string& secret : secrets_) {
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
      text.replace(at, secret.size(), "***");
    }
  }
  return text;
}

std::string url_for_display(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t at = url.find('@', start);
  const std::size_t slash = url.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

Secrets NatsSettings::secrets() const {
  Secrets secrets;
  if (token) secrets.add(*token);
  if (password) secrets.add(*password);
  for (const std::string& url : servers) {
    // user-info embedded in a URL ("nats://user:pass@host") is a secret too
    const std::size_t scheme = url.find("://");
    const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
    const std::size_t at = url.find('@', start);
    if (at != std::string::npos) secrets.add(url.substr(start, at - start));
  }
  return secrets;
}

NatsLibrary::NatsLibrary() { nats_Open(-1); }

NatsLibrary::~NatsLibrary() {
  // Every connection is gone by now; wait for libnats's threads, then free
  // what their callbacks pointed at.
  nats_CloseAndWait(5000);
  const std::lock_guard lock(keep_alive_mutex);
  keep_alive.clear();
}

std::unique_ptr<Publisher> open_nats_publisher(const NatsSettings& settings, const StreamRequirements& requirements) {
  return std::make_unique<NatsPublisher>(settings, requirements);
}

std::unique_ptr<StreamReader> open_nats_reader(const NatsSettings& settings, const ReadRequest& request) {
  return std::make_unique<NatsReader>(settings, request);
}

}  // namespace vrrl::ship
