// End to end with the cloud providers (aws, google, azure, aws-provisioner): start-worker runs
// against an in-process metadata fake (tests/support/metadata_fake) and the Taskcluster
// stand-in, with a shutdown command that leaves a marker, so registration proofs, the worker
// config, termination notices, removeWorker and the host shutdown are all observable.
#include "tests/daemon/cloud_run.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <mutex>

using namespace sw::test;
using namespace std::chrono_literals;
namespace json = boost::json;
using sw::wall_clock;

using namespace sw::test::cloud_e2e;

namespace {

const std::vector<std::string> all_kinds = {"aws", "google", "azure", "aws-provisioner"};

std::size_t find(const std::string& hay, const std::string& needle) {
    return hay.find(needle);
}
bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

json::object worker_config(const cloud_run& c) {
    return json::parse(c.h.dir.read("worker-config.json")).as_object();
}

}  // namespace

TEST_CASE("cloud: a full run registers with the provider's proof and writes its metadata",
          "[e2e][cloud]") {
    for (const auto& kind : all_kinds) {
        DYNAMIC_SECTION(kind) {
            cloud_run c(kind);
            auto r = c.run("sleep:100;exit:0");
            INFO(r.err);
            // A clean worker exit: removed from worker-manager, then the shutdown, which
            // --once only logs.
            CHECK(r.exit_code == 4);
            CHECK(contains(r.err, "would run: " + c.h.dir.file("shutdown.sh")));
            CHECK(c.shutdown_marker().empty());

            const auto reg = c.h.requests("/worker/register", "POST");
            if (kind == "aws-provisioner") {
                // No registerWorker: the one-time secret was read and then deleted.
                CHECK(reg.empty());
                CHECK(c.provisioner->matching(provisioner_token, "GET").size() == 1);
                CHECK(c.provisioner->matching(provisioner_token, "DELETE").size() == 1);
                CHECK_FALSE(contains(r.err, provisioner_token));
                CHECK_FALSE(contains(r.err, provisioner_access_token));
            } else {
                REQUIRE(reg.size() == 1);
                const auto& body = reg[0].at("body").as_object();
                CHECK(body.at("workerPoolId") == "proj/pool");
                CHECK(body.at("providerId") == c.provider_id().c_str());
                CHECK(body.at("workerGroup") == c.worker_group().c_str());
                CHECK(body.at("workerId") == c.worker_id().c_str());
                const auto& proof = body.at("workerIdentityProof").as_object();
                if (kind == "aws") {
                    CHECK(proof.size() == 2);
                    CHECK(proof.at("document") == aws_document().c_str());
                    CHECK(proof.at("signature") == aws_signature);
                } else if (kind == "google") {
                    // The stand-in redacts "token" in its record; the metadata fake serves the
                    // token only for the stand-in's root URL as the audience.
                    CHECK(proof.size() == 1);
                    CHECK(proof.contains("token"));
                    CHECK(c.metadata_requests("identity?audience=" + c.root_url() + "&format=full")
                              .size() == 1);
                    CHECK_FALSE(contains(r.err, gce_token));
                } else {
                    CHECK(proof.size() == 1);
                    CHECK(proof.at("document") == azure_signature);
                }
            }

            // The generic-worker config carries the provider's metadata.
            const auto wc = worker_config(c);
            INFO(json::serialize(wc));
            CHECK(wc.at("workerId") == c.worker_id().c_str());
            CHECK(wc.at("workerGroup") == c.worker_group().c_str());
            CHECK(wc.at("provisionerId") == "proj");
            CHECK(wc.at("workerType") == "pool");
            CHECK(wc.at("rootURL") == c.root_url().c_str());
            const auto loc = json::parse(wc.at("workerLocation").as_string()).as_object();
            if (kind == "aws" || kind == "aws-provisioner") {
                CHECK(wc.at("publicIP") == "2.2.2.2");
                CHECK(wc.at("privateIP") == "10.0.0.7");
                CHECK(wc.at("instanceType") == "t2.micro");
                CHECK(wc.at("instanceID") == aws_instance_id);
                CHECK(wc.at("region") == "us-west-2");
                CHECK(wc.at("availabilityZone") == "us-west-2a");
                CHECK(loc == json::object{{"cloud", "aws"},
                                          {"region", "us-west-2"},
                                          {"availabilityZone", "us-west-2a"}});
            } else if (kind == "google") {
                CHECK(wc.at("publicIP") == "1.2.3.4");
                CHECK(wc.at("privateIP") == "192.168.0.1");
                CHECK(wc.at("instanceType") == "n1-standard-2");
                CHECK(wc.at("instanceID") == c.worker_id().c_str());
                CHECK(wc.at("region") == "in-central1");
                CHECK(loc == json::object{{"cloud", "google"},
                                          {"region", "in-central1"},
                                          {"zone", "in-central1-b"}});
            } else {
                CHECK(wc.at("publicIP") == "104.42.72.130");
                CHECK(wc.at("privateIP") == "10.1.2.4");
                CHECK(wc.at("instanceType") == "Standard_D2s_v3");
                CHECK(wc.at("region") == "uswest");
                CHECK(loc == json::object{{"cloud", "azure"}, {"region", "uswest"}});
            }
            if (kind == "aws-provisioner") {
                CHECK(wc.at("clientId") == provisioner_client);
                CHECK(wc.at("fromUserData") == true);
                CHECK(wc.at("fromSecret") == true);
            } else {
                CHECK(wc.at("fromWM") == true);
                CHECK(wc.at("clientId") == ("worker/" + c.provider_id() + "/proj/pool/" +
                                            c.worker_group() + "/" + c.worker_id())
                                               .c_str());
            }

            // Removed from worker-manager with the worker's credentials, before the shutdown.
            // aws-provisioner workers were never registered there: straight to the shutdown.
            const auto removes = c.remove_statuses();
            if (kind != "aws-provisioner") {
                CHECK(removes == std::vector<unsigned>{200});
                CHECK(find(r.err, "Removing worker") < find(r.err, "would run"));
                const auto del = c.h.requests(c.remove_path(), "DELETE");
                REQUIRE(del.size() == 1);
                CHECK(del[0].at("clientId") == wc.at("clientId"));
            } else {
                CHECK(removes.empty());
                CHECK_FALSE(contains(r.err, "Removing worker"));
                CHECK(contains(r.err, "would run"));
            }
        }
    }
}

