#pragma once
// The one exception type that crosses module boundaries. Anything that must end the run throws
// sw::failure with the exit code of CONTRACT.md and a message that names the key, file or URL.
// It is caught once, at the top of the daemon, and turned into a log line and an exit code.
#include "lib/common/exit_codes.hpp"

#include <stdexcept>
#include <string>

namespace sw {

class failure : public std::runtime_error {
  public:
    failure(exit_code code, std::string message)
        : std::runtime_error(std::move(message)), code_(code) {}
    exit_code code() const noexcept { return code_; }

  private:
    exit_code code_;
};

/// A runner-config problem: exit 78, message "<key path>: <problem>".
inline failure config_error(std::string_view key_path, std::string_view problem) {
    return failure(exit_code::config, std::string(key_path) + ": " + std::string(problem));
}

}  // namespace sw
