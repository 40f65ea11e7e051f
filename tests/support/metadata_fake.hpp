#pragma once
// Loopback stand-ins for the three cloud metadata services (EC2 IMDSv2, GCE, Azure IMDS), used
// in-process by the provider tests and as the `metadata-fake` program by integration tests.
//
// State directory (re-read on every request, so a test can change it while the fake runs):
//   metadata.json   optional; without it the reference's test data for the cloud is served.
//                   {"paths": {"<request path>": <body>, ...}, "hangMs": 500, "imdsV1Only": false}
//                   A path key is the full request path ("/latest/user-data",
//                   "/computeMetadata/v1/instance/id", "/metadata/instance"); a key with a query
//                   ("...identity?audience=https://tc.example.com&format=full") matches that
//                   exact target first. A string body is served as-is (text/plain), any other
//                   JSON value serialized (application/json), null as 404. A missing path: 404.
//                   hangMs: how long a GCE wait_for_change request hangs before answering FALSE.
//                   imdsV1Only (aws): the token PUT answers 403 and reads need no token.
//                   "throttle": [{"path": "<fragment>", "count": N, "retryAfter": "<value>"}]:
//                   requests whose target contains the fragment are answered 429 Too Many
//                   Requests (before any other check), the first N of them (count absent or
//                   -1: all), with a Retry-After header when retryAfter is given. Each entry
//                   counts its own requests from when it first appears (keyed by its JSON).
//   terminate.json  create it to announce termination:
//                   aws: its content (an instance-action object; empty: terminate in 2 min) is
//                        served at spot/instance-action, its time at spot/termination-time;
//                   google: instance/preempted answers TRUE (hanging requests see it when they
//                        next answer, within hangMs);
//                   azure: one scheduled event, the default Preempt event (NotBefore = now+30 s,
//                        Resources = [compute.name]) with the object's keys overriding it.
//   requests.jsonl  written by the fake: one line per request, {"t","method","target",
//                   "headers","body"} (t: ms since the Unix epoch, header names lower-cased),
//                   including Azure's acknowledge POST.
//
// Enforced like the real services: aws reads need a token from PUT /latest/api/token (which
// needs X-aws-ec2-metadata-token-ttl-seconds in 1..21600), else 401; google needs
// Metadata-Flavor: Google, else 403; azure needs Metadata: true and an api-version, else 400.
#include "lib/common/clock.hpp"
#include "tests/support/http_server.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sw::test {

enum class cloud { aws, google, azure };
std::optional<cloud> cloud_from_string(std::string_view s);

/// "Thu, 05 Dec 2019 00:31:50 GMT", as Azure's scheduled events write NotBefore.
std::string format_rfc1123(time_point t);

class metadata_fake {
  public:
    metadata_fake(cloud c, std::filesystem::path state_dir);
    ~metadata_fake();
    metadata_fake(const metadata_fake&) = delete;
    metadata_fake& operator=(const metadata_fake&) = delete;

    /// Thread-safe.
    http_response handle(const http_request& req);
    /// A handler bound to this fake (which must outlive the server).
    http_handler handler();

    /// The built-in metadata.json content for `c` (the reference's test data).
    static std::string default_metadata(cloud c);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sw::test
