// Hawk, temporary credentials and URL vectors of taskcluster-wire.md sections 2-4.
#include "lib/tc/hawk.hpp"

#include "lib/common/base64.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <regex>
#include <set>

using namespace sw;
using namespace sw::tc;

namespace {

const std::string seed_31 = "JYR4wzMCTG6XeDS2cDUCMwH0RFUXGfQjK7LgqD-e6lSQ";
const std::vector<std::string> scopes_31 = {"scope/asd:fhjdf/X", "scope/asd:fhjdf/XYZ*"};

temp_creds_request request_31(std::string name) {
    temp_creds_request r;
    r.issuer_client_id = "def/ghi@XXX";
    r.issuer_access_token = "tokenABCDEFGH";
    r.name = std::move(name);
    r.scopes = scopes_31;
    r.start_ms = 1438964811744;
    r.expiry_ms = 1439051211744;
    r.seed = seed_31;
    return r;
}

const std::string named_cert_31 =
    R"({"version":1,"scopes":["scope/asd:fhjdf/X","scope/asd:fhjdf/XYZ*"],"start":1438964811744,)"
    R"("expiry":1439051211744,"seed":"JYR4wzMCTG6XeDS2cDUCMwH0RFUXGfQjK7LgqD-e6lSQ",)"
    R"("signature":"nNEaLtZMiw627NuDbF5Z8HDFc57MGWCptXBQSYNFgBk=","issuer":"def/ghi@XXX"})";

hawk_request readme_request(std::string method) {
    hawk_request r;
    r.id = "dh37fgj492je";
    r.key = "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn";
    r.method = std::move(method);
    r.resource = "/resource/1?b=1&a=2";
    r.host = "example.com";
    r.port = 8000;
    r.ts = 1353832234;
    r.nonce = "j4h3g2";
    r.ext = "some-app-ext-data";
    return r;
}

hawk_request rainbow_request() {
    hawk_request r;
    r.id = "123456";
    r.key = "2983d45yun89q";
    r.method = "POST";
    r.resource = "/somewhere/over/the/rainbow";
    r.host = "example.net";
    r.port = 443;
    r.ts = 1353809207;
    r.nonce = "Ygvqdz";
    return r;
}

}  // namespace

TEST_CASE("temporary credentials: client-go testcases.json, unnamed", "[tc][hawk]") {
    const auto c = create_temporary_credentials(request_31(""));
    CHECK(c.client_id == "def/ghi@XXX");
    CHECK(c.access_token == "R4OVHWpIvy6KsqS4AWE51QwbvgLvsstS6e6UW8IfHUY");
    CHECK(c.certificate == R"({"version":1,"scopes":["scope/asd:fhjdf/X","scope/asd:fhjdf/XYZ*"],)"
                           R"("start":1438964811744,"expiry":1439051211744,)"
                           R"("seed":"JYR4wzMCTG6XeDS2cDUCMwH0RFUXGfQjK7LgqD-e6lSQ",)"
                           R"("signature":"45AlB/hKZZZz4Tf3NaidutasfgBnr4t2AxwBiGDQF9Q="})");
}

TEST_CASE("temporary credentials: client-go testcases.json, named", "[tc][hawk]") {
    CHECK(certificate_signature_string("abc/def/ghi", "def/ghi@XXX", seed_31, 1438964811744,
                                       1439051211744, scopes_31) ==
          "version:1\nclientId:abc/def/ghi\nissuer:def/ghi@XXX\n"
          "seed:JYR4wzMCTG6XeDS2cDUCMwH0RFUXGfQjK7LgqD-e6lSQ\nstart:1438964811744\n"
          "expiry:1439051211744\nscopes:\nscope/asd:fhjdf/X\nscope/asd:fhjdf/XYZ*");
    const auto c = create_temporary_credentials(request_31("abc/def/ghi"));
    CHECK(c.client_id == "abc/def/ghi");
    CHECK(c.access_token == "R4OVHWpIvy6KsqS4AWE51QwbvgLvsstS6e6UW8IfHUY");
    CHECK(c.certificate == named_cert_31);
}

