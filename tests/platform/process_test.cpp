#include "platform/process.hpp"

#include "lib/common/error.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <signal.h>
#include <thread>

namespace asio = boost::asio;
using sw::platform::child_process;
using sw::platform::spawn;
using sw::platform::spawn_options;

namespace {

/// Runs `a` to completion on `ctx` and returns its result (rethrowing its exception).
template <class T>
T run(asio::io_context& ctx, asio::awaitable<T> a) {
    auto fut = asio::co_spawn(ctx, std::move(a), asio::use_future);
    ctx.restart();
    ctx.run();
    return fut.get();
}

asio::awaitable<std::string> read_all(child_process& c) {
    std::string out;
    char buf[65536];
    for (;;) {
        const std::size_t n = co_await c.read_some(buf, sizeof buf);
        if (n == 0) break;
        out.append(buf, n);
    }
    co_return out;
}

// Coroutines take their arguments as parameters: a capturing lambda coroutine would outlive its
// closure.
asio::awaitable<std::string> write_then_read(child_process& c, std::string data) {
    CHECK(co_await c.write_all(std::move(data)));
    c.close_stdin();
    co_return co_await read_all(c);
}

/// Options for a child with its stdin/stdout on pipes.
spawn_options piped(std::vector<std::string> argv,
                    std::vector<std::pair<std::string, std::string>> env = {}) {
    spawn_options o;
    o.argv = std::move(argv);
    o.extra_env = std::move(env);
    o.pipes = true;
    return o;
}

std::unique_ptr<child_process> sh(asio::io_context& ctx, const std::string& script,
                                  std::vector<std::pair<std::string, std::string>> env = {}) {
    return spawn(ctx.get_executor(), piped({"sh", "-c", script}, std::move(env)));
}

std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

/// True once `pid` is gone or a zombie (killed, waiting for init to reap it).
bool dead(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace

TEST_CASE("a child echoes through its pipes", "[process]") {
    asio::io_context ctx;
    auto c = sh(ctx, "cat");
    const auto out = run(ctx, write_then_read(*c, "~{\"type\":\"welcome\"}\n"));
    CHECK(out == "~{\"type\":\"welcome\"}\n");
    CHECK(run(ctx, c->wait()) == 0);
    CHECK(c->exited());
    CHECK(c->pid() > 0);
}

TEST_CASE("exit codes come back as they are", "[process]") {
    asio::io_context ctx;
    for (int code : {0, 1, 3, 67, 255}) {
        auto c = sh(ctx, "exit " + std::to_string(code));
        CHECK(run(ctx, c->wait()) == code);
    }
}

TEST_CASE("wait works when the child exited long before", "[process]") {
    asio::io_context ctx;
    auto c = sh(ctx, "exit 5");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!c->exited() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(c->exited());
    CHECK(run(ctx, c->wait()) == 5);
    CHECK(run(ctx, c->wait()) == 5);  // twice: the same answer
}

TEST_CASE("a killed child reports 128 + signal", "[process]") {
    asio::io_context ctx;
    auto c = sh(ctx, "echo up; exec sleep 100");
    char buf[8];
    CHECK(run(ctx, c->read_some(buf, sizeof buf)) == 3);
    c->kill();
    CHECK(run(ctx, c->wait()) == 128 + SIGKILL);

    auto t = sh(ctx, "echo up; exec sleep 100");
    CHECK(run(ctx, t->read_some(buf, sizeof buf)) == 3);
    t->terminate();
    CHECK(run(ctx, t->wait()) == 128 + SIGTERM);
    // After it was reaped, signals are a no-op (the pid may belong to someone else by now).
    t->kill();
    t->terminate();
    CHECK(run(ctx, t->wait()) == 128 + SIGTERM);
}

TEST_CASE("kill reaches the whole process group", "[process]") {
    asio::io_context ctx;
    auto c = sh(ctx, "sleep 100 & echo $!; wait");
    std::string line;
    char ch;
    while (run(ctx, c->read_some(&ch, 1)) == 1 && ch != '\n') line += ch;
    const int grandchild = std::stoi(line);
    REQUIRE_FALSE(dead(grandchild));
    c->kill();
    CHECK(run(ctx, c->wait()) == 128 + SIGKILL);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!dead(grandchild) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(dead(grandchild));
}

TEST_CASE("a missing or unexecutable program is a clear error", "[process]") {
    asio::io_context ctx;
    try {
        spawn(ctx.get_executor(), piped({"no-such-program-sw-test"}));
        FAIL("spawn did not throw");
    } catch (const sw::failure& e) {  // the operator's to fix: 78, not 70
        CHECK(e.code() == sw::errc::config);
        CHECK(std::string(e.what()) ==
              "cannot start no-such-program-sw-test: " + std::string(std::strerror(ENOENT)));
    }
    sw::test::temp_dir dir;
    const auto script = dir.write("not-executable", "#!/bin/sh\nexit 0\n", 0644);
    try {
        spawn(ctx.get_executor(), piped({script}));
        FAIL("spawn did not throw");
    } catch (const sw::failure& e) {
        CHECK(e.code() == sw::errc::refused);
        CHECK(std::string(e.what()) == "cannot start " + script + ": " + std::strerror(EACCES));
    }
    std::string error;
    CHECK(run(ctx, sw::platform::run_command(ctx.get_executor(), {"no-such-program-sw-test"},
                                             error)) == -1);
    CHECK(error.find("cannot start no-such-program-sw-test") == 0);
}

TEST_CASE("the child sees the inherited environment plus extra_env", "[process]") {
    asio::io_context ctx;
    ::setenv("SW_PROCESS_TEST_INHERITED", "from-parent", 1);
    ::setenv("SW_PROCESS_TEST_OVERRIDDEN", "old", 1);
    auto c = sh(ctx, "echo \"$SW_PROCESS_TEST_INHERITED $SW_PROCESS_TEST_OVERRIDDEN $SW_EXTRA\"",
                {{"SW_EXTRA", "x y"}, {"SW_PROCESS_TEST_OVERRIDDEN", "new"}});
    CHECK(run(ctx, read_all(*c)) == "from-parent new x y\n");
    CHECK(run(ctx, c->wait()) == 0);
    ::unsetenv("SW_PROCESS_TEST_INHERITED");
    ::unsetenv("SW_PROCESS_TEST_OVERRIDDEN");
}

TEST_CASE("several megabytes of output are read in full", "[process]") {
    asio::io_context ctx;
    // 8 MiB of zeros, then a marker.
    auto c = sh(ctx, "head -c 8388608 /dev/zero; printf END");
    const auto out = run(ctx, read_all(*c));
    CHECK(out.size() == 8388608 + 3);
    CHECK(out.substr(out.size() - 3) == "END");
    CHECK(out.find_first_not_of('\0') == 8388608);
    CHECK(run(ctx, c->wait()) == 0);
}

TEST_CASE("writing to a child that has exited returns false", "[process]") {
    asio::io_context ctx;
    auto c = sh(ctx, "exit 0");
    CHECK(run(ctx, c->wait()) == 0);
    CHECK_FALSE(run(ctx, c->write_all(std::string(200000, 'x'))));
    c->close_stdin();
    CHECK_FALSE(run(ctx, c->write_all("more")));
}

TEST_CASE("the child gets SIGPIPE back at its default disposition", "[process]") {
    asio::io_context ctx;
    sw::platform::prepare_process();
    struct sigaction sa {};
    ::sigaction(SIGPIPE, nullptr, &sa);
    CHECK(sa.sa_handler == SIG_IGN);
    auto c = sh(ctx, "grep SigIgn /proc/self/status");
    const auto status = run(ctx, read_all(*c));
    CHECK(run(ctx, c->wait()) == 0);
    REQUIRE(status.find(':') != std::string::npos);
    const auto mask = std::stoull(status.substr(status.find(':') + 1), nullptr, 16);
    CHECK((mask & (1ull << (SIGPIPE - 1))) == 0);
}

TEST_CASE("run_command returns the exit code", "[process]") {
    asio::io_context ctx;
    std::string error;
    CHECK(run(ctx, sw::platform::run_command(ctx.get_executor(), {"sh", "-c", "exit 4"}, error)) ==
          4);
    CHECK(error.empty());
    CHECK(run(ctx, sw::platform::run_command(ctx.get_executor(), {"true"}, error)) == 0);
}

TEST_CASE("find_on_path", "[process]") {
    const auto sh_path = sw::platform::find_on_path("sh");
    CHECK(sh_path.size() > 3);
    CHECK(sh_path.front() == '/');
    CHECK(sh_path.substr(sh_path.size() - 3) == "/sh");
    CHECK(sw::platform::find_on_path("./relative/x") == "./relative/x");
    CHECK(sw::platform::find_on_path("no-such-program-sw-test").empty());
}

TEST_CASE("no file descriptors leak", "[process]") {
    asio::io_context ctx;
    // Let Asio create its reactor descriptors first.
    run(ctx, []() -> asio::awaitable<int> { co_return 0; }());
    auto warm = sh(ctx, "exit 0");
    run(ctx, warm->wait());
    warm.reset();
    const auto before = open_fds();
    for (int i = 0; i < 5; ++i) {
        auto c = sh(ctx, "cat");
        CHECK(run(ctx, c->write_all("x")));
        c->close_stdin();
        CHECK(run(ctx, read_all(*c)) == "x");
        CHECK(run(ctx, c->wait()) == 0);
    }
    auto k = sh(ctx, "exec sleep 100");
    k->kill();
    CHECK(run(ctx, k->wait()) == 128 + SIGKILL);
    k.reset();
    CHECK(open_fds() == before);
    // And the child sees only 0, 1, 2 (plus the descriptor ls opens to list the directory).
    auto l = sh(ctx, "ls /proc/self/fd | wc -l");
    const auto n = std::stoi(run(ctx, read_all(*l)));
    run(ctx, l->wait());
    CHECK(n <= 4);
}
