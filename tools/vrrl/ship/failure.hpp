// ship::Failure: why `vrrl ship` or `vrrl pull` cannot go on, as the two
// halves of the CLI's one-line error ("what is wrong. Fix: ...").
#pragma once

#include <stdexcept>
#include <string>

namespace vrrl::ship {

// The message never contains a secret (token, password): code that builds one
// from text a library or server produced passes it through Secrets::redact().
class Failure : public std::runtime_error {
 public:
  Failure(std::string what_is_wrong, std::string fix)
      : std::runtime_error(what_is_wrong), fix_(std::move(fix)) {}

  [[nodiscard]] const std::string& fix() const noexcept { return fix_; }
  // "what is wrong. Fix: fix", for the command to prefix with its name.
  [[nodiscard]] std::string line() const { return std::string(what()) + ". Fix: " + fix_ + "."; }

 private:
  std::string fix_;
};

}  // namespace vrrl::ship