TEST_CASE("temporary credentials: authorizedScopes stay out of the certificate", "[tc][hawk]") {
    // The "with Authorized Scopes" cases: same certificate; the scopes travel in ext only.
    const auto c = create_temporary_credentials(request_31("abc/def/ghi"));
    CHECK(c.certificate == named_cert_31);
    const auto ext =
        base64_decode(hawk_ext(c.certificate, std::vector<std::string>{"scope/asd:fhjdf/X"}));
    const auto v = boost::json::parse(ext).as_object();
    CHECK(v.at("authorizedScopes").as_array().size() == 1);
    CHECK(v.at("certificate").as_object().at("signature").as_string() ==
          "nNEaLtZMiw627NuDbF5Z8HDFc57MGWCptXBQSYNFgBk=");
}

TEST_CASE("temporary credentials: '+' and '/' are replaced in the access token", "[tc][hawk]") {
    const std::string seed = "seed0" + std::string(39, 'x');
    CHECK(temp_access_token("no-secret", seed) == "i25Z62WekPp1Xbmr6JJ9X1xFC-ytkev_aqr82qm7z9o");
}

TEST_CASE("temporary credentials: zero scopes sign like the server", "[tc][hawk]") {
    CHECK(certificate_signature_string("", "", seed_31, 1, 2, {}) ==
          "version:1\nseed:" + seed_31 + "\nstart:1\nexpiry:2\nscopes:");
}

TEST_CASE("temporary credentials: generated seed and refusals", "[tc][hawk]") {
    auto r = request_31("abc/def/ghi");
    r.seed.clear();
    const auto c = create_temporary_credentials(r);
    const auto cert = boost::json::parse(c.certificate).as_object();
    const std::string seed(cert.at("seed").as_string());
    CHECK(seed.size() == 44);
    CHECK(std::regex_match(seed, std::regex("[A-Za-z0-9_-]{44}")));
    CHECK(c.access_token == temp_access_token("tokenABCDEFGH", seed));
    CHECK(create_temporary_credentials(r).access_token != c.access_token);

    auto too_long = request_31("");
    too_long.expiry_ms = too_long.start_ms + 32LL * 24 * 3600 * 1000;
    CHECK_THROWS_AS(create_temporary_credentials(too_long), std::invalid_argument);
    auto same_name = request_31("def/ghi@XXX");
    CHECK_THROWS_AS(create_temporary_credentials(same_name), std::invalid_argument);
}

TEST_CASE("ext: client-go http_test.go vectors", "[tc][hawk]") {
    CHECK(hawk_ext("", std::vector<std::string>{"a", "b", "c"}) ==
          "eyJhdXRob3JpemVkU2NvcGVzIjpbImEiLCJiIiwiYyJdfQ==");
    CHECK(hawk_ext("", std::vector<std::string>{}) == "eyJhdXRob3JpemVkU2NvcGVzIjpbXX0=");
    CHECK(hawk_ext("", std::nullopt).empty());
}

TEST_CASE("ext: a certificate that is not a JSON object is refused without quoting it",
          "[tc][hawk]") {
    try {
        (void)hawk_ext("\"s3cr3t-cert\"");
        FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("s3cr3t") == std::string::npos);
    }
    CHECK_THROWS_AS(hawk_ext("{not json"), std::invalid_argument);
}

TEST_CASE("hawk: mozilla/hawk readme GET", "[tc][hawk]") {
    const auto r = readme_request("get");
    CHECK(hawk_normalized_string(r) ==
          "hawk.1.header\n1353832234\nj4h3g2\nGET\n/resource/1?b=1&a=2\nexample.com\n8000\n\n"
          "some-app-ext-data\n");
    CHECK(hawk_header(r) ==
          R"(Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", ext="some-app-ext-data", )"
          R"(mac="6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=")");
}

TEST_CASE("hawk: mozilla/hawk readme POST with payload", "[tc][hawk]") {
    auto r = readme_request("POST");
    r.hash = hawk_payload_hash("text/plain", "Thank you for flying Hawk");
    CHECK(r.hash == "Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=");
    CHECK(hawk_mac(r) == "aSe1DERmZuRl3pI36/9BdZmnErTw3sNzOOAUlfeKjVw=");
}

