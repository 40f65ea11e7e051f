#include "lib/providers/parse.hpp"

#include "lib/json/worker_config.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

using namespace sw::providers::parse;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;

namespace {
sw::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
    using namespace std::chrono;
    return sw::time_point{sys_days{year{y} / month{mo} / day{d}}.time_since_epoch() + hours{h} +
                          minutes{mi} + seconds{s}};
}
std::string sorted(const boost::json::value& v) {
    return sw::json::to_sorted_json(v);
}
}  // namespace

TEST_CASE("aws user data (TestQueryUserData)", "[providers][parse]") {
    auto ud =
        cloud_user_data_from_json(R"({"rootUrl":"taskcluster-dev.net","workerPoolId":"banana"})");
    CHECK(ud.root_url == "taskcluster-dev.net");
    CHECK(ud.worker_pool_id == "banana");
    CHECK(ud.provider_id.empty());
    CHECK(first_missing_field(ud) == "providerId");

    auto full = cloud_user_data_from_json(
        R"({"workerPoolId":"w/p","providerId":"amazon","workerGroup":"wg","rootUrl":"https://tc.example.com","workerConfig":{"from-worker-config":true}})");
    CHECK(first_missing_field(full).empty());
    CHECK(sorted(full.worker_config) == R"({"from-worker-config":true})");

    CHECK_THROWS_WITH(cloud_user_data_from_json("not json"), Catch::Contains("user data"));
    CHECK_THROWS_WITH(cloud_user_data_from_json("[1]"), Catch::Contains("must be a JSON object"));
    CHECK_THROWS_WITH(cloud_user_data_from_json(R"({"rootUrl":13})"),
                      Catch::Contains("rootUrl must be a string"));
}

TEST_CASE("aws instance identity document (TestQueryInstanceIdentityDocument)",
          "[providers][parse]") {
    auto d = aws_identity_document_from_json(
        R"({"instanceId":"i-55555nonesense5","region":"us-west-2","availabilityZone":"us-west-2a","instanceType":"t2.micro","imageId":"banana","privateIp":"1.1.1.1"})");
    CHECK(d.instance_id == "i-55555nonesense5");
    CHECK(d.region == "us-west-2");
    CHECK(d.availability_zone == "us-west-2a");
    CHECK(d.instance_type == "t2.micro");
    CHECK(d.image_id == "banana");
    CHECK(d.private_ip == "1.1.1.1");
    CHECK_THROWS_WITH(aws_identity_document_from_json(R"({"region":"x","availabilityZone":"y"})"),
                      Catch::Contains("missing instanceId"));
}

TEST_CASE("zones and regions", "[providers][parse]") {
    CHECK(aws_region_from_zone("us-west-2a") == "us-west-2");
    CHECK(aws_region_from_zone("").empty());
    CHECK(gce_zone_from_path("/project/1234/zone/in-central1-b") == "in-central1-b");
    CHECK(gce_zone_from_path("projects/1234/zones/us-east1-c\n") == "us-east1-c");
    CHECK(gce_zone_from_path("bare-zone-a") == "bare-zone-a");
    CHECK(gce_region_from_zone("in-central1-b") == "in-central1");
    CHECK(gce_region_from_zone("a").empty());
}

TEST_CASE("gce preempted", "[providers][parse]") {
    CHECK(gce_preempted("TRUE"));
    CHECK(gce_preempted("TRUE\n"));
    CHECK_FALSE(gce_preempted("FALSE"));
    CHECK_FALSE(gce_preempted("true"));
    CHECK_FALSE(gce_preempted(""));
}

TEST_CASE("azure instance data and tags (TestConfigureRun)", "[providers][parse]") {
    const char* doc = R"({
      "compute": {"name": "vm-w-p-test", "vmId": "df09142e-c0dd-43d9-a515-489f19829dfd",
                  "location": "uswest", "vmSize": "medium",
                  "tagsList": [{"name": "worker-pool-id", "value": "w/p"},
                               {"name": "provider-id", "value": "azure"},
                               {"name": "worker-group", "value": "wg"},
                               {"name": "root-url", "value": "https://tc.example.com"}]},
      "network": {"interface": [{"ipv4": {"ipAddress": [
                  {"privateIpAddress": "10.1.2.4", "publicIpAddress": "104.42.72.130"}]}}]}})";
    auto inst = azure_instance_from_json(doc);
    CHECK(inst.name == "vm-w-p-test");
    CHECK(inst.vm_id == "df09142e-c0dd-43d9-a515-489f19829dfd");
    CHECK(inst.location == "uswest");
    CHECK(inst.vm_size == "medium");
    CHECK(inst.local_ipv4 == "10.1.2.4");
    CHECK(inst.public_ipv4 == "104.42.72.130");
    auto id = azure_identity_from_tags(inst.tags);
    CHECK(id.worker_pool_id == "w/p");
    CHECK(id.provider_id == "azure");
    CHECK(id.worker_group == "wg");
    CHECK(id.root_url == "https://tc.example.com");

    for (const char* tag : {"worker-pool-id", "provider-id", "worker-group", "root-url"}) {
        auto tags = inst.tags;
        tags.erase(tag);
        CHECK_THROWS_WITH(azure_identity_from_tags(tags),
                          std::string("did not get ") + tag + " from instance tagged data");
    }
}

