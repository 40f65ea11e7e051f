#pragma once
// Server-side Hawk verification as Taskcluster's auth service does it (taskcluster-wire.md 1.1,
// 1.2, 1.4, 1.5 and 2.4), for the loopback stand-in and the client tests. Built on lib/tc/hawk.
#include "lib/common/clock.hpp"
#include "tests/support/http_server.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::test {

struct hawk_client {
    std::string access_token;
    std::vector<std::string> scopes;
};

/// Permanent clients by clientId (including the issuer of temporary credentials).
using hawk_client_lookup = std::function<std::optional<hawk_client>(const std::string& id)>;

struct hawk_auth_result {
    bool ok = false;
    std::string message;  ///< on failure, e.g. "Unauthorized: Bad mac"
    std::string client_id;
    std::vector<std::string> scopes;  ///< after certificate and authorizedScopes
};

/// Verifies the Authorization header of `req`: header syntax and size, ext (certificate checks
/// of wire section 2.4, authorizedScopes), MAC over the raw request-target and the Host header's
/// name and port (default 80, or 443 when `https`), payload hash when present, and a timestamp
/// within 15 minutes of `now`.
hawk_auth_result hawk_authenticate(const http_request& req, bool https,
                                   const hawk_client_lookup& lookup, time_point now);

/// Taskcluster scope satisfaction without roles: equal, or a trailing-'*' prefix match.
bool scope_satisfied(const std::vector<std::string>& have, std::string_view need);

}  // namespace sw::test