TEST_CASE("cloud: a termination notice reaches the worker once, with its deadline logged",
          "[e2e][cloud]") {
    for (const auto& kind : all_kinds) {
        DYNAMIC_SECTION(kind) {
            cloud_run c(kind);
            const auto cfg = c.h.write_config(c.config());
            // The worker keeps running for a while after the notice, so a repeated message
            // would have several poll intervals (250 ms) to arrive.
            auto p = c.h.start({"--once", cfg}, c.environment("wait-graceful;sleep:1500;exit:0"));
            REQUIRE(eventually(
                [&] {
                    for (const auto& s : c.h.worker_events("step"))
                        if (s.at("step") == "wait-graceful") return true;
                    return false;
                },
                20s));

            // The machine goes away one minute from now (whole seconds: azure has no more).
            const auto deadline =
                std::chrono::time_point_cast<std::chrono::seconds>(wall_clock::now() + 60s);
            json::object notice;
            if (kind == "aws" || kind == "aws-provisioner") {
                // EC2's own format: whole seconds, no fraction.
                auto time = sw::format_rfc3339_ms(deadline);
                time.replace(time.size() - 5, 5, "Z");
                notice = json::object{{"action", "terminate"}, {"time", time}};
            } else if (kind == "azure")
                notice = json::object{{"NotBefore", format_rfc1123(deadline)}};
            c.terminate(notice);

            REQUIRE(eventually(
                [&] { return !c.h.worker_events("received", "graceful-termination").empty(); },
                10s));
            REQUIRE(p->wait(20s) == 4);
            const auto err = c.h.dir.read("stderr.log");
            INFO(err);

            const auto graceful = c.h.worker_events("received", "graceful-termination");
            REQUIRE(graceful.size() == 1);
            CHECK(graceful[0].at("message").at("finish-tasks") == false);
            CHECK(contains(err, "Termination notice"));
            if (kind == "google")
                CHECK(contains(err, "the machine goes away at "));
            else
                CHECK(contains(err, "the machine goes away at " + sw::format_rfc3339_ms(deadline)));

            // After the worker stopped: removed, then the (logged) shutdown.
            if (kind != "aws-provisioner") {
                CHECK(c.remove_statuses() == std::vector<unsigned>{200});
                CHECK(find(err, "Removing worker") < find(err, "would run"));
            } else {
                CHECK(c.remove_statuses().empty());
                CHECK(contains(err, "would run"));
            }
            if (kind == "azure") {
                // The scheduled event is acknowledged once the worker has stopped.
                const auto acks = c.metadata_requests("/metadata/scheduledevents", "POST");
                REQUIRE(acks.size() == 1);
                const auto body = json::parse(acks[0].at("body").as_string());
                CHECK(body == json::parse(R"({"StartRequests":
                    [{"EventId": "A123BC45-1234-5678-AB90-ABCDEF123456"}]})"));
                const auto exits = c.h.worker_events("exit");
                REQUIRE(exits.size() == 1);
                CHECK(find(err, "Worker exited") < find(err, "acknowledged scheduled event"));
            }
        }
    }
}