TEST_CASE("hawk: mozilla/hawk test/client.js vectors", "[tc][hawk]") {
    auto r = rainbow_request();
    r.hash = hawk_payload_hash("text/plain", "something to write about");
    r.ext = "Bazinga!";
    CHECK(hawk_header(r) ==
          R"(Hawk id="123456", ts="1353809207", nonce="Ygvqdz", )"
          R"(hash="2QfCt3GuY9HQnHWyWD3wX68ZOKbynqlfYmuO2ZBRqtY=", ext="Bazinga!", )"
          R"(mac="q1CwFoSHzPZSkbIvl0oYlD+91rBUEvFk763nMjMndj8=")");

    r.ext.clear();
    CHECK(hawk_mac(r) == "HTgtd0jPI6E4izx8e4OHdO36q00xFCU0FolNq3RiCYs=");
    CHECK(hawk_header(r).find("ext=") == std::string::npos);

    // hawk's "empty payload" case signs without ext.
    r.hash = hawk_payload_hash("text/plain", "");
    CHECK(r.hash == "q/t+NNAkQZNlq/aAD6PlexImwQTxwgT2MahfTa9XRLA=");
    CHECK(hawk_mac(r) == "U5k16YEzn3UnBHKeBzsDXn067Gu3R4YaY6xOt9PYRZM=");
}

TEST_CASE("hawk: tent/hawk-go vectors", "[tc][hawk]") {
    hawk_request r;
    r.key = "werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn";
    r.host = "example.com";
    r.method = "GET";
    r.resource = "/resource/1?b=1&a=2";
    r.port = 8000;
    r.ts = 1353832234;
    r.nonce = "j4h3g2";
    r.ext = "some-app-data";
    CHECK(hawk_mac(r) == "m8r1rHbXN6NgO+KIIhjO7sFRyd78RNGVUwehe8Cp2dU=");

    r.method = "POST";
    r.resource = "/resource/4?filter=a";
    r.port = 8080;
    r.ts = 1357926341;
    r.nonce = "1AwuJD";
    r.hash = "qAiXIVv+yjDATneWxZP2YCTa9aHRgQdnH9b3Wc+o3dg=";
    CHECK(hawk_mac(r) == "UeYcj5UoTVaAWXNvJfLVia7kU3VabxCqrccXP8sUGC4=");
}

TEST_CASE("hawk: mozilla/hawk test/crypto.js normalized strings", "[tc][hawk]") {
    hawk_request r;
    r.ts = 1357747017;
    r.nonce = "k3k4j5";
    r.method = "GET";
    r.resource = "/resource/something";
    r.host = "Example.COM";  // lower-cased when signing
    r.port = 8080;
    CHECK(hawk_normalized_string(r) ==
          "hawk.1.header\n1357747017\nk3k4j5\nGET\n/resource/something\nexample.com\n8080\n\n\n");
    r.ext = "this is some app data";
    CHECK(hawk_normalized_string(r) ==
          "hawk.1.header\n1357747017\nk3k4j5\nGET\n/resource/something\nexample.com\n8080\n\n"
          "this is some app data\n");
    r.hash = "U4MKKSmiVxk37JCCrAVIjV/OhB3y+NdwoCr6RShbVkE=";
    CHECK(hawk_normalized_string(r) ==
          "hawk.1.header\n1357747017\nk3k4j5\nGET\n/resource/something\nexample.com\n8080\n"
          "U4MKKSmiVxk37JCCrAVIjV/OhB3y+NdwoCr6RShbVkE=\nthis is some app data\n");
}

TEST_CASE("hawk: ext escaping and empty resource", "[tc][hawk]") {
    hawk_request r;
    r.method = "GET";
    r.host = "h";
    r.port = 80;
    r.ext = "a\\b\nc";
    CHECK(hawk_normalized_string(r) == "hawk.1.header\n0\n\nGET\n/\nh\n80\n\na\\\\b\\nc\n");
}

TEST_CASE("hawk: payload hashes of the auth service tests", "[tc][hawk]") {
    CHECK(hawk_payload_hash("", "{}") == "XtNvx1FqrUYVOLlne3l2WzcyRfj9QeC6YtmhMKKFMGY=");
    CHECK(hawk_payload_hash("application/json; charset=utf-8", "{}") ==
          hawk_payload_hash("application/json", "{}"));
    CHECK(hawk_payload_hash(" Application/JSON ", "{}") ==
          hawk_payload_hash("application/json", "{}"));
    CHECK(hawk_payload_hash("application/json", "{}") != hawk_payload_hash("", "{}"));
}

