#pragma once
// Pure parsing of what the cloud metadata services return (reference sections 4.4-4.6 and 13).
// No sockets: every function here is unit-tested with the reference's test data. Malformed input
// throws std::invalid_argument with a message naming the field; the providers prefix it with the
// metadata path.
#include "lib/common/clock.hpp"
#include "state/run_state.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::providers::parse {

/// Parses a JSON document (bounded depth); throws std::invalid_argument("<what>: ...").
boost::json::value json_document(std::string_view text, std::string_view what);

/// The identity part of AWS user-data / the GCE `attributes/taskcluster` attribute.
struct cloud_user_data {
    std::string worker_pool_id;
    std::string provider_id;
    std::string root_url;
    std::string worker_group;
    boost::json::value worker_config;  ///< kept, but ignored by the providers (4.1)
};
/// Missing keys are left empty (CheckProviderResults reports them); non-strings are errors.
cloud_user_data cloud_user_data_from_json(std::string_view text);
/// The first of workerPoolId, providerId, workerGroup, rootUrl that is empty, or "".
std::string_view first_missing_field(const cloud_user_data& ud);

/// The EC2 instance identity document (the raw text is the proof; these fields feed the state).
struct aws_identity_document {
    std::string instance_id;
    std::string image_id;
    std::string instance_type;
    std::string region;
    std::string availability_zone;
    std::string private_ip;
};
aws_identity_document aws_identity_document_from_json(std::string_view text);

/// "us-west-2a" -> "us-west-2" (the zone minus its last character).
std::string aws_region_from_zone(std::string_view availability_zone);

/// GCE `instance/zone` ("projects/1234/zones/us-central1-b") -> "us-central1-b".
std::string gce_zone_from_path(std::string_view zone_path);
/// "us-central1-b" -> "us-central1" (the zone minus its last two characters; "" if shorter).
std::string gce_region_from_zone(std::string_view zone);
/// GCE `instance/preempted`: "TRUE" (surrounding whitespace tolerated) means preempted.
bool gce_preempted(std::string_view body);

/// The parts of Azure's `metadata/instance` document the provider uses.
struct azure_instance {
    std::string name;
    std::string vm_id;
    std::string location;
    std::string vm_size;
    std::map<std::string, std::string> tags;  ///< from compute.tagsList
    /// Only when there is exactly one interface with exactly one IPv4 address (4.6).
    std::optional<std::string> local_ipv4;
    std::optional<std::string> public_ipv4;
};
azure_instance azure_instance_from_json(std::string_view text);

/// The identity tags of 4.6. Throws std::invalid_argument("did not get <tag> from instance
/// tagged data") for a missing or empty tag.
cloud_user_data azure_identity_from_tags(const std::map<std::string, std::string>& tags);

/// `metadata/attested/document`: returns the signature; the encoding must be pkcs7.
std::string azure_attested_signature(std::string_view text);

struct scheduled_event {
    std::string event_id;
    std::string event_type;    ///< Freeze, Reboot, Redeploy, Preempt, Terminate
    std::string event_status;  ///< Scheduled, Started
    std::string resource_type;
    std::vector<std::string> resources;
    std::string not_before;  ///< RFC 1123 text, may be empty
};
std::vector<scheduled_event> azure_scheduled_events_from_json(std::string_view text);

/// The first event that ends this VM (anything but Freeze), restricted to events naming
/// `vm_name` among their resources when both are known.
std::optional<termination_notice> azure_termination_notice(
    const std::vector<scheduled_event>& events, std::string_view vm_name);

/// "Thu, 05 Dec 2019 00:31:50 GMT". Returns false on anything else.
bool parse_rfc1123(std::string_view text, time_point& out);

/// The wait a Retry-After header value asks for (RFC 9110 10.2.3: delay-seconds, or an
/// HTTP-date read against `now`); nullopt when empty or unreadable. Never negative; a number
/// too large to be meant is returned as about 31 years (callers cap it).
std::optional<std::chrono::milliseconds> retry_after(std::string_view value, time_point now);

/// `spot/instance-action`: {"action":"terminate|stop|hibernate","time":"...Z"}.
termination_notice aws_instance_action_notice(std::string_view text);
/// `spot/termination-time`: a timestamp as text; an unparsable one gives no deadline.
termination_notice aws_termination_time_notice(std::string_view text);

/// The aws-provisioner user-data (section 13).
struct aws_provisioner_user_data {
    boost::json::value data;  ///< worker config
    std::string worker_type;
    std::string provisioner_id;
    std::string region;
    std::string taskcluster_root_url;
    std::string security_token;
    double capacity = 1;
};
/// Every string field is required (named in the error), capacity must be a number when present.
aws_provisioner_user_data aws_provisioner_user_data_from_json(std::string_view text);

/// The aws-provisioner secret: {credentials:{clientId,accessToken,certificate?}, data?, scopes?}.
struct aws_provisioner_secret {
    credentials creds;
    boost::json::value data;
};
aws_provisioner_secret aws_provisioner_secret_from_json(std::string_view text);

/// The worker config of section 13: userData `data` merged with the secret's `data`, plus
/// `data.genericWorker.config` for generic-worker, `capacity` when it is not 1, and
/// `shutdown.{enabled:true, afterIdleSeconds:900}` for docker-worker.
boost::json::value aws_provisioner_worker_config(const aws_provisioner_user_data& ud,
                                                 const boost::json::value& secret_data,
                                                 std::string_view worker_implementation);

}  // namespace sw::providers::parse