TEST_CASE("cloud: without --once the worker is removed and then the host shut down",
          "[e2e][cloud]") {
    for (const auto& kind : {std::string("aws"), std::string("google"), std::string("azure")}) {
        DYNAMIC_SECTION(kind) {
            cloud_run c(kind);
            auto r = c.run("sleep:100;exit:0", false);
            INFO(r.err);
            CHECK(r.exit_code == 0);
            CHECK(c.remove_statuses() == std::vector<unsigned>{200});
            CHECK(c.shutdown_marker() == "shutdown \n");
            CHECK(find(r.err, "Removing worker") < find(r.err, "Shutting down the host"));
        }
    }
}

TEST_CASE("cloud: a removeWorker that keeps failing falls back to the shutdown command",
          "[e2e][cloud]") {
    cloud_run c("aws");
    tc_fault f;
    f.path_regex = "/api/worker-manager/v1/workers/";
    f.method = "DELETE";
    f.status = 500;
    c.h.standin->add_fault(f);
    auto r = c.run("sleep:100;exit:0", false);
    INFO(r.err);
    CHECK(r.exit_code == 0);
    const auto removes = c.remove_statuses();
    CHECK(removes.size() > 1);  // retried
    for (auto s : removes) CHECK(s == 500);
    CHECK(contains(r.err, "Error removing the worker"));
    CHECK(contains(r.err, "Falling back to system shutdown"));
    CHECK(c.shutdown_marker() == "shutdown \n");
}

TEST_CASE("cloud: an instance already marked for termination does not start the worker",
          "[e2e][cloud]") {
    for (const auto& kind : all_kinds) {
        DYNAMIC_SECTION(kind) {
            cloud_run c(kind);
            c.terminate();
            auto r = c.run("sleep:100;exit:0");
            INFO(r.err);
            CHECK(r.exit_code == 4);
            CHECK(contains(r.err, "already marked for termination"));
            CHECK(c.h.worker_events("start").empty());
            CHECK(c.shutdown_marker().empty());
        }
    }
}

TEST_CASE("cloud: aws without a public IP or hostname still starts", "[e2e][cloud]") {
    cloud_run c("aws");
    auto md = c.metadata();
    auto& paths = md.at("paths").as_object();
    paths.erase("/latest/meta-data/public-ipv4");
    paths["/latest/meta-data/public-hostname"] = nullptr;
    c.write_metadata(md);
    auto r = c.run("sleep:100;exit:0");
    INFO(r.err);
    CHECK(r.exit_code == 4);
    REQUIRE(c.h.worker_events("start").size() == 1);
    const auto wc = worker_config(c);
    CHECK_FALSE(wc.contains("publicIP"));
    const auto& type_md = wc.at("workerTypeMetadata").as_object();
    CHECK_FALSE(type_md.contains("public-ipv4"));
    CHECK_FALSE(type_md.contains("public-hostname"));
    CHECK(wc.at("privateIP") == "10.0.0.7");
    CHECK(c.metadata_requests("/latest/meta-data/public-ipv4").size() >= 1);
    CHECK(c.h.requests("/worker/register", "POST").size() == 1);
}

TEST_CASE("cloud: a notice before the worker's hello waits for its capabilities (issue 9.2)",
          "[e2e][cloud]") {
    cloud_run c("aws");
    const auto cfg = c.h.write_config(c.config());
    // The worker says hello, with all five capabilities, 12 s after it starts.
    auto env = c.environment("sleep:12000;hello;wait-graceful;exit:0");
    env.push_back({"FAKE_WORKER_NO_HELLO", "1"});
    auto p = c.h.start({"--once", cfg}, env);
    REQUIRE(eventually([&] { return !c.h.worker_events("start").empty(); }, 20s));
    // The spot termination-time is there from the moment the worker starts.
    auto time = sw::format_rfc3339_ms(
        std::chrono::time_point_cast<std::chrono::seconds>(wall_clock::now() + 120s));
    time.replace(time.size() - 5, 5, "Z");
    c.terminate(json::object{{"action", "terminate"}, {"time", time}});
    REQUIRE(p->wait(40s) == 4);
    const auto err = c.h.dir.read("stderr.log");
    INFO(err);
    CHECK(contains(err, "Termination notice"));
    // Never SIGTERM: the worker got graceful-termination once, after its hello.
    CHECK(c.h.worker_events("signal").empty());
    const auto hello = c.h.worker_events("sent", "hello");
    const auto graceful = c.h.worker_events("received", "graceful-termination");
    REQUIRE(hello.size() == 1);
    REQUIRE(graceful.size() == 1);
    CHECK(graceful[0].at("message").at("finish-tasks") == false);
    CHECK(t_of(graceful[0]) >= t_of(hello[0]));
    CHECK_FALSE(contains(err, "Sending SIGTERM to the worker"));
}

