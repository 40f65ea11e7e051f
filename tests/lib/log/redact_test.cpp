// Redaction beyond registered values (issue 14 item 9): redact first, then cut; secret-shaped
// keys wherever they appear; URL user-info; a worker's structured fields.
#include "lib/log/redact.hpp"

#include "lib/log/log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using sw::log::redact;

TEST_CASE("redact_then_cut: a secret across the cut leaves no fragment", "[log][redact]") {
    const std::string secret = "cut-in-half-SECRET-0123456789";
    sw::log::add_secret(secret);
    const std::string text = std::string(990, 'a') + secret + " tail";
    // Cut first, the first 10 bytes of the secret would survive; redacted first, none does.
    const auto out = sw::log::redact_then_cut(text, 1000);
    CHECK(out.find(secret.substr(0, 10)) == std::string::npos);
    CHECK(out.find("cut-in-hal") == std::string::npos);
    CHECK(out.size() <= 1000 + 3);
    CHECK(out.substr(out.size() - 3) == "...");
    CHECK(out.rfind(std::string(990, 'a') + "<re", 0) == 0);
    // Short enough: unchanged apart from redaction, no marker.
    CHECK(sw::log::redact_then_cut("x " + secret, 1000) == "x <redacted>");
    // Never inside a UTF-8 sequence.
    CHECK(sw::log::redact_then_cut("ab\xC3\xA9", 3, "~") == "ab~");
}

TEST_CASE("redact: a secret cut by its producer before a truncation marker", "[log][redact]") {
    // What the protocol decoder shows of an over-long line, or an error text cut elsewhere.
    sw::log::add_secret("tail-cut-SECRET-abcdef");
    CHECK(redact("line: xx tail-cut-SEC... (truncated)") == "line: xx <redacted>... (truncated)");
    CHECK(redact("error: tail-cut...") == "error: <redacted>...");
    // Fewer than 4 bytes of it: too common to mean anything.
    CHECK(redact("x tai...") == "x tai...");
    // Without a marker nothing was cut.
    CHECK(redact("x tail-cut-SEC") == "x tail-cut-SEC");
}

TEST_CASE("redact: values of secret-shaped keys, wherever they appear", "[log][redact]") {
    CHECK(redact("accessToken=abc123&x=1") == "accessToken=<redacted>&x=1");
    CHECK(redact("url?clientSecret=s3cr3t") == "url?clientSecret=<redacted>");
    CHECK(redact(R"({"apiKey":"k-1", "other":"v"})") == R"({"apiKey":"<redacted>", "other":"v"})");
    CHECK(redact(R"({"password" : "with \"quote\" and space"})") ==
          R"({"password" : "<redacted>"})");
    CHECK(redact("password: hunter2") == "password: <redacted>");
    CHECK(redact("userPassword=pw1 next") == "userPassword=<redacted> next");
    CHECK(redact("ACCESS_TOKEN=tok; rest") == "ACCESS_TOKEN=<redacted>; rest");
    CHECK(redact("registration_secret: abc") == "registration_secret: <redacted>");
    CHECK(redact("key=value") == "key=<redacted>");
    // JSON inside a JSON string.
    CHECK(redact(R"("{\"accessToken\":\"abc\"}")") == R"("{\"accessToken\":\"<redacted>\"}")");
    // Not secrets: a configuration key path in an error message, words that merely end in
    // "key", keys that are not secret-shaped.
    CHECK(redact("provider.accessToken: missing") == "provider.accessToken: missing");
    CHECK(redact("monkey: banana, hotkey=F1") == "monkey: banana, hotkey=F1");
    CHECK(redact("workerPoolId: proj/pool") == "workerPoolId: proj/pool");
    CHECK(redact("Token:") == "Token:");
    // A URL's last path segment before an error is not a key (a URL's query still is).
    CHECK(redact("http://169.254.169.254/latest/api/token: HTTP status 429") ==
          "http://169.254.169.254/latest/api/token: HTTP status 429");
    CHECK(redact("http://h/x?token=abc: failed") == "http://h/x?token=<redacted> failed");
    // A path that is not a URL's may well be a key.
    CHECK(redact("conf/token: abc") == "conf/token: <redacted>");
    CHECK(redact("see http://h/ and a/token: abc") == "see http://h/ and a/token: <redacted>");
}

TEST_CASE("redact: credentials in a URL's user-info", "[log][redact]") {
    CHECK(redact("GET https://user:pa55@example.com/path?q=1 failed") ==
          "GET https://<redacted>@example.com/path?q=1 failed");
    CHECK(redact("proxy http://tok3n@proxy:3128") == "proxy http://<redacted>@proxy:3128");
    CHECK(redact(R"("url":"https://a:b@h/x")") == R"("url":"https://<redacted>@h/x")");
    // No user-info, nothing to hide; an '@' in the path is not user-info.
    CHECK(redact("https://example.com/a@b") == "https://example.com/a@b");
    CHECK(redact("mail me@example.com") == "mail me@example.com");
}

TEST_CASE("redact_fields: secret-shaped keys at any depth, strings as text", "[log][redact]") {
    sw::log::add_secret("field-secret-7777");
    auto o = boost::json::parse(R"({
        "textPayload": "uses field-secret-7777",
        "apiKey": {"nested": true},
        "deep": {"list": [{"password": 5}, "x https://u:p@h/ y"]},
        "fine": "value"})")
                 .as_object();
    CHECK(sw::log::fields_need_redaction(o));
    sw::log::redact_fields(o);
    CHECK(o.at("textPayload") == "uses <redacted>");
    CHECK(o.at("apiKey") == "<redacted>");
    CHECK(o.at("deep").at("list").at(0).at("password") == "<redacted>");
    CHECK(o.at("deep").at("list").at(1) == "x https://<redacted>@h/ y");
    CHECK(o.at("fine") == "value");
    CHECK_FALSE(
        sw::log::fields_need_redaction(boost::json::parse(R"({"a":"b","n":1})").as_object()));
}

TEST_CASE("structured: the sink redacts the worker's fields for every destination",
          "[log][redact]") {
    std::vector<std::string> got;
    sw::log::set_capture([&](sw::log::level, std::string_view m) { got.emplace_back(m); });
    sw::log::structured(
        boost::json::parse(R"({"textPayload":"done","clientSecret":"zzz-top","n":1})").as_object());
    sw::log::set_capture({});
    REQUIRE(got.size() == 1);
    CHECK(got[0] == "done; clientSecret: <redacted>; n: 1");
}
