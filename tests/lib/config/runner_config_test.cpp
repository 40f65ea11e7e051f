#include "lib/config/runner_config.hpp"

#include "lib/common/error.hpp"
#include "lib/common/exit_codes.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <sys/stat.h>

using namespace sw::config;
using Catch::Matchers::Contains;

namespace {

const std::string standalone_provider =
    "provider:\n"
    "  providerType: standalone\n"
    "  rootURL: https://tc.example.com/\n"
    "  clientID: my-client\n"
    "  accessToken: sekrit-access-token\n"
    "  workerPoolID: pp/ww\n"
    "  workerGroup: wg\n"
    "  workerID: wi\n";
const std::string dummy_worker = "worker:\n  implementation: dummy\n";

runner_config parse(const std::string& yaml) {
    return parse_runner_config(yaml, "cfg.yml");
}

std::string refusal(const std::string& yaml) {
    try {
        parse(yaml);
    } catch (const sw::failure& f) {
        CHECK(f.code() == sw::errc::config);
        return f.what();
    }
    FAIL("accepted: " << yaml);
    return {};
}

/// standalone + dummy with `extra` appended.
std::string with(const std::string& extra) {
    return standalone_provider + dummy_worker + extra;
}

}  // namespace

TEST_CASE("a minimal standalone + dummy config with defaults", "[config]") {
    const auto cfg = parse(with(""));
    CHECK(cfg.source_path == "cfg.yml");
    CHECK(cfg.provider_type == "standalone");
    CHECK(cfg.worker_implementation == "dummy");
    CHECK(cfg.provider.at("workerPoolID").as_string() == "pp/ww");
    CHECK_FALSE(cfg.provider.contains("providerType"));
    CHECK(cfg.get_secrets);
    CHECK(cfg.cache_over_restarts.empty());
    CHECK(cfg.logging_implementation == "stdio");
    CHECK(cfg.worker_config.as_object().empty());
    CHECK(cfg.lifecycle.stop_check_interval == std::chrono::seconds(300));
    CHECK(cfg.lifecycle.graceful_stop_timeout == std::chrono::seconds(900));
    CHECK(cfg.lifecycle.kill_timeout == std::chrono::seconds(30));
    CHECK(cfg.lifecycle.reboot_exit_codes == std::vector<int>{67});
    CHECK(cfg.host.shutdown_command == std::vector<std::string>{"shutdown", "-h", "now"});
    CHECK_FALSE(cfg.autologin);
    CHECK_FALSE(cfg.health);
    CHECK(cfg.unknown_keys.empty());
}

TEST_CASE("JSON config files are accepted", "[config]") {
    const auto cfg = parse(R"({"provider": {"providerType": "aws"},
        "worker": {"implementation": "generic-worker", "path": "/usr/local/bin/generic-worker",
                   "configPath": "/etc/gw.json"},
        "workerConfig": {"x": 10}, "getSecrets": false, "cacheOverRestarts": "/var/cache/s.json"})");
    CHECK(cfg.provider_type == "aws");
    CHECK(cfg.worker.at("configPath").as_string() == "/etc/gw.json");
    CHECK(cfg.worker_config.at("x").to_number<double>() == 10.0);
    CHECK_FALSE(cfg.get_secrets);
    CHECK(cfg.cache_over_restarts == "/var/cache/s.json");
}

// WR/cfg TestLoadConfig: a 0600 file, providerType ec2 is unknown to the Go runner's registry only
// at provider.New; ours validates early, so use a real provider and check the rest.
TEST_CASE("load_runner_config reads a private file (TestLoadConfig)", "[config]") {
    sw::test::temp_dir dir;
    const auto path = dir.write(
        "test-config.yml",
        "provider: {providerType: 'aws'}\n" + dummy_worker + "workerConfig: {x: 10}\n", 0600);
    const auto cfg = load_runner_config(path);
    CHECK(cfg.provider_type == "aws");
    CHECK(cfg.worker_config.at("x").to_number<double>() == 10.0);
    CHECK(cfg.get_secrets);
    CHECK(cfg.source_path == path);
}

