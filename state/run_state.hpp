#pragma once
// The run state: everything the runner knows about this worker's identity, credentials and
// configuration. Providers fill it, registration and renewal update it, worker implementations
// turn it into a worker config, and state/store persists it across reboots.
#include "lib/common/clock.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sw {

struct credentials {
    std::string client_id;
    std::string access_token;
    std::string certificate;  ///< JSON text of a temporary-credentials certificate, or empty
    bool operator==(const credentials&) const = default;
};

/// One file to extract before the worker starts (reference section 8).
struct worker_file {
    std::string description;
    std::string path;
    std::string content;
    std::string encoding;  ///< "base64"
    std::string format;    ///< "file" or "zip"
    bool operator==(const worker_file&) const = default;
};

/// Parses a file item; unknown keys are ignored, missing ones left empty. Throws
/// std::invalid_argument when `v` is not an object or a field is not a string.
worker_file worker_file_from_json(const boost::json::value& v);
boost::json::object worker_file_to_json(const worker_file& f);

/// A cloud's "you are about to lose this machine" notice.
struct termination_notice {
    std::string reason;                  ///< e.g. "aws spot instance-action: terminate"
    std::optional<time_point> deadline;  ///< when the machine goes away, if the notice says
    std::string event_id;                ///< azure scheduled event id, to acknowledge
};

struct run_state {
    std::string root_url;
    credentials creds;
    std::optional<time_point> credentials_expire;  ///< none: permanent credentials, no renewal
    std::string registration_secret;
    std::string worker_pool_id;
    std::string worker_group;
    std::string worker_id;
    std::string provider_id;
    boost::json::object provider_metadata;
    boost::json::value worker_config = boost::json::object{};
    /// The part of worker_config that came from worker-manager and the secrets service, kept
    /// apart so a resumed run can re-apply the runner config's workerConfig underneath it
    /// without letting it override those values or duplicating its arrays (a Go runner bug).
    boost::json::value remote_config = boost::json::object{};
    std::vector<worker_file> files;
    std::map<std::string, std::string> worker_location;
    /// When the cloud said the machine goes away (a termination notice), if it did.
    std::optional<time_point> termination_deadline;
};

/// The Go runner's cache-file field names (RootURL, Credentials, ...), so the persisted state
/// stays readable by people who know the Go format.
boost::json::object run_state_to_json(const run_state& s);
/// Throws std::invalid_argument naming the field on a malformed document.
run_state run_state_from_json(const boost::json::value& v);

/// The checks of reference section 9.2 (with a trailing '/' of the root URL normalised away
/// instead of refused). Returns an error message or an empty string.
std::string check_provider_results(run_state& s);

/// taskcluster-lib-urls normalisation: strip every trailing '/'.
std::string normalize_root_url(std::string_view root_url);

}  // namespace sw
