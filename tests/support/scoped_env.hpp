#pragma once
// Sets or unsets an environment variable for the length of a scope (tests only; not
// thread-safe, like setenv itself).
#include <cstdlib>
#include <optional>
#include <string>

namespace sw::test {

/// Sets (or unsets, with nullopt) an environment variable for the scope of a test.
class scoped_env {
  public:
    scoped_env(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value->c_str(), 1);
        else
            ::unsetenv(name);
    }
    ~scoped_env() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace sw::test
