#pragma once
// Runs a coroutine of the Taskcluster client to completion on a private io_context.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace sw::test {

template <class T>
T run_coro(boost::asio::io_context& ioc, boost::asio::awaitable<T> a) {
    std::optional<T> out;
    std::exception_ptr error;
    boost::asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) out = std::move(v);
    });
    ioc.restart();
    ioc.run();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
}

inline void run_coro(boost::asio::io_context& ioc, boost::asio::awaitable<void> a) {
    std::exception_ptr error;
    boost::asio::co_spawn(ioc, std::move(a), [&](std::exception_ptr e) { error = e; });
    ioc.restart();
    ioc.run();
    if (error) std::rethrow_exception(error);
}

/// Sets (or, with nullptr, unsets) an environment variable for the guard's lifetime.
class env_var {
  public:
    env_var(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) saved_ = old;
        value ? (void)::setenv(name, value, 1) : (void)::unsetenv(name);
    }
    ~env_var() {
        saved_ ? (void)::setenv(name_.c_str(), saved_->c_str(), 1)
               : (void)::unsetenv(name_.c_str());
    }
    env_var(const env_var&) = delete;
    env_var& operator=(const env_var&) = delete;

  private:
    std::string name_;
    std::optional<std::string> saved_;
};

/// Runs `f`, which must throw E; returns the exception.
template <class E, class F>
E expect_error(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e;
    }
    FAIL("the expected exception was not thrown");
    throw std::logic_error("unreachable");
}

}  // namespace sw::test