TEST_CASE("load_runner_config tightens a 0644 file (TestLoadConfig_InsecurePerms)", "[config]") {
    sw::test::temp_dir dir;
    const auto path = dir.write("c.yml", with(""), 0644);
    CHECK(load_runner_config(path).provider_type == "standalone");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("load_runner_config for --validate leaves a 0644 file alone", "[config]") {
    sw::test::temp_dir dir;
    const auto path = dir.write("c.yml", with(""), 0644);
    CHECK(load_runner_config(path, sw::platform::config_access::inspect).provider_type ==
          "standalone");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    // What a run refuses, an inspection refuses too: the owner-read bit is still required.
    ::chmod(path.c_str(), 0044);
    CHECK_THROWS_AS(load_runner_config(path, sw::platform::config_access::inspect), sw::failure);
}

TEST_CASE("load_runner_config: missing file is a config error", "[config]") {
    sw::test::temp_dir dir;
    try {
        load_runner_config(dir.file("nope.yml"));
        FAIL("no error");
    } catch (const sw::failure& f) {
        CHECK(f.code() == sw::errc::config);
        CHECK_THAT(f.what(), Contains("nope.yml: no such file"));
    }
}

TEST_CASE("provider section errors name the key", "[config]") {
    CHECK_THAT(refusal(dummy_worker), Contains("provider: missing"));
    CHECK_THAT(refusal(dummy_worker + "provider: 3\n"), Contains("provider: must be a map"));
    // TestNoProviderType / TestNonStringProviderType
    CHECK_THAT(refusal(dummy_worker + "provider: {foo: bar}\n"),
               Contains("provider.providerType: missing"));
    CHECK_THAT(refusal(dummy_worker + "provider: {providerType: 13}\n"),
               Contains("provider.providerType: must be a string"));
    const auto unknown = refusal(dummy_worker + "provider: {providerType: ec2}\n");
    CHECK_THAT(unknown, Contains("provider.providerType: unknown provider \"ec2\" (known: "));
    for (const auto& p : provider_docs()) CHECK_THAT(unknown, Contains(std::string(p.name)));
    // The file and the line are named.
    CHECK_THAT(unknown, Contains("cfg.yml: line 3: "));
}

TEST_CASE("worker section errors name the key", "[config]") {
    CHECK_THAT(refusal(standalone_provider), Contains("worker: missing"));
    // TestNoWorkerImplementation / TestNonStringWorkerImplementation
    CHECK_THAT(refusal(standalone_provider + "worker: {path: x}\n"),
               Contains("worker.implementation: missing"));
    CHECK_THAT(refusal(standalone_provider + "worker: {implementation: [a]}\n"),
               Contains("worker.implementation: must be a string"));
    const auto unknown = refusal(standalone_provider + "worker: {implementation: nope}\n");
    CHECK_THAT(unknown, Contains("worker.implementation: unknown worker implementation \"nope\""));
    for (const auto& w : worker_docs()) CHECK_THAT(unknown, Contains(std::string(w.name)));
}

// Every required key of every provider and worker, taken from the tables: missing, then wrong type.
TEST_CASE("required provider and worker keys come from the doc tables", "[config]") {
    for (const auto& p : provider_docs()) {
        for (const auto& k : p.keys) {
            if (!k.required) continue;
            boost::json::object prov{{"providerType", p.name}};
            for (const auto& other : p.keys)
                if (other.required && other.key != k.key) prov[other.key] = "v";
            boost::json::object root{{"provider", prov}, {"worker", {{"implementation", "dummy"}}}};
            INFO(p.name << " " << k.key);
            CHECK_THAT(refusal(boost::json::serialize(root)),
                       Contains("provider." + std::string(k.key) + ": missing"));
            root["provider"].as_object()[k.key] = 42;
            CHECK_THAT(refusal(boost::json::serialize(root)),
                       Contains("provider." + std::string(k.key) + ": must be a string"));
        }
    }
    for (const auto& w : worker_docs()) {
        for (const auto& k : w.keys) {
            if (!k.required) continue;
            boost::json::object wk{{"implementation", w.name}};
            if (k.key != "path") wk["path"] = "/bin/w";  // generic-worker needs path or service
            for (const auto& other : w.keys)
                if (other.required && other.key != k.key) wk[other.key] = "v";
            boost::json::object root{{"provider", {{"providerType", "aws"}}}, {"worker", wk}};
            INFO(w.name << " " << k.key);
            CHECK_THAT(refusal(boost::json::serialize(root)),
                       Contains("worker." + std::string(k.key) + ": missing"));
            root["worker"].as_object()[k.key] = true;
            CHECK_THAT(refusal(boost::json::serialize(root)),
                       Contains("worker." + std::string(k.key) + ": must be a string"));
        }
    }
}

TEST_CASE("static provider keys", "[config]") {
    const std::string ok =
        "provider:\n  providerType: static\n  rootURL: https://tc\n  providerID: static-1\n"
        "  workerPoolID: w/p\n  workerGroup: wg\n  workerID: wi\n  staticSecret: quiet\n"
        "  workerLocation: {region: underworld, zone: '666'}\n"
        "  providerMetadata: {temperature: '24'}\n  extraKey: kept\n" +
        dummy_worker;
    const auto cfg = parse(ok);
    CHECK(cfg.provider.at("staticSecret").as_string() == "quiet");
    CHECK(cfg.provider.at("extraKey").as_string() == "kept");  // the Go runner ignores extras
}

TEST_CASE("workerLocation and providerMetadata types", "[config]") {
    // standalone TestConfigureRunNonStringLocation
    CHECK_THAT(refusal(with("").replace(standalone_provider.size(), 0,
                                        "  workerLocation: {region: 13}\n")),
               Contains("provider.workerLocation.region: must be a string"));
    CHECK_THAT(refusal(with("").replace(standalone_provider.size(), 0, "  workerLocation: [a]\n")),
               Contains("provider.workerLocation: must be a map of strings"));
    CHECK_THAT(
        refusal(with("").replace(standalone_provider.size(), 0, "  providerMetadata: text\n")),
        Contains("provider.providerMetadata: must be a map"));
    const auto cfg = parse(with("").replace(standalone_provider.size(), 0,
                                            "  workerLocation: {region: underworld}\n"
                                            "  providerMetadata: {public-ip: 1.2.3.4}\n"));
    CHECK(cfg.provider.at("workerLocation").at("region").as_string() == "underworld");
}

TEST_CASE("generic-worker: exactly one of path and service", "[config]") {
    const std::string gw = standalone_provider + "worker:\n  implementation: generic-worker\n";
    CHECK(parse(gw + "  path: /usr/bin/gw\n  configPath: /etc/gw.json\n")
              .worker.at("path")
              .as_string() == "/usr/bin/gw");
    CHECK_THAT(refusal(gw + "  path: /usr/bin/gw\n"), Contains("worker.configPath: missing"));
    CHECK_THAT(refusal(gw + "  path: /usr/bin/gw\n  configPath: 7\n"),
               Contains("worker.configPath: must be a string"));
    CHECK_THAT(refusal(gw + "  configPath: /etc/gw.json\n"),
               Contains("worker.path: specify exactly one of worker.path and worker.service"));
    CHECK_THAT(refusal(gw + "  path: /x\n  configPath: /c\n  protocolPipe: 5\n"),
               Contains("worker.protocolPipe: must be a string"));
#ifndef _WIN32
    CHECK_THAT(refusal(gw + "  service: Generic Worker\n  configPath: /c\n"),
               Contains("worker.service: only supported on Windows"));
#endif
}

TEST_CASE("docker-worker needs path and configPath", "[config]") {
    const std::string dw = standalone_provider + "worker:\n  implementation: docker-worker\n";
    CHECK_NOTHROW(parse(dw + "  path: /dw\n  configPath: /c\n"));
    CHECK_THAT(refusal(dw + "  configPath: /c\n"), Contains("worker.path: missing"));
}

TEST_CASE("top-level value types", "[config]") {
    CHECK_THAT(refusal(with("getSecrets: maybe\n")), Contains("getSecrets: must be a boolean"));
    CHECK_FALSE(parse(with("getSecrets: no\n")).get_secrets);  // yaml.v3 bool compatibility
    CHECK_THAT(refusal(with("workerConfig: [1]\n")), Contains("workerConfig: must be a map"));
    CHECK_THAT(refusal(with("cacheOverRestarts: [1]\n")),
               Contains("cacheOverRestarts: must be a file path, true or false"));
    CHECK_THAT(refusal(with("logging: stdio\n")), Contains("logging: must be a map"));
    CHECK_THAT(refusal(with("logging: {foo: bar}\n")), Contains("logging.implementation: missing"));
    CHECK_THAT(refusal(with("logging: {implementation: 3}\n")),
               Contains("logging.implementation: must be a string"));
    // TestUnmarshalLoggingYAML: other keys are kept; an unknown implementation is kept for the
    // daemon to warn about and fall back from.
    const auto cfg = parse(with("logging:\n  implementation: fancy\n  foo: bar\n"));
    CHECK(cfg.logging_implementation == "fancy");
    CHECK(cfg.logging.at("foo").as_string() == "bar");
}

TEST_CASE("cacheOverRestarts: true means the default state path", "[config]") {
    CHECK(parse(with("cacheOverRestarts: true\n")).cache_over_restarts == default_state_path());
#ifndef _WIN32
    CHECK(default_state_path() == "/var/lib/start-worker/state.json");
#endif
    CHECK(parse(with("cacheOverRestarts: false\n")).cache_over_restarts.empty());
    CHECK(parse(with("cacheOverRestarts: /tmp/x.json\n")).cache_over_restarts == "/tmp/x.json");
}

TEST_CASE("lifecycle settings", "[config]") {
    const auto cfg = parse(
        with("lifecycle:\n  stopCheckInterval: 0\n  gracefulStopTimeout: 60\n  killTimeout: 5\n"
             "  rebootExitCodes: [67, 0, 255]\n  startupFailureShutdownDelay: 0\n"));
    CHECK(cfg.lifecycle.startup_failure_shutdown_delay == std::chrono::seconds(0));
    CHECK(parse(with("")).lifecycle.startup_failure_shutdown_delay == std::chrono::seconds(900));
    CHECK_THAT(refusal(with("lifecycle: {startupFailureShutdownDelay: -5}\n")),
               Contains("lifecycle.startupFailureShutdownDelay: must be a non-negative integer"));
    CHECK(cfg.lifecycle.stop_check_interval == std::chrono::seconds(0));
    CHECK(cfg.lifecycle.graceful_stop_timeout == std::chrono::seconds(60));
    CHECK(cfg.lifecycle.kill_timeout == std::chrono::seconds(5));
    CHECK(cfg.lifecycle.reboot_exit_codes == std::vector<int>{67, 0, 255});
    CHECK_THAT(refusal(with("lifecycle: 5\n")), Contains("lifecycle: must be a map"));
    CHECK_THAT(refusal(with("lifecycle: {killTimeout: -1}\n")),
               Contains("lifecycle.killTimeout: must be a non-negative integer"));
    CHECK_THAT(refusal(with("lifecycle: {stopCheckInterval: 1.5}\n")),
               Contains("lifecycle.stopCheckInterval: must be a non-negative integer"));
    CHECK_THAT(refusal(with("lifecycle: {gracefulStopTimeout: '60'}\n")),
               Contains("lifecycle.gracefulStopTimeout: must be a non-negative integer"));
    CHECK_THAT(refusal(with("lifecycle: {gracefulStopTimeout: 99999999999}\n")),
               Contains("lifecycle.gracefulStopTimeout: must be at most"));
    CHECK_THAT(refusal(with("lifecycle: {rebootExitCodes: 67}\n")),
               Contains("lifecycle.rebootExitCodes: must be a list of integers"));
    CHECK_THAT(refusal(with("lifecycle: {rebootExitCodes: [67, 256]}\n")),
               Contains("lifecycle.rebootExitCodes[1]: must be an integer 0..255"));
    CHECK_THAT(refusal(with("lifecycle: {rebootExitCodes: [x]}\n")),
               Contains("lifecycle.rebootExitCodes[0]: must be an integer 0..255"));
}

TEST_CASE("host commands", "[config]") {
    const auto cfg =
        parse(with("host:\n  shutdownCommand: [poweroff]\n  rebootCommand: [reboot, now]\n"));
    CHECK(cfg.host.shutdown_command == std::vector<std::string>{"poweroff"});
    CHECK(cfg.host.reboot_command == std::vector<std::string>{"reboot", "now"});
    CHECK_THAT(refusal(with("host: {shutdownCommand: []}\n")),
               Contains("host.shutdownCommand: must be a non-empty list of strings"));
    CHECK_THAT(refusal(with("host: {rebootCommand: reboot}\n")),
               Contains("host.rebootCommand: must be a non-empty list of strings"));
    CHECK_THAT(refusal(with("host: {rebootCommand: [reboot, 1]}\n")),
               Contains("host.rebootCommand[1]: must be a string"));
}

TEST_CASE("autologin and health", "[config]") {
    const auto cfg =
        parse(with("autologin: {username: task, password: pw-1234}\n"
                   "health: {listen: '127.0.0.1:9177'}\n"));
    REQUIRE(cfg.autologin);
    CHECK(cfg.autologin->username == "task");
    CHECK(cfg.autologin->password == std::optional<std::string>("pw-1234"));
    REQUIRE(cfg.health);
    CHECK(cfg.health->listen == "127.0.0.1:9177");
    CHECK_THAT(refusal(with("autologin: {password: x}\n")),
               Contains("autologin.username: missing"));
    CHECK_THAT(refusal(with("autologin: {username: u, password: 5}\n")),
               Contains("autologin.password: must be a string"));
    CHECK_THAT(refusal(with("health: {listen: 9177}\n")),
               Contains("health.listen: must be a string"));
    CHECK_THAT(refusal(with("health: {listen: localhost}\n")),
               Contains("health.listen: \"localhost\" is not host:port"));
    CHECK_THAT(refusal(with("health: {listen: '127.0.0.1:99999'}\n")),
               Contains("health.listen: \"127.0.0.1:99999\" has no valid port"));
    // Not loopback: refused unless health.allowRemote (the endpoint has no authentication).
    CHECK_THAT(refusal(with("health: {listen: '0.0.0.0:9177'}\n")),
               Contains("health.listen: \"0.0.0.0:9177\" is not a loopback address"));
    CHECK_THAT(refusal(with("health: {listen: '0.0.0.0:9177', allowRemote: false}\n")),
               Contains("set health.allowRemote: true"));
    CHECK_THAT(refusal(with("health: {listen: '0.0.0.0:9177', allowRemote: 'yes please'}\n")),
               Contains("health.allowRemote: must be a boolean"));
    const auto remote = parse(with("health: {listen: '0.0.0.0:9177', allowRemote: true}\n"));
    REQUIRE(remote.health);
    CHECK(remote.health->allow_remote);
    CHECK_THAT(sw::config::normalized_redacted(remote), Contains("\"allowRemote\": true"));
    CHECK_FALSE(parse(with("health: {listen: '127.0.0.1:9177'}\n")).health->allow_remote);
    CHECK_THAT(refusal(with("health: {}\n")), Contains("health.listen: missing"));
    CHECK(parse(with("health: {listen: '[::1]:0'}\n")).health->listen == "[::1]:0");
}

TEST_CASE("unknown keys are ignored but listed", "[config]") {
    const auto cfg = parse(with("someFutureKey: 1\nlifecycle: {typo: 3}\n"));
    CHECK(cfg.unknown_keys == std::vector<std::string>{"someFutureKey", "lifecycle.typo"});
}

TEST_CASE("errors carry the line of the offending key", "[config]") {
    const auto msg = refusal(with("lifecycle:\n  killTimeout: -4\n"));
    CHECK_THAT(msg, Contains("cfg.yml: line 12: lifecycle.killTimeout:"));
}

TEST_CASE("normalized_redacted fills defaults and hides every secret", "[config]") {
    const auto cfg =
        parse(with("workerConfig:\n  ed25519SigningKeyLocation: /etc/key\n  nested:\n"
                   "    myPrivateKey: pk-value-1\n    list: [{certificate: cert-value-2}]\n"
                   "    awsAccessKey: ak-value-3\n    harmless: visible-value\n"
                   "autologin: {username: task, password: pw-value-4}\n"
                   "logging: {implementation: stdio, apiToken: tok-value-5}\n"));
    const std::string out = normalized_redacted(cfg);
    for (const char* secret : {"sekrit-access-token", "pk-value-1", "cert-value-2", "ak-value-3",
                               "pw-value-4", "tok-value-5"}) {
        INFO(secret);
        CHECK(out.find(secret) == std::string::npos);
    }
    CHECK_THAT(out, Contains("\"accessToken\": \"<redacted>\""));
    CHECK_THAT(out, Contains("visible-value"));
    CHECK_THAT(out, Contains("/etc/key"));
    CHECK_THAT(out, Contains("\"getSecrets\": true"));
    CHECK_THAT(out, Contains("\"killTimeout\": 30"));
    CHECK_THAT(out, Contains("\"shutdownCommand\""));
    // Keys are sorted.
    CHECK(out.find("\"getSecrets\"") < out.find("\"host\""));
    // The output is itself a valid config (JSON is YAML) with the same meaning.
    const auto again = parse(out);
    CHECK(again.provider_type == "standalone");
    CHECK(again.lifecycle.kill_timeout == cfg.lifecycle.kill_timeout);

    const auto secrets = secret_values(cfg);
    for (const char* secret : {"sekrit-access-token", "pk-value-1", "cert-value-2", "ak-value-3",
                               "pw-value-4", "tok-value-5"}) {
        INFO(secret);
        CHECK(std::find(secrets.begin(), secrets.end(), secret) != secrets.end());
    }
    CHECK(std::find(secrets.begin(), secrets.end(), "visible-value") == secrets.end());
}

TEST_CASE("static secrets are redacted", "[config]") {
    const auto cfg = parse(
        "provider: {providerType: static, rootURL: r, providerID: p, workerPoolID: w/p,"
        " workerGroup: g, workerID: i, staticSecret: the-static-secret-value}\n" +
        dummy_worker);
    CHECK(normalized_redacted(cfg).find("the-static-secret-value") == std::string::npos);
    CHECK(secret_values(cfg) == std::vector<std::string>{"the-static-secret-value"});
}

TEST_CASE("help text documents every provider, worker, key, variable and exit code", "[config]") {
    const std::string help = help_text();
    CHECK_THAT(help, Contains("start-worker <runnerConfig>"));
    CHECK_THAT(help, Contains("--validate <runnerConfig>"));
    CHECK_THAT(help, Contains("--once <runnerConfig>"));
    CHECK_THAT(help, Contains("--short-version"));
    for (const auto* docs : {&provider_docs(), &worker_docs()}) {
        for (const auto& s : *docs) {
            CHECK_THAT(help, Contains(std::string(s.name) + ": "));
            for (const auto& k : s.keys) CHECK_THAT(help, Contains(std::string(k.key)));
        }
    }
    for (const auto& k : top_level_docs()) CHECK_THAT(help, Contains(std::string(k.key)));
    for (const char* env :
         {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "GCE_METADATA_HOST", "AZURE_IMDS_ENDPOINT",
          "NOTIFY_SOCKET", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"})
        CHECK_THAT(help, Contains(env));
    // Long descriptions are wrapped: compare with each line break and its indentation as one
    // space.
    std::string unwrapped;
    for (std::size_t i = 0; i < help.size(); ++i) {
        if (help[i] != '\n' || i + 1 == help.size() || help[i + 1] != ' ') {
            unwrapped += help[i];
            continue;
        }
        while (i + 1 < help.size() && help[i + 1] == ' ') ++i;
        unwrapped += ' ';
    }
    for (const auto& e : sw::exit_code_table()) {
        CHECK_THAT(help, Contains(std::to_string(sw::to_int(e.code))));
        CHECK_THAT(unwrapped, Contains(std::string(e.meaning)));
    }
    for (const auto& k : top_level_docs())
        CHECK_THAT(unwrapped, Contains(std::string(k.description)));
    for (const auto& m : mode_docs()) CHECK_THAT(unwrapped, Contains(std::string(m.description)));
    // No line is wider than 100 columns unless a single word makes it so.
    std::size_t start = 0;
    for (auto nl = help.find('\n'); nl != std::string::npos; nl = help.find('\n', start)) {
        const auto line = help.substr(start, nl - start);
        INFO(line);
        std::size_t longest = 0;
        for (std::size_t w = 0, b = 0; b <= line.size(); ++b)
            if (b == line.size() || line[b] == ' ') {
                longest = std::max(longest, b - w);
                w = b + 1;
            }
        CHECK((line.size() <= 100 || longest > 40));
        start = nl + 1;
    }
}

TEST_CASE("typed helpers", "[config]") {
    const boost::json::object o{{"s", "x"}, {"n", 1}, {"e", ""}, {"m", {{"a", "b"}}}};
    CHECK(required_string(o, "provider", "s") == "x");
    CHECK_THROWS_WITH(required_string(o, "provider", "rootURL"), "provider.rootURL: missing");
    CHECK_THROWS_WITH(required_string(o, "worker", "n"), "worker.n: must be a string");
    CHECK_THROWS_WITH(required_string(o, "worker", "e"), "worker.e: must not be empty");
    CHECK(optional_string(o, "p", "missing") == std::nullopt);
    CHECK(optional_string(o, "p", "s") == std::optional<std::string>("x"));
    CHECK(optional_string_map(o, "p", "m") ==
          std::vector<std::pair<std::string, std::string>>{{"a", "b"}});
    CHECK(optional_object(o, "p", "m")->at("a").as_string() == "b");
    CHECK_THROWS_WITH(optional_object(o, "p", "s"), "p.s: must be a map");
}

// TestWorkerImplOK / TestProviderOK: keys the runner does not know stay available to the
// implementation.
TEST_CASE("extra provider and worker keys are kept", "[config]") {
    const auto cfg = parse(
        "provider: {providerType: aws, value: sure}\n"
        "worker: {implementation: dummy, anotherValue: hi, n: 10}\n");
    CHECK(cfg.provider.at("value").as_string() == "sure");
    CHECK(cfg.worker.at("anotherValue").as_string() == "hi");
    CHECK(cfg.worker.at("n").as_int64() == 10);
    CHECK_FALSE(cfg.worker.contains("implementation"));
    CHECK(cfg.unknown_keys.empty());
}

TEST_CASE("load_runner_config: oversized and binary files", "[config]") {
    sw::test::temp_dir dir;
    auto load_error = [](const std::string& path) {
        try {
            load_runner_config(path);
        } catch (const sw::failure& f) {
            CHECK(f.code() == sw::errc::config);
            return std::string(f.what());
        }
        FAIL("accepted " << path);
        return std::string();
    };
    const auto big = dir.write("big.yml", "x: " + std::string(5 * 1024 * 1024, 'a') + "\n", 0600);
    CHECK_THAT(load_error(big), Contains("big.yml: larger than"));
    const auto bin = dir.write("bin.yml",
                               std::string("\x7f"
                                           "ELF\x02\x01\x01\0\0\0",
                                           10),
                               0600);
    CHECK_THAT(load_error(bin), Contains("bin.yml: line 1: contains"));
    const auto bad = dir.write("bad.yml", with("workerConfig: {a: [1, 2}\n"), 0600);
    CHECK_THAT(load_error(bad), Contains("bad.yml: line 11"));
}
