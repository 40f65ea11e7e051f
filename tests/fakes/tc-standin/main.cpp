// tc-standin: a loopback Taskcluster worker-manager + secrets fake (tests/support/tc_standin).
//
//   tc-standin --port N --state-dir DIR [--config FILE] [--tls-dir DIR]
//
// Prints "listening on http://127.0.0.1:<port>" (or https) on stdout once ready, then serves
// until SIGINT/SIGTERM. --port 0 picks a free port. With --tls-dir it writes a private CA
// (ca.pem), server.pem and server.key there and serves https.
//
// Config file (JSON; every section optional):
// {
//   "issuer":   {"clientId": "static/taskcluster/worker-manager", "accessToken": "..."},
//               // issues the named temporary credentials; the token is random when absent
//   "clients":  {"<clientId>": {"accessToken": "...", "scopes": ["..."]}},
//               // permanent clients accepted for authenticated calls ('*' suffix = prefix)
//   "providers": {"static-prov": {"type": "static",
//                                 "workers": {"<workerGroup>/<workerId>": {"staticSecret":
//                                 "..."}}},
//                 "aws-prov": {"type": "aws"}, "gcp": {"type": "google"}, "az": {"type": "azure"}},
//               // static checks staticSecret; aws/google/azure accept any proof with the right
//               // keys ({document,signature} / {token} / {document})
//   "workerPools": {"proj/pool": {"providerId": "static-prov",   // optional: restrict
//                                 "workerConfig": {...},          // returned by registerWorker
//                                 "credentialLifetimeSeconds": 345600}},  // default 96 h
//               // credentialLifetimeSeconds may be a list: the n-th issue (register or
//               // reregister) for the pool uses the n-th entry, the last one repeating
//   "secrets": {"worker-pool:proj/pool": {...}},                 // secrets.get values
//   "shouldTerminate": {"<pool>/<group>/<id>": {"terminate": true, "reason": "..."}},
//   "faults": [{"path": "regex searched in the raw path", "method": "POST", "status": 500,
//               "count": 2 /* -1 or absent: always */, "delay_ms": 0, "stall": false,
//               "reset": false, "after": false /* apply after the request took effect */}]
// }
//
// Files in --state-dir:
//   requests.jsonl        one JSON object per request, appended and flushed: time, t (ms since the
//                         Unix epoch), method, path,
//                         query, params (decoded), body (secrets redacted), clientId
//                         (authenticated, or null), status (0 for stall/reset), fault
//   secrets.json          re-read on every request: {"name": value | null (deleted)}
//   faults.json           re-read on every request: a list of faults as above (counts restart
//                         when the file's content changes)
//   should-terminate.json re-read on every request: same shape as "shouldTerminate"
#include "tests/support/tc_standin.hpp"

#include <boost/json/parse.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

[[noreturn]] void usage(const std::string& problem) {
    std::cerr << "tc-standin: " << problem << "\n"
              << "usage: tc-standin --port N --state-dir DIR [--config FILE] [--tls-dir DIR]\n";
    std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
    std::string port_text, state_dir, config_file, tls_dir;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--port")
            port_text = value();
        else if (arg == "--state-dir")
            state_dir = value();
        else if (arg == "--config")
            config_file = value();
        else if (arg == "--tls-dir")
            tls_dir = value();
        else
            usage("unknown argument " + arg);
    }
    if (port_text.empty() || state_dir.empty()) usage("--port and --state-dir are required");
    char* end = nullptr;
    const long port = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) usage("--port: not a port number");

    try {
        sw::test::tc_standin_options opts;
        opts.port = static_cast<std::uint16_t>(port);
        opts.state_dir = state_dir;
        if (!config_file.empty()) {
            std::ifstream in(config_file);
            if (!in) usage(config_file + ": cannot read");
            std::stringstream ss;
            ss << in.rdbuf();
            boost::system::error_code ec;
            const auto v = boost::json::parse(ss.str(), ec);
            if (ec || !v.is_object()) {
                std::cerr << "tc-standin: " << config_file << ": not a JSON object\n";
                return 78;
            }
            opts.config = v.as_object();
        }
        sw::test::tls_files tls;
        if (!tls_dir.empty()) {
            std::filesystem::create_directories(tls_dir);
            tls = sw::test::make_test_certificates(tls_dir);
            opts.tls = &tls;
        }
        sw::test::tc_standin standin(std::move(opts));
        std::cout << "listening on " << standin.root_url() << std::endl;
        standin.run_until_signal();
    } catch (const std::invalid_argument& e) {
        std::cerr << "tc-standin: " << (config_file.empty() ? "config" : config_file) << ": "
                  << e.what() << "\n";
        return 78;
    } catch (const std::exception& e) {
        std::cerr << "tc-standin: " << e.what() << "\n";
        return 70;
    }
    return 0;
}