TEST_CASE("hawk: stale timestamp MAC", "[tc][hawk]") {
    CHECK(hawk_timestamp_mac("wm", 1700000000) == "TcGhEjHnOdL0swdbREFJZPaLxzNDLN3nk+fgnL0rIuk=");
}

TEST_CASE("hawk: end-to-end Taskcluster vector (a), reregister with a named certificate",
          "[tc][hawk]") {
    hawk_request r;
    r.id = "abc/def/ghi";
    r.key = "R4OVHWpIvy6KsqS4AWE51QwbvgLvsstS6e6UW8IfHUY";
    r.method = "POST";
    r.resource = "/api/worker-manager/v1/worker/reregister";
    r.host = "tc.example.com";
    r.port = 443;
    r.ts = 1438964900;
    r.nonce = "abc123";
    r.ext = hawk_ext(named_cert_31);
    CHECK(r.ext ==
          "eyJjZXJ0aWZpY2F0ZSI6eyJ2ZXJzaW9uIjoxLCJzY29wZXMiOlsic2NvcGUvYXNkOmZoamRmL1giLCJzY29wZS9h"
          "c2Q6ZmhqZGYvWFlaKiJdLCJzdGFydCI6MTQzODk2NDgxMTc0NCwiZXhwaXJ5IjoxNDM5MDUxMjExNzQ0LCJzZW"
          "VkIjoiSllSNHd6TUNURzZYZURTMmNEVUNNd0gwUkZVWEdmUWpLN0xncUQtZTZsU1EiLCJzaWduYXR1cmUiOiJu"
          "TkVhTHRaTWl3NjI3TnVEYkY1WjhIREZjNTdNR1dDcHRYQlFTWU5GZ0JrPSIsImlzc3VlciI6ImRlZi9naGlAWF"
          "hYIn19");
    CHECK(hawk_normalized_string(r) ==
          "hawk.1.header\n1438964900\nabc123\nPOST\n/api/worker-manager/v1/worker/reregister\n"
          "tc.example.com\n443\n\n" +
              r.ext + "\n");
    CHECK(hawk_mac(r) == "WDevsKH3UWbOR6/dDVFGcMaHzeAVmDnHKQcMQmzJL2o=");
}

TEST_CASE("hawk: end-to-end Taskcluster vector (b), secrets with authorizedScopes", "[tc][hawk]") {
    hawk_request r;
    r.id = "abc/def/ghi";
    r.key = "R4OVHWpIvy6KsqS4AWE51QwbvgLvsstS6e6UW8IfHUY";
    r.method = "GET";
    r.resource = "/api/secrets/v1/secret/" + escape_path_segment("worker-pool:proj/pool");
    r.host = "127.0.0.1";
    r.port = 8080;
    r.ts = 1438964900;
    r.nonce = "abc123";
    r.ext = hawk_ext(named_cert_31, std::vector<std::string>{"scope/asd:fhjdf/X"});
    CHECK(r.ext ==
          "eyJjZXJ0aWZpY2F0ZSI6eyJ2ZXJzaW9uIjoxLCJzY29wZXMiOlsic2NvcGUvYXNkOmZoamRmL1giLCJzY29wZS9h"
          "c2Q6ZmhqZGYvWFlaKiJdLCJzdGFydCI6MTQzODk2NDgxMTc0NCwiZXhwaXJ5IjoxNDM5MDUxMjExNzQ0LCJzZW"
          "VkIjoiSllSNHd6TUNURzZYZURTMmNEVUNNd0gwUkZVWEdmUWpLN0xncUQtZTZsU1EiLCJzaWduYXR1cmUiOiJu"
          "TkVhTHRaTWl3NjI3TnVEYkY1WjhIREZjNTdNR1dDcHRYQlFTWU5GZ0JrPSIsImlzc3VlciI6ImRlZi9naGlAWF"
          "hYIn0sImF1dGhvcml6ZWRTY29wZXMiOlsic2NvcGUvYXNkOmZoamRmL1giXX0=");
    CHECK(r.resource == "/api/secrets/v1/secret/worker-pool%3Aproj%2Fpool");
    CHECK(hawk_mac(r) == "BJnrt+ktqJuNLt87wmVp9AWTNJQ8bM7ojq5VNrve5iA=");
}

