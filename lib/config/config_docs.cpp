// The documentation tables (one source of truth for --help and for validating required keys)
// and the --help text built from them.
#include "lib/common/exit_codes.hpp"
#include "lib/config/runner_config.hpp"
#include "version.hpp"

#include <fmt/format.h>

#include <string>

namespace sw::config {

namespace {
// Key types understood by the validator (runner_config.cpp `check_section_key`).
constexpr std::string_view t_string = "string";
constexpr std::string_view t_map = "map";
constexpr std::string_view t_string_map = "map of strings";

key_doc req(std::string_view k, std::string_view d) {
    return {k, t_string, true, d};
}
key_doc opt(std::string_view k, std::string_view d) {
    return {k, t_string, false, d};
}
}  // namespace

const std::vector<section_doc>& provider_docs() {
    static const std::vector<section_doc> docs{
        {"standalone",
         "Fixed identity and permanent credentials from the config; no registration, no "
         "termination polling. Prefer the static provider.",
         {
             req("rootURL", "Taskcluster root URL (a trailing / is removed)"),
             req("clientID", "Taskcluster client ID of the worker"),
             req("accessToken", "access token of that client (a secret)"),
             req("workerPoolID", "worker pool, <provisionerId>/<workerType>"),
             req("workerGroup", "worker group"),
             req("workerID", "worker ID"),
             {"providerMetadata", t_map, false,
              "arbitrary metadata given to the worker (workerTypeMetadata)"},
             {"workerLocation", t_string_map, false,
              "extra worker-location entries (cloud is \"standalone\")"},
         }},
        {"static",
         "A fixed machine registered with worker-manager's static provider using a shared "
         "secret; credentials are renewed by re-registering.",
         {
             req("rootURL", "Taskcluster root URL"),
             req("providerID", "the worker-manager provider of the pool"),
             req("workerPoolID", "worker pool, <provisionerId>/<workerType>"),
             req("workerGroup", "worker group"),
             req("workerID", "worker ID"),
             req("staticSecret", "the worker's static secret (a secret, 44 characters)"),
             {"providerMetadata", t_map, false, "arbitrary metadata given to the worker"},
             {"workerLocation", t_string_map, false,
              "extra worker-location entries (cloud is \"static\")"},
         }},
        {"aws",
         "An EC2 instance started by worker-manager: identity from the instance metadata "
         "service (IMDSv2), spot termination notices forwarded to the worker (the "
         "metadata service is polled every 5 s).",
         {}},
        {"google",
         "A GCE instance started by worker-manager: identity from the metadata server, "
         "preemption notices forwarded to the worker (a hanging GET on the metadata "
         "server's preempted key: the notice arrives as soon as GCE sets it).",
         {}},
        {"azure",
         "An Azure VM started by worker-manager: identity from the VM tags and the attested "
         "document, scheduled events forwarded to the worker (polled every 1 s: an "
         "eviction can give only 30 s of notice).",
         {}},
        {"aws-provisioner",
         "Legacy: an EC2 instance started by the aws-provisioner service (secret fetched with "
         "the userData securityToken, then removed).",
         {}},
    };
    return docs;
}

const std::vector<section_doc>& worker_docs() {
    static const std::vector<section_doc> docs{
        {"generic-worker",
         "Runs `<path> run --config <configPath> --with-worker-runner` (or, on Windows, starts "
         "a service); give exactly one of path and service.",
         {
             opt("path", "the generic-worker binary (or a wrapper script)"),
             opt("service", "Windows only: the generic-worker service to start"),
             opt("protocolPipe",
                 "Windows service mode: named-pipe prefix (default \\\\.\\pipe\\generic-worker)"),
             req("configPath", "where to write the worker's JSON config (mode 0600)"),
         }},
        {"docker-worker",
         "Runs `<path>/bin/docker-worker` (or `node <path>/src/bin/worker.js`) with "
         "`--host worker-runner production` and DOCKER_WORKER_CONFIG=<configPath>.",
         {
             req("path", "the docker-worker installation directory"),
             req("configPath", "where to write the worker's JSON config (mode 0600)"),
         }},
        {"dummy", "Starts nothing; the lifecycle ends at once. For testing a provider.", {}},
    };
    return docs;
}

const std::vector<key_doc>& top_level_docs() {
    static const std::vector<key_doc> docs{
        {"provider", t_map, true, "how the worker gets its identity and credentials"},
        {"provider.providerType", t_string, true, "one of the providers below"},
        {"worker", t_map, true, "the worker to run"},
        {"worker.implementation", t_string, true, "one of the worker implementations below"},
        {"workerConfig", t_map, false,
         "worker configuration, merged under what worker-manager and secrets provide"},
        {"logging", t_map, false, "where the runner logs (default: stdio)"},
        {"logging.implementation", t_string, true,
         "\"stdio\" (stderr, Go's format), \"json\" (stderr, one object per line), "
         "\"journald\" (native socket), \"syslog\" (/dev/log); others fall back to stdio "
         "with a warning"},
        {"getSecrets", "bool", false,
         "fetch worker-pool secrets from the secrets service (default true)"},
        {"cacheOverRestarts", "string or bool", false,
         "state file for resuming after a reboot; true = /var/lib/start-worker/state.json, "
         "false or absent = off"},
        {"lifecycle.stopCheckInterval", "integer", false,
         "seconds between shouldWorkerTerminate checks; 0 = off (default 300)"},
        {"lifecycle.gracefulStopTimeout", "integer", false,
         "seconds from graceful-termination(finish-tasks:true) to (finish-tasks:false) "
         "(default 900)"},
        {"lifecycle.killTimeout", "integer", false,
         "seconds from finish-tasks:false to killing the worker (default 30)"},
        {"lifecycle.rebootExitCodes", "list of integers", false,
         "worker exit codes (0..255) that mean: reboot the host, then resume (default [67])"},
        {"lifecycle.startupFailureShutdownDelay", "integer", false,
         "cloud providers: seconds after a start-up failure a restart cannot fix (exit 77/78) "
         "before host.shutdownCommand runs; 0 = never (default 900)"},
        {"host.shutdownCommand", "list of strings", false,
         "command that shuts the host down (default [shutdown, -h, now])"},
        {"host.rebootCommand", "list of strings", false,
         "command that reboots the host (default [shutdown, -r, now])"},
        {"autologin.username", t_string, true,
         "keep a desktop session of this user logged in (required when autologin is given)"},
        {"autologin.password", t_string, false, "that user's password (a secret)"},
        {"health.listen", t_string, true,
         "host:port of a local HTTP server with /healthz, /readyz, /metrics"},
    };
    return docs;
}

namespace {

void append_keys(std::string& out, const std::vector<key_doc>& keys, std::string_view indent,
                 std::size_t key_width) {
    if (keys.empty()) {
        out += fmt::format("{}(no keys besides the type)\n", indent);
        return;
    }
    for (const auto& k : keys)
        out += fmt::format("{}{:<{}} {:<16} {:<9} {}\n", indent, k.key, key_width, k.type,
                           k.required ? "required" : "optional", k.description);
}

}  // namespace

std::string help_text() {
    std::string out;
    out += "start-worker " + std::string(sw::version) +
           ": starts Taskcluster workers. It is typically invoked during instance startup.\n\n";
    out +=
        "Usage:\n"
        "  start-worker <runnerConfig>               run the worker (same as the Go start-worker)\n"
        "  start-worker --once <runnerConfig>        one worker lifecycle in the foreground; host "
        "actions\n"
        "                                            (shutdown, reboot, autologin changes) are "
        "logged,\n"
        "                                            not performed; exits with the worker's "
        "outcome\n"
        "  start-worker --validate <runnerConfig>    load and check the config, print it "
        "normalized with\n"
        "                                            secrets redacted; no network; exit 0 or 78\n"
        "  start-worker --help | -h                  usage, including every provider, worker\n"
        "                                            implementation and config key\n"
        "  start-worker --version                    \"start-worker <semver>\"\n"
        "  start-worker --short-version              \"<semver>\"\n\n";

    out +=
        "Runner configuration (YAML or JSON; unknown top-level keys are ignored):\n"
        "  key                            type             required? meaning\n";
    append_keys(out, top_level_docs(), "  ", 30);

    out += "\nProviders (provider.providerType) and their provider.* keys:\n";
    for (const auto& p : provider_docs()) {
        out += fmt::format("\n  {}: {}\n", p.name, p.summary);
        append_keys(out, p.keys, "    ", 22);
    }

    out += "\nWorker implementations (worker.implementation) and their worker.* keys:\n";
    for (const auto& w : worker_docs()) {
        out += fmt::format("\n  {}: {}\n", w.name, w.summary);
        append_keys(out, w.keys, "    ", 22);
    }

    out +=
        "\nEnvironment:\n"
        "  AWS_EC2_METADATA_SERVICE_ENDPOINT  base URL of the EC2 metadata service (default "
        "http://169.254.169.254)\n"
        "  GCE_METADATA_HOST                  host[:port] of the GCE metadata server (default "
        "metadata.google.internal)\n"
        "  AZURE_IMDS_ENDPOINT                base URL of the Azure instance metadata service "
        "(default http://169.254.169.254)\n"
        "  NOTIFY_SOCKET                      systemd notify socket: READY=1, STATUS=, "
        "STOPPING=1, WATCHDOG=1\n"
        "  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  proxies for Taskcluster calls (never for metadata "
        "services)\n"
        "  SSL_CERT_FILE, SSL_CERT_DIR        trust store for https root URLs\n"
        "The worker inherits the runner's environment.\n";

    out += "\nExit codes:\n";
    for (const auto& e : exit_code_table())
        out += fmt::format("  {:>3}  {}\n", to_int(e.code), e.meaning);
    return out;
}

}  // namespace sw::config