TEST_CASE("azure addresses only with one interface and one address", "[providers][parse]") {
    auto two_addrs = azure_instance_from_json(R"({"compute":{"name":"n"},"network":{"interface":[
        {"ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.1"},{"privateIpAddress":"10.0.0.2"}]}}]}})");
    CHECK_FALSE(two_addrs.local_ipv4);
    auto two_ifaces = azure_instance_from_json(R"({"compute":{"name":"n"},"network":{"interface":[
        {"ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.1"}]}},
        {"ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.2"}]}}]}})");
    CHECK_FALSE(two_ifaces.local_ipv4);
    auto no_public = azure_instance_from_json(R"({"compute":{"name":"n"},"network":{"interface":[
        {"ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.1","publicIpAddress":""}]}}]}})");
    CHECK(no_public.local_ipv4 == "10.0.0.1");
    CHECK_FALSE(no_public.public_ipv4);
    CHECK_THROWS_WITH(azure_instance_from_json(R"({"network":{}})"),
                      Catch::Contains("missing compute"));
}

TEST_CASE("azure attested document (TestQueryAttestedDocument)", "[providers][parse]") {
    CHECK(
        azure_attested_signature(
            R"({"encoding":"pkcs7","signature":"SSBzb2xlbW5seSBzd2VhciBJIGFtIHVwIHRvIG5vIGdvb2Q="})") ==
        "SSBzb2xlbW5seSBzd2VhciBJIGFtIHVwIHRvIG5vIGdvb2Q=");
    CHECK_THROWS_WITH(azure_attested_signature(R"({"encoding":"pem","signature":"x"})"),
                      "expected attested document with format pkcs7, got pem");
}

TEST_CASE("azure scheduled events (TestQueryScheduledEvents)", "[providers][parse]") {
    const char* doc = R"({"DocumentIncarnation":1,"Events":[{
        "EventId":"77213DA4-5DAF-4DC8-8CA7-D9E5A5E6D5E5","EventStatus":"Scheduled",
        "EventType":"Reboot","ResourceType":"VirtualMachine",
        "Resources":["dustin-dw-testing"],"NotBefore":"Thu, 05 Dec 2019 00:31:50 GMT"}]})";
    auto events = azure_scheduled_events_from_json(doc);
    REQUIRE(events.size() == 1);
    CHECK(events[0].event_id == "77213DA4-5DAF-4DC8-8CA7-D9E5A5E6D5E5");
    CHECK(events[0].event_status == "Scheduled");
    CHECK(events[0].event_type == "Reboot");
    CHECK(events[0].resource_type == "VirtualMachine");
    CHECK(events[0].resources == std::vector<std::string>{"dustin-dw-testing"});

    auto n = azure_termination_notice(events, "dustin-dw-testing");
    REQUIRE(n);
    CHECK(n->event_id == "77213DA4-5DAF-4DC8-8CA7-D9E5A5E6D5E5");
    CHECK(n->reason == "azure scheduled event: Reboot");
    REQUIRE(n->deadline);
    CHECK(*n->deadline == utc(2019, 12, 5, 0, 31, 50));

    CHECK_FALSE(azure_termination_notice(events, "another-vm"));
    CHECK(azure_termination_notice(events, ""));  // name unknown: every event counts
    CHECK(azure_scheduled_events_from_json(R"({"DocumentIncarnation":0,"Events":[]})").empty());
}

TEST_CASE("azure Freeze events are ignored", "[providers][parse]") {
    auto events = azure_scheduled_events_from_json(
        R"({"Events":[{"EventId":"a","EventType":"Freeze","NotBefore":""},
                      {"EventId":"b","EventType":"Preempt","NotBefore":""}]})");
    auto n = azure_termination_notice(events, "vm");
    REQUIRE(n);
    CHECK(n->event_id == "b");
    CHECK_FALSE(n->deadline);
    events.pop_back();
    CHECK_FALSE(azure_termination_notice(events, "vm"));
}

