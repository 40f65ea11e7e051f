// state::interpret: what each worker message means to the runner (state/worker_message.hpp).
#include "state/worker_message.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using sw::protocol::capabilities;
using sw::protocol::message;
using sw::protocol::negotiation;
using sw::state::event_type;
using sw::state::interpret;
using kind = sw::state::worker_input::kind;

namespace {

message msg(std::string type, const char* props = "{}") {
    return message{std::move(type), boost::json::parse(props).as_object()};
}

negotiation runner_side() {
    return negotiation(
        capabilities{"error-report", "graceful-termination", "log", "new-credentials", "shutdown"});
}

}  // namespace

TEST_CASE("interpret: hello gives the negotiated capabilities; the last hello wins",
          "[worker_message]") {
    auto nego = runner_side();
    auto in =
        interpret(msg("hello", R"({"capabilities":["graceful-termination","autologin"]})"), nego);
    CHECK(in.what == kind::hello);
    CHECK(in.ev.type == event_type::hello);
    CHECK(in.ev.can_graceful);
    CHECK_FALSE(in.ev.can_new_credentials);  // not offered by the worker
    CHECK(in.warning.empty());
    CHECK_FALSE(nego.capable("autologin"));  // offered by the worker, not by the runner

    in = interpret(msg("hello", R"({"capabilities":["new-credentials"]})"), nego);
    CHECK_FALSE(in.ev.can_graceful);
    CHECK(in.ev.can_new_credentials);

    in = interpret(msg("hello", R"({"capabilities":"new-credentials"})"), nego);
    CHECK(in.what == kind::hello);  // still a hello: the worker is up, with no capabilities
    CHECK_FALSE(in.ev.can_graceful);
    CHECK_FALSE(in.ev.can_new_credentials);
    CHECK(in.warning == "Worker's hello has no valid capabilities list; assuming none");
}

TEST_CASE("interpret: shutdown and log", "[worker_message]") {
    auto nego = runner_side();
    auto in = interpret(msg("shutdown"), nego);
    CHECK(in.what == kind::shutdown);
    CHECK(in.ev.type == event_type::shutdown_requested);

    const auto m = msg("log", R"({"body":{"textPayload":"hi","n":1}})");
    in = interpret(m, nego);
    CHECK(in.what == kind::log);
    REQUIRE(in.log_body != nullptr);
    CHECK(in.log_body->at("textPayload") == "hi");

    in = interpret(msg("log"), nego);
    CHECK(in.what == kind::ignored);
    CHECK(in.warning == "received log message from worker lacking 'body' property");
    in = interpret(msg("log", R"({"body":"text"})"), nego);
    CHECK(in.what == kind::ignored);
    CHECK(in.warning == "received log message from worker with a non-object 'body'");
}

TEST_CASE("interpret: error-report needs three strings and an object extra", "[worker_message]") {
    auto nego = runner_side();
    auto in = interpret(
        msg("error-report", R"({"kind":"k","title":"t","description":"d","extra":{"a":[1]}})"),
        nego);
    REQUIRE(in.what == kind::error_report);
    CHECK(in.report.kind == "k");
    CHECK(in.report.title == "t");
    CHECK(in.report.description == "d");
    CHECK(in.report.extra == boost::json::parse(R"({"a":[1]})").as_object());
    // The decoder builds messages in its arena (transient): the report must not share it.
    boost::json::monotonic_resource arena;
    message in_arena{"error-report", boost::json::object(&arena)};
    in_arena.properties =
        boost::json::parse(R"({"kind":"k","title":"t","description":"d","extra":{"a":[1]}})",
                           &arena)
            .as_object();
    in = interpret(in_arena, nego);
    REQUIRE(in.what == kind::error_report);
    CHECK(in.report.extra.storage().get() == boost::json::storage_ptr().get());

    for (const char* bad :
         {R"({"title":"t","description":"d"})", R"({"kind":1,"title":"t","description":"d"})",
          R"({"kind":"k","title":"t","description":["d"]})"}) {
        in = interpret(msg("error-report", bad), nego);
        CHECK(in.what == kind::ignored);
        CHECK(in.warning ==
              "Error processing error-report message, missing kind, title or description or "
              "not a string");
    }
    in = interpret(msg("error-report", R"({"kind":"k","title":"t","description":"d","extra":[1]})"),
                   nego);
    CHECK(in.what == kind::ignored);
    CHECK(in.warning == "Error processing error-report message, extra is not an object");
}

TEST_CASE("interpret: autologin and unknown types", "[worker_message]") {
    auto nego = runner_side();
    auto in = interpret(msg("autologin", R"({"username":"u","password":"p"})"), nego);
    CHECK(in.what == kind::autologin);
    CHECK(in.username == "u");
    CHECK(in.password == std::optional<std::string>("p"));
    in = interpret(msg("autologin", R"({"username":"u"})"), nego);
    CHECK(in.what == kind::autologin);
    CHECK_FALSE(in.password);
    in = interpret(msg("autologin", R"({"username":"u","password":3})"), nego);
    CHECK(in.what == kind::ignored);
    CHECK(in.warning == "Ignoring autologin message without a string username");

    // Sent by the runner, never expected from the worker: unknown here.
    for (const char* type : {"welcome", "new-credentials", "graceful-termination", ""}) {
        in = interpret(msg(type), nego);
        CHECK(in.what == kind::ignored);
        CHECK(in.warning == std::string("No callback registered for message ") + type);
    }
}

TEST_CASE("local_capabilities: the Go runner's five, autologin only when configured",
          "[worker_message]") {
    using list = std::vector<std::string>;
    CHECK(sw::state::local_capabilities(false).list() ==
          list{"error-report", "graceful-termination", "log", "new-credentials", "shutdown"});
    CHECK(sw::state::local_capabilities(true).list() == list{"autologin", "error-report",
                                                             "graceful-termination", "log",
                                                             "new-credentials", "shutdown"});
}
