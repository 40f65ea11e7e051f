// start-worker: argv, configuration loading, and the event loop.
#include "daemon/context.hpp"
#include "daemon/exit_status.hpp"
#include "daemon/runner.hpp"
#include "lib/common/error.hpp"
#include "lib/config/runner_config.hpp"
#include "lib/log/destination.hpp"
#include "lib/log/log.hpp"
#include "platform/process.hpp"
#include "version.hpp"
#ifdef _WIN32
#include "daemon/service_windows.hpp"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* usage_line =
    "Usage: start-worker [--once | --validate] <runnerConfig>\n"
    "       start-worker --help | --version | --short-version\n"
#ifdef _WIN32
    "       start-worker --install-service <runnerConfig> | --uninstall-service\n"
#endif
    ;

int usage_error(const std::string& why) {
    std::fprintf(stderr, "start-worker: %s\n%s", why.c_str(), usage_line);
    return sw::to_int(sw::exit_code::usage);
}

struct command_line {
    enum class mode { run, once, validate, help, version, short_version } what = mode::run;
    std::string config;
};

/// Parses argv; returns an error message on bad usage.
std::string parse(int argc, char** argv, command_line& out) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) return "missing <runnerConfig>";
    const auto& first = args[0];
    if (first == "--help" || first == "-h") {
        out.what = command_line::mode::help;
        return args.size() == 1 ? "" : "--help takes no arguments";
    }
    if (first == "--version" || first == "--short-version") {
        out.what =
            first == "--version" ? command_line::mode::version : command_line::mode::short_version;
        return args.size() == 1 ? "" : std::string(first) + " takes no arguments";
    }
    std::size_t i = 0;
    if (first == "--once" || first == "--validate") {
        out.what = first == "--once" ? command_line::mode::once : command_line::mode::validate;
        i = 1;
    }
    if (i >= args.size()) return "missing <runnerConfig>";
    if (args.size() > i + 1) return "unexpected argument " + std::string(args[i + 1]);
    if (!args[i].empty() && args[i][0] == '-') return "unknown option " + std::string(args[i]);
    out.config = std::string(args[i]);
    return "";
}

}  // namespace

namespace {

int start_worker_main(int argc, char** argv) {
    command_line cl;
    if (auto err = parse(argc, argv, cl); !err.empty()) return usage_error(err);

    switch (cl.what) {
        case command_line::mode::help:
            std::fputs(sw::config::help_text().c_str(), stdout);
            return 0;
        case command_line::mode::version:
            std::printf("start-worker %s\n", sw::version);
            return 0;
        case command_line::mode::short_version:
            std::printf("%s\n", sw::version);
            return 0;
        default:
            break;
    }

    sw::log::init();
    try {
        sw::log::info("Loading worker-runner configuration from {}", cl.config);
        // --validate changes nothing: a loose mode is reported, not tightened.
        auto cfg =
            sw::config::load_runner_config(cl.config, cl.what == command_line::mode::validate
                                                          ? sw::platform::config_access::inspect
                                                          : sw::platform::config_access::secure);
        for (const auto& s : sw::config::secret_values(cfg)) sw::log::add_secret(s);
        // The destination is known: the lines held until now come out in its format.
        auto ctx = sw::daemon::read_context(cl.what == command_line::mode::once);
        const auto dest = sw::log::parse_destination(cfg.logging_implementation);
        sw::log::configure({.dest = dest.value_or(sw::log::destination::stdio),
                            .journald_socket = ctx.journald_socket,
                            .syslog_socket = ctx.syslog_socket});
        if (!dest)
            sw::log::warn("Unrecognized logging implementation {} (falling back to stdio)",
                          cfg.logging_implementation);
        if (cl.what == command_line::mode::validate) {
            const auto text = sw::config::normalized_redacted(cfg);
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fputc('\n', stdout);
            return 0;
        }

        sw::platform::prepare_process();
        int code = sw::to_int(sw::exit_code::internal);
        {
            boost::asio::io_context io;
            auto r = std::make_unique<sw::daemon::runner>(io, std::move(cfg), std::move(ctx));
            boost::asio::co_spawn(io, r->run(), [&](const std::exception_ptr& e, int c) {
                code = c;
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const sw::failure& f) {
                        sw::log::error("{}", f.what());
                        code = sw::to_int(sw::daemon::exit_code_for(f.code()));
                    } catch (const std::exception& ex) {
                        sw::log::error("internal error: {}", ex.what());
                        code = sw::to_int(sw::exit_code::internal);
                    }
                }
                io.stop();
            });
            io.run();
            r.reset();
        }
        sw::log::flush();
        return code;
    } catch (const sw::failure& f) {
        sw::log::error("{}", f.what());
        // CONTRACT: --validate exits 0 or 78. A config a run would refuse (someone else's file,
        // no owner-read bit: 77 for a run) is a config that does not validate.
        if (cl.what == command_line::mode::validate && sw::is_refused(f.code()))
            return sw::to_int(sw::exit_code::config);
        return sw::to_int(sw::daemon::exit_code_for(f.code()));
    } catch (const std::exception& e) {
        sw::log::error("internal error: {}", e.what());
        return sw::to_int(sw::exit_code::internal);
    }
}

}  // namespace

int main(int argc, char** argv) {
    // UTF-8 from here on, as on POSIX (Windows: the UTF-16 command line, not the ANSI argv).
    std::vector<std::string> args = sw::platform::utf8_arguments(argc, argv);
    std::vector<char*> utf8_argv;
    utf8_argv.reserve(args.size() + 1);
    for (auto& a : args) utf8_argv.push_back(a.data());
    utf8_argv.push_back(nullptr);
    const int utf8_argc = static_cast<int>(args.size());
#ifdef _WIN32
    return sw::daemon::windows_main(utf8_argc, utf8_argv.data(), start_worker_main);
#else
    return start_worker_main(utf8_argc, utf8_argv.data());
#endif
}
