// tc-call: performs one Taskcluster call with lib/tc/client and prints the JSON result (for the
// interop tests against the official npm packages).
//
//   tc-call --root-url U --client-id C --access-token T [--certificate JSON]
//           [--pool P] [--group G] [--worker W]
//           reregister SECRET | remove | report-error | should-terminate | secret NAME
//
// Defaults: pool proj/pool, group wg, worker wid. Exit 0 and one JSON line on success; on an
// API error exit with its exit code and print {"error": message, "status": N, "code": "..."}.
#include "daemon/exit_status.hpp"
#include "lib/http/client.hpp"
#include "lib/tc/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace json = boost::json;

namespace {

[[noreturn]] void usage(const std::string& problem) {
    std::cerr << "tc-call: " << problem << "\n"
              << "usage: tc-call --root-url U --client-id C --access-token T [--certificate JSON]"
                 " [--pool P] [--group G] [--worker W]\n"
                 "       reregister SECRET | remove | report-error | should-terminate | secret "
                 "NAME\n";
    std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
    std::string root_url, pool = "proj/pool", group = "wg", worker = "wid";
    sw::credentials creds;
    std::vector<std::string> command;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--root-url")
            root_url = value();
        else if (arg == "--client-id")
            creds.client_id = value();
        else if (arg == "--access-token")
            creds.access_token = value();
        else if (arg == "--certificate")
            creds.certificate = value();
        else if (arg == "--pool")
            pool = value();
        else if (arg == "--group")
            group = value();
        else if (arg == "--worker")
            worker = value();
        else if (arg.rfind("--", 0) == 0)
            usage("unknown option " + arg);
        else
            command.push_back(arg);
    }
    if (root_url.empty() || command.empty()) usage("--root-url and a command are required");
    const std::string& cmd = command[0];
    const bool needs_arg = cmd == "reregister" || cmd == "secret";
    if (command.size() != (needs_arg ? 2u : 1u)) usage("wrong arguments for " + cmd);

    boost::asio::io_context ioc;
    sw::http::client http(ioc.get_executor());
    std::optional<sw::credentials> maybe_creds;
    if (!creds.client_id.empty()) maybe_creds = creds;
    sw::tc::client_options opts;
    opts.retry_scale = 0.01;
    sw::tc::client tc(http, root_url, maybe_creds, opts);

    json::value result;
    int rc = 0;
    auto body = [&]() -> boost::asio::awaitable<void> {
        if (cmd == "reregister") {
            const auto r = co_await tc.reregister_worker(pool, group, worker, command[1]);
            result = json::object{{"clientId", r.creds.client_id},
                                  {"expires", sw::format_rfc3339_ms(r.expires)},
                                  {"hasCertificate", !r.creds.certificate.empty()}};
        } else if (cmd == "remove") {
            co_await tc.remove_worker(pool, group, worker);
            result = json::object{{"removed", true}};
        } else if (cmd == "report-error") {
            sw::tc::error_report rep{"interop-test", "interop", "reported by tc-call",
                                     json::object{{"from", "tc-call"}}};
            co_await tc.report_worker_error(pool, group, worker, rep);
            result = json::object{{"reported", true}};
        } else if (cmd == "should-terminate") {
            const auto r = co_await tc.should_worker_terminate(pool, group, worker);
            result = json::object{{"terminate", r.terminate}, {"reason", r.reason}};
        } else if (cmd == "secret") {
            const auto r = co_await tc.get_secret(command[1]);
            result = json::object{{"found", r.has_value()}, {"secret", r ? *r : json::value()}};
        } else {
            usage("unknown command " + cmd);
        }
    };
    boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const sw::tc::api_error& err) {
            result = json::object{{"error", err.what()},
                                  {"status", err.status()},
                                  {"code", err.tc_code()},
                                  {"maybeDelivered", err.maybe_delivered()}};
            rc = sw::to_int(sw::daemon::exit_code_for(err.code()));
        } catch (const std::exception& err) {
            result = json::object{{"error", err.what()}};
            rc = 70;
        }
    });
    ioc.run();
    std::cout << json::serialize(result) << std::endl;
    return rc;
}