TEST_CASE("cloud: termination already set at boot registers nothing (issue 9.3)", "[e2e][cloud]") {
    for (const auto& kind : {std::string("aws"), std::string("google"), std::string("azure")}) {
        DYNAMIC_SECTION(kind) {
            cloud_run c(kind);
            c.terminate();
            auto r = c.run("sleep:100;exit:0");
            INFO(r.err);
            CHECK(r.exit_code == 4);
            // Nothing registered, fetched, written or started, and no error against the pool.
            CHECK(c.h.requests("/worker/register").empty());
            CHECK(c.h.requests("/api/secrets/").empty());
            CHECK(c.h.standin->requests().empty());
            CHECK(c.h.standin->error_reports().empty());
            CHECK_FALSE(std::filesystem::exists(c.h.dir.file("worker-config.json")));
            CHECK(c.h.worker_events("start").empty());
            CHECK(c.shutdown_marker().empty());  // --once
        }
    }
}

TEST_CASE("cloud: a start-up that cannot succeed shuts the host down after a delay (issue 9.7)",
          "[e2e][cloud]") {
    cloud_run c("aws");
    // The shutdown command notes when it ran (ms since the epoch).
    c.h.dir.write("shutdown.sh",
                  "#!/bin/sh\necho \"shutdown $(date +%s%3N)\" >> '" +
                      c.h.dir.file("shutdown-ran") + "'\nexit 0\n",
                  0755);
    tc_fault refuse;
    refuse.path_regex = "/worker/register";
    refuse.status = 400;
    c.h.standin->add_fault(refuse);
    SECTION("after startupFailureShutdownDelay") {
        const auto cfg =
            c.h.write_config(c.config("lifecycle:\n  startupFailureShutdownDelay: 2\n"));
        auto r = c.h.run({cfg}, c.environment("exit:0"), 60s);
        INFO(r.err);
        CHECK(r.exit_code == 77);  // the original error's code
        const auto registers = c.h.requests("/worker/register", "POST");
        REQUIRE(registers.size() == 1);  // refused: not retried
        CHECK(registers[0].at("status") == 400);
        const auto marker = c.shutdown_marker();
        REQUIRE(marker.rfind("shutdown ", 0) == 0);
        const long long ran = std::stoll(marker.substr(9));
        CHECK(ran - t_of(registers[0]) >= 1900);
        CHECK(ran - t_of(registers[0]) <= 15000);
        CHECK(c.h.worker_events("start").empty());
    }
    SECTION("0: never") {
        const auto cfg =
            c.h.write_config(c.config("lifecycle:\n  startupFailureShutdownDelay: 0\n"));
        auto r = c.h.run({cfg}, c.environment("exit:0"), 60s);
        INFO(r.err);
        CHECK(r.exit_code == 77);
        CHECK(c.shutdown_marker().empty());
    }
}

TEST_CASE("cloud: a stop while registering leaves no registered worker behind (issue 10)",
          "[e2e][cloud]") {
    cloud_run c("aws");
    // registerWorker takes 1 s to answer (within the scaled attempt timeout): the stop arrives
    // while it is in flight.
    tc_fault slow;
    slow.path_regex = "/worker/register";
    slow.delay_ms = 1000;
    c.h.standin->add_fault(slow);
    const auto cfg = c.h.write_config(c.config());
    auto p = c.h.start({cfg}, c.environment("exit:0"));
    REQUIRE(eventually([&] { return !c.h.requests("/worker/register").empty(); }, 20s));
    p->signal(SIGTERM);
    CHECK(p->wait(20s) == 0);
    const auto err = c.h.dir.read("stderr.log");
    INFO(err);
    // The registration that worker-manager accepted is undone; nothing else happened.
    const auto registered = c.h.requests("/worker/register", "POST");
    REQUIRE(registered.size() == 1);
    CHECK(registered[0].at("status") == 200);
    CHECK(c.remove_statuses() == std::vector<unsigned>{200});
    const auto removes = c.h.requests(c.remove_path(), "DELETE");
    REQUIRE(removes.size() == 1);
    CHECK(t_of(removes[0]) >= t_of(registered[0]));
    CHECK(c.h.requests("/api/secrets/").empty());
    CHECK(c.h.worker_events("start").empty());
}
