#pragma once
// Runs a coroutine of the Taskcluster client to completion on a private io_context.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <exception>
#include <optional>
#include <stdexcept>

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
