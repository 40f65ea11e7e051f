// libFuzzer target: cloud metadata documents (AWS user data and identity document, spot
// notices, GCE values, Azure instance/attested/scheduled-events JSON, aws-provisioner user data
// and secret). The first byte picks the parser; the rest is the document.
#include "lib/providers/parse.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

namespace p = sw::providers::parse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 12) {
            case 0: {
                const auto ud = p::cloud_user_data_from_json(text);
                (void)p::first_missing_field(ud);
                break;
            }
            case 1:
                (void)p::aws_identity_document_from_json(text);
                break;
            case 2:
                (void)p::aws_instance_action_notice(text);
                break;
            case 3:
                (void)p::aws_termination_time_notice(text);
                break;
            case 4: {
                (void)p::gce_region_from_zone(p::gce_zone_from_path(text));
                (void)p::aws_region_from_zone(text);
                (void)p::gce_preempted(text);
                break;
            }
            case 5: {
                const auto inst = p::azure_instance_from_json(text);
                try {
                    (void)p::azure_identity_from_tags(inst.tags);
                } catch (const std::invalid_argument&) {
                }
                break;
            }
            case 6:
                (void)p::azure_attested_signature(text);
                break;
            case 7: {
                const auto events = p::azure_scheduled_events_from_json(text);
                (void)p::azure_termination_notice(events, "vm");
                (void)p::azure_termination_notice(events, "");
                break;
            }
            case 8: {
                sw::time_point t;
                (void)p::parse_rfc1123(text, t);
                (void)sw::parse_rfc3339(text, t);
                (void)sw::format_rfc3339_ms(t);
                break;
            }
            case 9: {
                const auto ud = p::aws_provisioner_user_data_from_json(text);
                (void)p::aws_provisioner_worker_config(ud, ud.data, "generic-worker");
                (void)p::aws_provisioner_worker_config(ud, ud.data, "docker-worker");
                break;
            }
            case 10:
                (void)p::aws_provisioner_secret_from_json(text);
                break;
            default:
                (void)p::json_document(text, "fuzz");
                break;
        }
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