TEST_CASE("hawk: end-to-end Taskcluster vector (c), permanent credentials", "[tc][hawk]") {
    hawk_request r;
    r.id = "tester";
    r.key = "no-secret";
    r.method = "POST";
    r.resource = "/api/worker-manager/v1/worker/register";
    r.host = "tc.example.com";
    r.port = 443;
    r.ts = 1700000000;
    r.nonce = "n0nce123";
    CHECK(hawk_normalized_string(r) ==
          "hawk.1.header\n1700000000\nn0nce123\nPOST\n/api/worker-manager/v1/worker/register\n"
          "tc.example.com\n443\n\n\n");
    CHECK(hawk_header(r) == R"(Hawk id="tester", ts="1700000000", nonce="n0nce123", )"
                            R"(mac="NBkRq3fX4rtMXhjPEm+BSqAnft3Ferzy2yx9a9EZ7FA=")");
}

TEST_CASE("urls: taskcluster-lib-urls tests.yml api cases", "[tc][urls]") {
    for (const char* root : {"https://taskcluster.example.com", "https://taskcluster.example.com/",
                             "https://taskcluster.example.com//"}) {
        for (const char* path : {"ping", "/ping", "//ping"}) {
            CAPTURE(root, path);
            CHECK(api_url(root, "auth", "v1", path) ==
                  "https://taskcluster.example.com/api/auth/v1/ping");
        }
        CHECK(api_url(root, "auth", "v1", "foo/ping") ==
              "https://taskcluster.example.com/api/auth/v1/foo/ping");
    }
    CHECK(api_url("", "auth", "v1", "ping") == "/api/auth/v1/ping");
    CHECK(api_url("12345", "auth", "v1", "ping") == "12345/api/auth/v1/ping");
}

TEST_CASE("urls: legacy https://taskcluster.net", "[tc][urls]") {
    CHECK(api_url("https://taskcluster.net", "auth", "v1", "ping") ==
          "https://auth.taskcluster.net/v1/ping");
    CHECK(api_url("https://taskcluster.net/", "worker-manager", "v1", "/worker/register") ==
          "https://worker-manager.taskcluster.net/v1/worker/register");
    CHECK(api_url("https://taskcluster.network", "auth", "v1", "ping") ==
          "https://taskcluster.network/api/auth/v1/ping");
}

TEST_CASE("urls: path parameters are escaped like encodeURIComponent", "[tc][urls]") {
    CHECK(escape_path_segment("worker-pool:proj/pool") == "worker-pool%3Aproj%2Fpool");
    CHECK(escape_path_segment("proj/pool") == "proj%2Fpool");
    CHECK(escape_path_segment("A-z_0.9!~*'()") == "A-z_0.9!~*'()");
    CHECK(escape_path_segment("a b?#%") == "a%20b%3F%23%25");
    CHECK(escape_path_segment("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("base64 round trips and rejects garbage", "[tc][hawk]") {
    for (const std::string& s :
         std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
        CHECK(base64_decode(base64_encode(s)) == s);
    }
    CHECK(base64_encode("{}") == "e30=");
    CHECK(base64_decode("e30=\r\n") == "{}");
    CHECK(base64url_nopad("\xfb\xff") == "-_8");
    CHECK_THROWS_AS(base64_decode("e30"), std::invalid_argument);
    CHECK_THROWS_AS(base64_decode("e3=0"), std::invalid_argument);
    CHECK_THROWS_AS(base64_decode("e3 0"), std::invalid_argument);
    CHECK_THROWS_AS(base64_decode("===="), std::invalid_argument);
}

TEST_CASE("nonces and slugids are random and well-formed", "[tc][hawk]") {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        const auto n = make_nonce();
        CHECK(n.size() == 8);
        CHECK(n.find('"') == std::string::npos);
        const auto id = make_slugid();
        CHECK(std::regex_match(id, std::regex("[A-Za-z0-9_][A-Za-z0-9_-]{21}")));
        seen.insert(id);
    }
    CHECK(seen.size() == 50);
}