TEST_CASE("RFC 1123 dates", "[providers][parse]") {
    sw::time_point t;
    REQUIRE(parse_rfc1123("Mon, 29 Feb 2016 23:59:59 GMT", t));
    CHECK(t == utc(2016, 2, 29, 23, 59, 59));
    CHECK_FALSE(parse_rfc1123("", t));
    CHECK_FALSE(parse_rfc1123("Thu, 31 Feb 2019 00:31:50 GMT", t));
    CHECK_FALSE(parse_rfc1123("Thu, 05 Dex 2019 00:31:50 GMT", t));
    CHECK_FALSE(parse_rfc1123("Thu, 05 Dec 2019 24:31:50 GMT", t));
    CHECK_FALSE(parse_rfc1123("Thu, 05 Dec 2019 00:31:50 UTC", t));
    CHECK_FALSE(parse_rfc1123("2019-12-05T00:31:50Z", t));
}

TEST_CASE("aws spot notices", "[providers][parse]") {
    auto n = aws_instance_action_notice(R"({"action":"stop","time":"2026-03-01T10:20:30Z"})");
    CHECK(n.reason == "aws spot instance-action: stop");
    REQUIRE(n.deadline);
    CHECK(*n.deadline == utc(2026, 3, 1, 10, 20, 30));
    CHECK_THROWS(aws_instance_action_notice("terminate"));

    auto t = aws_termination_time_notice("2015-01-05T18:02:00Z\n");
    CHECK(t.reason == "aws spot termination-time");
    REQUIRE(t.deadline);
    CHECK(*t.deadline == utc(2015, 1, 5, 18, 2, 0));
    CHECK_FALSE(aws_termination_time_notice("soon").deadline);
}

TEST_CASE("aws-provisioner user data and secret", "[providers][parse]") {
    auto ud = aws_provisioner_user_data_from_json(
        R"({"data":{"a":1},"workerType":"wt","provisionerId":"prov","region":"us-east-1",
            "taskclusterRootUrl":"https://tc.example.com","securityToken":"tok","capacity":2})");
    CHECK(ud.worker_type == "wt");
    CHECK(ud.provisioner_id == "prov");
    CHECK(ud.region == "us-east-1");
    CHECK(ud.taskcluster_root_url == "https://tc.example.com");
    CHECK(ud.security_token == "tok");
    CHECK(ud.capacity == 2);
    CHECK_THROWS_WITH(aws_provisioner_user_data_from_json(R"({"workerType":"wt"})"),
                      Catch::Contains("missing provisionerId"));

    auto s = aws_provisioner_secret_from_json(
        R"({"credentials":{"clientId":"c","accessToken":"at","certificate":"{\"version\":1}"},
            "data":{"b":2},"scopes":[]})");
    CHECK(s.creds.client_id == "c");
    CHECK(s.creds.access_token == "at");
    CHECK(s.creds.certificate == R"({"version":1})");
    CHECK_THROWS_WITH(aws_provisioner_secret_from_json(R"({"data":{}})"),
                      Catch::Contains("missing credentials"));
}

TEST_CASE("aws-provisioner worker config rules", "[providers][parse]") {
    auto ud = aws_provisioner_user_data_from_json(
        R"({"data":{"a":1,"genericWorker":{"config":{"gw":true}}},"workerType":"wt",
            "provisionerId":"p","region":"r","taskclusterRootUrl":"u","securityToken":"t"})");
    const auto secret_data = boost::json::parse(R"({"b":2})");
    CHECK(sorted(aws_provisioner_worker_config(ud, secret_data, "generic-worker")) ==
          R"({"a":1,"b":2,"genericWorker":{"config":{"gw":true}},"gw":true})");
    CHECK(
        sorted(aws_provisioner_worker_config(ud, nullptr, "docker-worker")) ==
        R"({"a":1,"genericWorker":{"config":{"gw":true}},"shutdown":{"afterIdleSeconds":900,"enabled":true}})");
    ud.capacity = 3;
    CHECK(sorted(aws_provisioner_worker_config(ud, nullptr, "dummy")) ==
          R"({"a":1,"capacity":3,"genericWorker":{"config":{"gw":true}}})");
}

TEST_CASE("Retry-After: delay-seconds or an HTTP-date, never negative", "[parse][retry-after]") {
    using std::chrono::milliseconds;
    sw::time_point now;
    REQUIRE(sw::providers::parse::parse_rfc1123("Thu, 05 Dec 2019 00:31:50 GMT", now));
    const auto ra = [&](std::string_view v) { return sw::providers::parse::retry_after(v, now); };
    CHECK(ra("") == std::nullopt);
    CHECK(ra("soon") == std::nullopt);
    CHECK(ra("-5") == std::nullopt);
    CHECK(ra("0") == milliseconds(0));
    CHECK(ra("120") == milliseconds(120'000));
    CHECK(*ra("99999999999999999999") >= milliseconds(999'999'999'000));  // callers cap it
    CHECK(ra("Thu, 05 Dec 2019 00:32:50 GMT") == milliseconds(60'000));
    CHECK(ra("Thu, 05 Dec 2019 00:30:50 GMT") == milliseconds(0));  // in the past
}
